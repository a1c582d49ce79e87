"""Load and validate a cohort folder (patients, labs, events).

`load(path)` returns a `Cohort` or raises `DataError`, whose message names the file, the line
(in a spreadsheet, its row), the column and what was expected, for every problem found in one
pass (the first MAX_PROBLEMS_SHOWN shown; past MAX_PROBLEMS_LISTED problems of one kind in one
column of one file, one more line counts the rest).

Each table is a CSV file (UTF-8), an Excel workbook (.xlsx, first sheet, read with openpyxl) or a
Parquet file (pyarrow). In an Excel sheet, an error cell (#N/A) and a text pandas.read_excel took
for a missing value ("NA", "null", "None", ...: EXCEL_MISSING) are missing values, as they always
were. Days may be given as ISO dates instead (`date`, `last_followup_date`),
converted to days since the patient's `baseline_date`; a problem with such a day names the date
column and the date as written. Columns the format does not use are kept out of the analysis and
reported as notes, not rejected. Inputs are only read, never written.

Lines of a CSV file are counted as the csv module reads them: a line ends at \n, \r\n or \r,
never at the other characters str.splitlines() breaks at (U+2028, U+2029, U+0085, \v, \f,
\x1c-\x1e), which stay inside their field. The header is line 1; a row is named by the line it
starts on (a quoted field may hold a line break, so a row may span several lines).

Cells are trimmed of spaces and tabs only; any other character around a value (a no-break
space, a line separator) stays in it and is reported. Free text (study, regimens, adverse-event
category) may not hold control, format or line-break characters (NUL, ESC, CR, U+2028, U+202E):
they would hide, split or reorder what a page shows. A day column and its date column are not
both given (one would be ignored), and a Parquet column the format uses holds plain values.

Folders (`cohort_folders`): a folder holds one cohort's tables, or one sub-folder per study, not
both; a sub-folder whose tables cannot be read (a .xls file, a link that leads nowhere or loops) is
named, not dropped; `validate_tree` refuses a study given in two folders. A number is written in ASCII: an
optional sign, digits 0-9, optionally a point followed by digits ("0.5", ".5"; not "5."),
optionally an exponent ("1e3", "2.5E-2"). Refused, like a decimal comma: digit grouping
("1,200", "1_200", "1 200"), other digits ("１２", "٣"), other minus signs ("−3"), "nan",
"inf", hexadecimal. A whole number may be written "12.0" or "1.2e1", not "12.5". An empty
cell is a missing value. A day column that holds dates is one problem, pointing to the date
column, not one per cell.

A CSV file may end without a final newline. If its last line then has fewer fields than the
header, the file looks cut off, and the problem names that line. A file cut right after a
complete field (a last value "800" cut to "80", a last row cut after a comma) cannot be told
from a complete one: it loads, with a note that the file ends without a final newline.

Impossible timelines (a lab or an event after the patient's death or last follow-up, a last follow-up after the
death) are problems that say what to do; a params file's `exclude` ({table: [line, ...]}, `excluded_rows`) may
leave such rows out instead, one by one (a follow-up past the death then ends at the death). Each row left out is
an `Exclusion` on the Cohort (what, why, what was done), for the build's log; a listed row without such a problem
is a problem itself.

Size. A table is read CHUNK_ROWS rows at a time and each column is checked at once (pyarrow
compute); only the cells a check refuses go through the cell-by-cell code that words the
problem, so the rules above hold, with the same messages, at any size. Memory grows with the
rows kept (about 100 bytes per lab row), not with the file. Before its rows are read, a table is
refused in one line saying what to do when it is larger than these limits: MAX_FILE_BYTES per
file; MAX_ROWS rows per table (a CSV file: its lines after the header; Parquet: the rows its
metadata records); MAX_XLSX_CELLS cells in an Excel sheet (counted in its XML, without parsing it).
"""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import gc
import itertools
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.cohort import schema
from helpers.paths import PUBLISHED_DIR
from helpers.publication import published

MAX_LINE_CHARS = 10_000
MAX_PROBLEMS_SHOWN = 50
MAX_PROBLEMS_LISTED = 1_000     # per file, column and kind of check; the rest are counted in one line
MAX_FILE_BYTES = 2_000_000_000
MAX_ROWS = 20_000_000           # per table: about 2.5 GB of memory for lab rows
MAX_XLSX_CELLS = 10_000_000     # a full Excel sheet of labs (1,048,576 rows); openpyxl reads ~150,000 cells/s
CHUNK_ROWS = 1 << 16            # rows checked at a time
BLOCK_BYTES = 1 << 23           # bytes of a CSV file checked at a time before its rows are read
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+)?")   # ASCII only: see the docstring
LINE_END = re.compile(r"\r\n|\r|\n")   # as the csv module ends lines (not U+2028 and the like)
BLANKS = " \t"   # what a cell is trimmed of
EPOCH = dt.date(1970, 1, 1)
EXCLUDABLE = "with the params file's `exclude`"   # ends the message of a problem `exclude` may resolve
# the texts pandas.read_excel took for a missing value (its default na_values), kept for Excel files
EXCEL_MISSING = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                           "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})

Progress = Callable[[str, int, "int | None", str], None]   # (file, done, total or None, unit)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # 1-based line (CSV) or row (spreadsheet) in the file; None for whole-file problems
    column: str | None
    message: str
    unit: str = "line"
    more: int = 0   # a line that stands for this many problems, not listed one by one (see _Listed)

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", {self.unit} {self.line}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class DataError(ValueError):
    """The cohort is malformed; `problems` lists every finding (past MAX_PROBLEMS_LISTED of one kind
    in one column, one line counts the rest); `count` is the number of problems."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        self.count = sum(p.more or 1 for p in self.problems)
        shown = self.problems[:MAX_PROBLEMS_SHOWN]
        lines = [str(p) for p in shown]
        if self.count > sum(p.more or 1 for p in shown):
            lines.append(f"... and {self.count - sum(p.more or 1 for p in shown)} more problems")
        super().__init__("\n".join(lines))


@dataclass
class Cohort:
    patients: pd.DataFrame
    labs: pd.DataFrame
    events: pd.DataFrame
    path: Path | None = field(default=None, compare=False)
    notes: list[str] = field(default_factory=list, compare=False)   # columns not used, and the like
    excluded: list[Exclusion] = field(default_factory=list, compare=False)   # rows left out (see `exclude`)


@dataclass(frozen=True)
class Exclusion:
    """A row left out of the analysis because its timeline is impossible and the params file's `exclude` lists
    it: what it was (file, line, column, patient, the problem) and what was done (`action`)."""
    file: str
    line: int
    column: str
    patient_id: str
    problem: str
    action: str
    unit: str = "line"


class Lines(Sequence):
    """The line (spreadsheet row) each row of a frame starts on: its attrs["lines"], a read-only
    sequence of ints, equal to the list of the same ints. Held in one int64 array (8 bytes a row; a
    list of ints takes 36). pandas deep-copies attrs into every frame or column derived from one: the
    lines are never changed, so a copy shares them (a copy of ten million at each column access would
    dominate the analysis)."""

    def __init__(self, lines):
        self._lines = np.asarray(lines, np.int64)
        self._lines.flags.writeable = False

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, i):
        return self._lines[i].tolist()

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(other) == len(self) and bool(np.array_equal(self._lines, np.asarray(other)))

    __hash__ = None

    def __repr__(self) -> str:
        return f"Lines({self._lines.tolist()})"

    def __deepcopy__(self, memo) -> Lines:
        return self


@contextlib.contextmanager
def _bulk():
    """Reading rows makes millions of small lists that form no cycles: the cyclic garbage collector,
    which would scan them over and over (a third of the time), is paused meanwhile."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Raw:
    """Rows as text (field by field, as written) and where each stands in its file: what the
    row-by-row checks word their problems from."""
    label: str
    rows: list[list[str]]
    lines: list[int]
    unit: str = "line"


def load(path: str | Path, progress: Progress | None = None, exclude: dict[str, set[int]] | None = None) -> Cohort:
    """Read and validate the cohort folder at `path`; `progress(file, done, total, unit)` is told
    how far the reading is, once per chunk of rows. `exclude` ({'labs.csv': {line, ...}}, see
    `excluded_rows`) names rows with an impossible timeline to leave out instead of refusing them."""
    with _bulk():
        return _load(Path(path), progress, exclude or {})


def _load(folder: Path, progress: Progress | None, exclude: dict[str, set[int]]) -> Cohort:
    if not folder.is_dir():
        raise DataError([Problem(str(folder), None, None, "is not a folder with patients.csv, labs.csv, events.csv "
                                 "(or .xlsx, .parquet)")])
    unreadable = {name: [] for name in schema.FILES}   # problems of whole files: said first, file by file
    sources = {}
    for name in schema.FILES:
        try:
            sources[name] = _open(_locate(folder, name))
        except DataError as err:
            unreadable[name] = err.problems
    problems, notes, frames, dated, baseline = [], [], {}, {}, _Baseline()
    for name, source in sources.items():   # patients first: the other tables' dates need its baseline dates
        try:
            checked = _check(source, name, baseline, progress)
        except DataError as err:
            unreadable[name] = err.problems
            continue
        problems += checked.problems
        notes += checked.notes
        if checked.frame is not None:
            frames[name], dated[name] = checked.frame, checked.dated
    excluded = []
    if len(frames) == len(schema.FILES):
        found, excluded = _cross_checks(frames, dated, baseline, exclude)
        problems += found
    problems = [p for name in schema.FILES for p in unreadable[name]] + problems
    if problems:
        raise DataError(problems)
    return Cohort(frames["patients.csv"], frames["labs.csv"], frames["events.csv"], folder, notes, excluded)


def read_table(file: Path) -> pd.DataFrame:
    """Read one table of the format on its own (its name says which), checked cell by cell."""
    name = Path(file).stem + ".csv"
    with _bulk():
        checked = _check(_open(Path(file)), name, _Baseline(), None)   # a table alone: only its own baseline dates
    if checked.problems:
        raise DataError(checked.problems)
    frame = checked.frame
    frame.attrs = {"lines": frame.attrs["lines"]}
    return frame


def read_patients(folder: str | Path) -> pd.DataFrame:
    """The patients table of a cohort folder alone (who is in it), without reading labs or events."""
    return read_table(_locate(Path(folder), "patients.csv"))


# --- finding and opening the files -------------------------------------------------------------

def _locate(folder: Path, name: str) -> Path:
    """The one file that holds table `name` in `folder` (as .csv, .xlsx or .parquet)."""
    stem = Path(name).stem
    candidates = [folder / f"{stem}{ext}" for ext in schema.FORMATS]
    present = [c for c in candidates if c.exists() or c.is_symlink()]
    if not present:
        other = sorted(p.name for p in _table_entries(folder) if p.name.split(".")[0] == stem)
        hint = f"; {', '.join(other)} cannot be read: save it as .csv, .xlsx or .parquet" if other else ""
        raise DataError([Problem(str(folder / name), None, None,
                                 f"file not found (nor {stem}.xlsx, {stem}.parquet){hint}")])
    not_files = [p for p in map(_not_a_file, present) if p is not None]
    if not_files:   # said before "given twice": a directory beside the real file is a mistake of its own
        raise DataError(not_files)
    if len(present) > 1:
        raise DataError([Problem(str(folder / stem), None, None, "given twice: " + ", ".join(p.name for p in present)
                                 + "; keep one")])
    return present[0]


def _not_a_file(path: Path) -> Problem | None:
    """Why `path` cannot be read as a table, or None when it is a regular file."""
    if path.is_dir():
        return Problem(str(path), None, None, "is a directory, not a file")
    if not path.exists():
        try:
            path.stat()
        except OSError as err:
            if err.errno == errno.ELOOP:
                return Problem(str(path), None, None, "is a symbolic link that loops (it leads back to itself)")
        return Problem(str(path), None, None, "is a link to a file that does not exist")
    if not path.is_file():
        return Problem(str(path), None, None, "is not a regular file (a pipe, socket or device); save the table "
                                              "as a file")
    return None


def _open(file: Path):
    """The table in `file`, its header read and its size checked against the limits (DataError if not)."""
    problem = _not_a_file(file)
    if problem is not None:
        raise DataError([problem])
    size = file.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DataError([Problem(str(file), None, None, f"is {size:,} bytes; the loader reads files of at most "
                                 f"{MAX_FILE_BYTES:,} bytes: save the table as Parquet (smaller), or split the cohort "
                                 "into one folder per study")])
    return {".csv": _CsvFile, ".xlsx": _XlsxFile, ".parquet": _ParquetFile}[file.suffix](file)


def _too_many_rows(file: Path, rows: int, counted: str) -> DataError:
    return DataError([Problem(str(file), None, None, f"has {rows:,} {counted}; the loader reads at most {MAX_ROWS:,} "
                              "rows per table: split the cohort into one folder per study, each within the limit")])


def _unreadable(file: Path, err: Exception) -> DataError:
    return DataError([Problem(str(file), None, None, f"cannot be read as {file.suffix[1:]}: "
                              f"{type(err).__name__}: {_short(str(err), 120)}")])


@dataclass
class _Chunk:
    """Rows of a table: the line (spreadsheet row) each starts on, and the columns asked for, by
    their position in the header (text for CSV and Excel; Parquet's own types)."""
    lines: np.ndarray
    columns: dict[int, pa.Array]


class _CsvFile:
    """A CSV file: its bytes checked whole (BOM, UTF-8, long lines, size) when opened, then its rows
    read by the csv module, a chunk at a time."""
    unit = "line"

    def __init__(self, file: Path):
        self.file, self.label, self.note = file, str(file), None
        self.lines, self.unterminated = _check_bytes(file)
        self.capacity = max(self.lines - (1 if self.unterminated else 2), 0)   # rows at most: one line or more each
        if self.capacity > MAX_ROWS:
            raise _too_many_rows(file, self.capacity, "lines after its header")
        with open(file, encoding="utf-8", newline="") as text:
            reader = csv.reader(text, strict=True)
            try:
                self.header = [h.strip(BLANKS) for h in next(reader)]
            except csv.Error as err:
                raise DataError([Problem(self.label, 1, None, _csv_error_message(err, self.unterminated))]) from None
        duplicated = sorted({n for n in self.header if n and self.header.count(n) > 1})
        if duplicated:   # said before the rows, which would all seem to have a field too few
            raise DataError([Problem(self.label, 1, ", ".join(duplicated), "column appears more than once")])

    def chunks(self, positions: list[int], progress: Progress | None = None) -> Iterator[_Chunk]:
        width, problems, last = len(self.header), [], None
        with open(self.file, encoding="utf-8", newline="") as text:
            reader = csv.reader(text, strict=True)
            try:
                next(reader)
                done = reader.line_num
                while rows := list(itertools.islice(reader, CHUNK_ROWS)):
                    starts, ends = _row_lines(rows, done, reader.line_num)
                    done = reader.line_num
                    if progress:
                        progress(self.label, done, self.capacity + 1, "lines")
                    if set(map(len, rows)) != {width}:
                        keep = [i for i, row in enumerate(rows) if len(row) == width]
                        problems += self._field_counts(rows, starts, ends)
                        rows, starts = [rows[i] for i in keep], starts[keep]
                    if problems or not rows or not positions:
                        continue   # a file with rows of the wrong length is refused: its cells are not checked
                    cells = pa.array(list(itertools.chain.from_iterable(rows)), pa.string())   # row after row
                    columns = {p: cells.take(pa.array(np.arange(p, len(cells), width))) for p in {0, *positions}}
                    first = pc.utf8_trim(columns[0], BLANKS)
                    maybe_blank = np.flatnonzero(pc.equal(first, "").to_numpy(zero_copy_only=False))
                    blank = [i for i in maybe_blank if not "".join(rows[i]).strip(BLANKS)]
                    if blank:
                        keep = np.ones(len(rows), bool)
                        keep[blank] = False
                        starts, columns = starts[keep], {p: a.filter(pa.array(keep)) for p, a in columns.items()}
                    if len(starts):
                        last = int(starts[-1])
                        yield _Chunk(starts, {p: columns[p] for p in positions})
            except csv.Error as err:
                raise DataError([Problem(self.label, _failing_row(self.file), None,
                                         _csv_error_message(err, self.unterminated))]) from None
        if problems:
            raise DataError(problems)
        if self.unterminated and last is not None:
            self.note = (f"ends without a final newline; its last row (line {last}) has all its fields, but a last "
                         "value cut short would look the same: check it against the source")

    def _field_counts(self, rows, starts, ends) -> list[Problem]:
        """Rows with another number of fields than the header: skipped when blank, else a problem."""
        problems = []
        for row, start, end in zip(rows, starts, ends):
            if len(row) == len(self.header) or not row or all(not cell.strip(BLANKS) for cell in row):
                continue
            cut = self.unterminated and len(row) < len(self.header) and end == self.lines
            problems.append(Problem(self.label, int(start), None, _field_count_message(row, self.header, cut)))
        return problems


def _check_bytes(file: Path) -> tuple[int, bool]:
    """A CSV file's bytes, checked block by block before its rows are read: no byte-order mark,
    not empty, UTF-8, no line longer than MAX_LINE_CHARS. Returns its number of lines (as the csv
    module counts them) and whether it ends without a final newline."""
    label = str(file)
    lines, carry, blank, too_long, last = 0, b"", True, None, None
    try:
        handle = open(file, "rb")
    except OSError as err:
        raise DataError([Problem(label, None, None, f"cannot be read: {err.strerror} "
                                         "(check that this user may read the file)")]) from None
    with handle:
        while True:
            block = handle.read(BLOCK_BYTES)
            if last is None and block.startswith(b"\xef\xbb\xbf"):
                raise DataError([Problem(label, 1, None, "starts with a byte-order mark (BOM); save as UTF-8 "
                                                         "without BOM")])
            data = carry + block
            cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1 if block else len(data)
            piece, carry, last = data[:cut], data[cut:], block[-1:] or last or b""   # whole lines: no \r\n cut
            try:
                text = piece.decode("utf-8")
            except UnicodeDecodeError as err:
                line = lines + len(LINE_END.split(piece[: err.start].decode("utf-8")))
                raise DataError([Problem(label, line, None, f"byte 0x{piece[err.start]:02x} is not UTF-8; save "
                                                            "the file as UTF-8")]) from None
            blank = blank and not piece.strip()
            if too_long is None and max(map(len, text.split("\n"))) > MAX_LINE_CHARS:   # an upper bound: quick
                parts = LINE_END.split(text)
                i = next((i for i, part in enumerate(parts) if len(part) > MAX_LINE_CHARS), None)
                if i is not None:
                    too_long = Problem(label, lines + i + 1, None, f"line is {len(parts[i]):,} characters long (at "
                                                                   f"most {MAX_LINE_CHARS:,})")
            lines += piece.count(b"\n") + piece.count(b"\r") - piece.count(b"\r\n")
            if not block:
                break
    if blank:
        raise DataError([Problem(label, None, None, "file is empty; expected a header line: "
                                 + ",".join(f.name for f in schema.FILES.get(file.name, ())))])
    if too_long is not None:
        raise DataError([too_long])
    return lines + 1, last not in (b"\n", b"\r")


def _row_lines(rows: list[list[str]], before: int, after: int) -> tuple[np.ndarray, np.ndarray]:
    """The lines each row of `rows` starts and ends on, as the csv module counts them: `before` lines
    were read before the first row, `after` after the last. A row spans one line more than the line
    ends inside its (quoted) fields."""
    if after - before == len(rows):   # one line each: the usual case
        starts = np.arange(before + 1, after + 1)
        return starts, starts
    spans = np.fromiter((1 + sum(len(LINE_END.findall(cell)) for cell in row) for row in rows), np.int64, len(rows))
    ends = before + np.cumsum(spans)
    return ends - spans + 1, ends


def _failing_row(file: Path) -> int:
    """The line the row starts on where the csv module stops with an error (read again, row by row)."""
    with open(file, encoding="utf-8", newline="") as text:
        reader = csv.reader(text, strict=True)
        start = 1
        try:
            for _ in reader:
                start = reader.line_num + 1
        except csv.Error:
            pass
    return start


def _csv_error_message(err: csv.Error, unterminated: bool) -> str:
    """What the csv module refused, in words; `unterminated`: the file lacks its final newline."""
    if "unexpected end of data" not in str(err):
        return f"is not valid CSV ({err})"
    return ("is not valid CSV: a quote opened in the row that starts on this line is never closed"
            + ("; the file ends without a final newline: it looks cut off (truncated)" if unterminated else ""))


def _field_count_message(row: list[str], header: list[str], cut: bool) -> str:
    """Why a row with the wrong number of fields is refused; `cut`: it is the last line and lacks its newline."""
    expected = f"expected {len(header)} ({','.join(header)})"
    if cut:
        return (f"has {len(row)} fields, {expected}, and the file ends here without a final newline: "
                "the file looks cut off (truncated)")
    return f"has {len(row)} fields, {expected}; the line may be truncated or have a stray comma"


class _XlsxFile:
    """The first sheet of an Excel workbook, read row by row (openpyxl, read-only); each cell as
    the text a CSV would hold, as pandas.read_excel gave it before (`_excel_text`)."""
    unit = "row"

    def __init__(self, file: Path):
        import openpyxl
        self.file, self.label, self.note = file, str(file), None
        cells = _sheet_cells(file)
        if cells > MAX_XLSX_CELLS:
            raise self._too_large(f"{cells:,} cells")
        try:
            self.book = openpyxl.load_workbook(file, read_only=True, data_only=True, keep_links=False)
            sheet = self.book.worksheets[0]
            self.rows = sheet.max_row
            self.capacity = max((self.rows or 0) - 1, CHUNK_ROWS)
            sheet.reset_dimensions()   # then read every row there is: the recorded size may be wrong
            self.sheet_rows = enumerate(sheet.rows, 1)
            self.header, self.first = [], []
            for number, row in self.sheet_rows:   # the header is row 1; an empty sheet has no row with a value
                self.first.append((number, [_excel_text(cell) for cell in row]))
                if any(self.first[-1][1]):
                    break
            if not any(any(cells) for _, cells in self.first):
                raise DataError([Problem(str(file), None, None, "the first sheet is empty")])
            self.header = self.first[0][1]
        except DataError:
            raise
        except Exception as err:  # noqa: BLE001 - any reader failure is the file's problem, said in words
            raise _unreadable(file, err) from None

    def _too_large(self, size: str) -> DataError:
        return DataError([Problem(self.label, None, None, f"has {size}; the loader reads Excel sheets of at most "
                                  f"{MAX_XLSX_CELLS:,} cells: save the sheet as CSV (UTF-8) or Parquet")])

    def chunks(self, positions: list[int], progress: Progress | None = None) -> Iterator[_Chunk]:
        cells_read = sum(len(cells) for _, cells in self.first)
        rows = itertools.chain(self.first[1:], ((n, [_excel_text(c) for c in row]) for n, row in self.sheet_rows))
        while True:
            try:
                batch = list(itertools.islice(rows, CHUNK_ROWS))
            except Exception as err:  # noqa: BLE001 - as when opening it
                raise _unreadable(self.file, err) from None
            if not batch:
                self.book.close()
                break
            cells_read += sum(len(cells) for _, cells in batch)
            if cells_read > MAX_XLSX_CELLS:
                raise self._too_large(f"more than {MAX_XLSX_CELLS:,} cells (counted while reading)")
            if progress:
                progress(self.label, batch[-1][0], self.rows, "rows")
            batch = [(n, cells) for n, cells in batch if any(cells)]   # a row with no value is skipped
            if batch:
                lines = np.array([n for n, _ in batch], np.int64)
                yield _Chunk(lines, {p: pa.array([cells[p] if p < len(cells) else "" for _, cells in batch],
                                                 pa.string()) for p in positions})


def _sheet_cells(file: Path) -> int:
    """The cells of the first sheet of a workbook, counted in its XML (its <c> elements) without
    parsing it, before openpyxl opens the file: seconds, where reading them takes minutes (and
    openpyxl reads a sheet whole when opening it if the sheet does not record its size). 0 when the
    workbook is not laid out as usual: its cells are then counted as the sheet is read."""
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    relation = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        with zipfile.ZipFile(file) as archive:
            first = ElementTree.fromstring(archive.read("xl/workbook.xml")).find(f"{main}sheets/{main}sheet")
            links = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            target = next(link.get("Target") for link in links if link.get("Id") == first.get(relation))
            count, tail = 0, b""
            with archive.open(target.lstrip("/") if target.startswith("/") else f"xl/{target}") as xml:
                while block := xml.read(BLOCK_BYTES):
                    data = tail + block
                    count += data.count(b"<c ") + data.count(b"<c>")
                    tail = data[-2:]
            return count
    except (KeyError, AttributeError, StopIteration, zipfile.BadZipFile, ElementTree.ParseError):
        return 0


def _excel_text(cell) -> str:
    """A cell of a workbook as the text a CSV would hold; empty for an error (#N/A) and for the
    texts pandas.read_excel took for missing values (EXCEL_MISSING)."""
    if cell.value is None or cell.data_type == "e" or (isinstance(cell.value, str) and cell.value in EXCEL_MISSING):
        return ""
    return _text(cell.value)


class _ParquetFile:
    """A Parquet file, read a batch of rows at a time (pyarrow), in its own column types."""
    unit = "row"

    def __init__(self, file: Path):
        import pyarrow.parquet as pq
        self.file, self.label, self.note = file, str(file), None
        try:
            self.parquet = pq.ParquetFile(file)
            arrow = self.parquet.schema_arrow
        except Exception as err:  # noqa: BLE001 - any reader failure is the file's problem, said in words
            raise _unreadable(file, err) from None
        self.rows = self.capacity = self.parquet.metadata.num_rows
        if self.rows > MAX_ROWS:
            raise _too_many_rows(file, self.rows, "rows")
        index = (arrow.pandas_metadata or {}).get("index_columns", [])   # a pandas index is not a column
        self.names = [n for n in arrow.names if n not in index]
        self.header = [str(n) for n in self.names]
        self.nested = {str(f.name): str(f.type) for f in arrow if f.name in self.names and pa.types.is_nested(f.type)}

    def chunks(self, positions: list[int], progress: Progress | None = None) -> Iterator[_Chunk]:
        done = 0
        batches = self.parquet.iter_batches(batch_size=CHUNK_ROWS, columns=self.names, use_pandas_metadata=False)
        while True:
            try:
                batch = next(batches, None)
            except Exception as err:  # noqa: BLE001 - as when opening it
                raise _unreadable(self.file, err) from None
            if batch is None:
                break
            if progress:
                progress(self.label, done + batch.num_rows, self.rows, "rows")
            blank = np.ones(batch.num_rows, bool)
            for column in batch.columns:   # a row is blank when every cell is
                blank &= _blank(column)
            lines, done = np.arange(done + 2, done + 2 + batch.num_rows), done + batch.num_rows
            keep = pa.array(~blank)
            if not blank.all():
                yield _Chunk(lines[~blank], {p: batch.column(p).filter(keep) for p in positions})


# --- cells, column by column -------------------------------------------------------------------

def _text(value) -> str:
    """A spreadsheet or Parquet cell as the text a CSV would hold (dates as ISO dates)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip(BLANKS)


def _texts(array: pa.Array) -> pa.Array:
    """Each cell of a column as `_text` writes it (text, trimmed, "" when missing): at once for text
    and whole numbers, else once per distinct value."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array, kind = array.dictionary_decode(), kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.utf8_trim(array.fill_null(""), BLANKS).cast(pa.string())
    if pa.types.is_integer(kind):
        return pc.cast(array, pa.string()).fill_null("")
    try:
        encoded = pc.dictionary_encode(array)
        values, indices = encoded.dictionary, encoded.indices
    except pa.ArrowNotImplementedError:   # a nested type: each cell on its own
        values, indices = array, pa.array(np.arange(len(array)))
    words = pa.array([_text(v) for v in values.to_pandas()], pa.string())
    return pc.take(words, indices).fill_null("")


def _blank(array: pa.Array) -> np.ndarray:
    """Which cells of a column `_text` writes as "" (missing)."""
    if pa.types.is_floating(array.type) or pa.types.is_integer(array.type):
        return pc.is_null(array, nan_is_null=True).to_numpy(zero_copy_only=False)
    return pc.equal(_texts(array), "").to_numpy(zero_copy_only=False)


def _parse(cell: str, kind: str):
    """The value of a cell of `kind` ("str", "int", "float"); None when empty; ValueError when not
    a number written as the module docstring says (float() alone would take "1_200", "１２", "nan")."""
    if cell == "":
        return None
    if kind == "str":
        return cell
    if not NUMBER.fullmatch(cell):
        raise ValueError
    if kind == "int":
        number = float(cell)  # accepts "12" and "12.0"; "12.5" is rejected below
        if not number.is_integer() or abs(number) >= 2**63:  # beyond Int64: "1e30" would crash pandas
            raise ValueError
        return int(number)
    number = float(cell)
    if not math.isfinite(number):
        raise ValueError
    return number


def _values(array: pa.Array, f: schema.Field) -> tuple[pa.Array | np.ndarray, np.ndarray, np.ndarray]:
    """The values of a column for field `f`: (values, missing, doubtful), decided for the whole column
    at once. `doubtful` are the positions of the cells these column-wise rules do not accept; `_parse`
    decides each of them as it would any cell. Parquet's numbers are taken as they are (a CSV would
    hold them as `_text` writes them, which `_parse` reads back to the same value)."""
    kind, none = array.type, np.array([], np.int64)
    if f.kind != "str" and (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        missing = pc.is_null(array, nan_is_null=True).to_numpy(zero_copy_only=False)
        if pa.types.is_integer(kind):
            numbers = array.fill_null(0).to_numpy()
            if f.kind == "float":
                return np.where(missing, math.nan, numbers.astype(np.float64)), missing, none
            fits = numbers <= 2**63 - 1 if numbers.dtype == np.uint64 else np.ones(len(numbers), bool)
            return np.where(fits, numbers, 0).astype(np.int64), missing, np.flatnonzero(~fits)
        numbers = array.fill_null(math.nan).to_numpy(zero_copy_only=False).astype(np.float64)
    else:
        texts = _texts(array)
        missing = pc.equal(texts, "").to_numpy(zero_copy_only=False)
        if f.kind == "str":
            return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), texts), missing, none
        written = pc.match_substring_regex(texts, f"^(?:{NUMBER.pattern})$").to_numpy(zero_copy_only=False)
        numbers = pc.cast(pc.if_else(pa.array(written), texts, "0"), pa.float64()).to_numpy(zero_copy_only=False)
        numbers = np.where(written, numbers, math.nan)
    if f.kind == "float":
        return np.where(missing, math.nan, numbers), missing, np.flatnonzero(~missing & ~np.isfinite(numbers))
    whole = np.isfinite(numbers) & (numbers == np.floor(numbers)) & (np.abs(numbers) < 2.0**63)
    return np.where(whole, numbers, 0).astype(np.int64), missing, np.flatnonzero(~missing & ~whole)


def _dates(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 of ISO dates (`_date`, once per distinct text), and which are dates."""
    encoded = pc.dictionary_encode(texts)
    parsed = [_date(text) for text in encoded.dictionary.to_pylist()]
    days = np.array([(d - EPOCH).days if d else 0 for d in parsed] or [0], np.int64)
    valid = np.array([d is not None for d in parsed] or [False])
    at = encoded.indices.to_numpy(zero_copy_only=False)
    return days[at], valid[at]


def _date(text: str) -> dt.date | None:
    if not ISO_DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _iso(day: int) -> str:
    return (EPOCH + dt.timedelta(days=int(day))).isoformat()


class _Baseline:
    """Patients' baseline dates (days since 1970-01-01), by patient_id as written."""

    def __init__(self):
        self.parts, self.series = [], None

    def add(self, ids: pa.Array, days: np.ndarray) -> None:
        self.parts.append(pd.Series(days, index=ids.to_pandas(), dtype=np.int64))
        self.series = None

    def find(self, ids: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """(baseline days, known) of each id; a patient given twice counts with its last row."""
        if self.series is None:
            series = pd.concat(self.parts) if self.parts else pd.Series([], dtype=np.int64)
            self.series = series[~series.index.duplicated(keep="last")]
        at = self.series.index.get_indexer(ids.to_pandas())
        days = self.series.to_numpy()[at] if len(self.series) else np.zeros(len(at), np.int64)
        return days, at >= 0


class _Listed:
    """Problems of one kind in one file, listed up to MAX_PROBLEMS_LISTED per column (bounded
    memory); one more line per column counts the rest."""

    def __init__(self):
        self.items, self.count, self.rest = [], {}, {}

    def add(self, problem: Problem) -> None:
        n = self.count[problem.column] = self.count.get(problem.column, 0) + 1
        if n <= MAX_PROBLEMS_LISTED:
            self.items.append(problem)
        elif problem.column in self.rest:
            self.rest[problem.column][1:] = [self.rest[problem.column][1] + 1, problem.line]
        else:
            self.rest[problem.column] = [problem, 1, problem.line]

    def problems(self) -> list[Problem]:
        more = [Problem(first.file, first.line, column, f"and {n:,} more problems in this column from this "
                        f"{first.unit} on (the last on {first.unit} {last}), not listed one by one", first.unit, n)
                for column, (first, n, last) in self.rest.items()]
        return self.items + more


# --- one table, chunk by chunk -----------------------------------------------------------------

@dataclass
class _Checked:
    frame: pd.DataFrame | None
    problems: list[Problem]
    notes: list[str]
    dated: str | None   # the date column the table's day column was computed from, if any


def _check(source, name: str, baseline: _Baseline, progress: Progress | None) -> _Checked:
    """Check one table, chunk by chunk: its frame, or the problems of its cells (DataError for a
    problem of the whole file, such as a row with a field too many)."""
    found, used, unused = _columns(source, name)
    found += [Problem(source.label, None, column, f"is a nested Parquet column ({kind}); expected one plain value "
                      "(text or a number) per cell") for column, kind in getattr(source, "nested", {}).items()
              if column in used]
    if found:
        for _ in source.chunks([]):   # a problem of the whole file is said instead
            pass
        return _Checked(None, found, [], None)
    table = _Table(source, name, used, _Baseline() if name == "patients.csv" else baseline)
    for chunk in source.chunks(sorted(p for p in used.values() if p is not None), progress):
        table.check(chunk)
    if name == "patients.csv":   # the file is read whole: the other tables may use its baseline dates
        baseline.parts += table.baseline.parts
    notes = [f"{source.label}: {source.note}"] if source.note else []
    if unused:
        notes.append(f"{source.label}: column(s) {', '.join(unused)} not used by the analysis")
    frame, problems = table.finish()
    return _Checked(frame, problems, notes, table.dated.get(_day_field(name)))


def _day_field(name: str) -> str:
    return "last_followup_day" if name == "patients.csv" else "day"


class _Table:
    """The checks of one table, as its chunks come: dates turned into days, cells into values
    (each refused cell a problem), then the schema's checks of the values (`_validate` words the
    problems of the rows a column-wise check refuses), the keys over the whole table at the end."""

    def __init__(self, source, name: str, used: dict[str, int | None], baseline: _Baseline):
        self.source, self.name, self.used, self.baseline = source, name, used, baseline
        # a column the format lets a table leave out is in the frame only when the table has it
        self.fields = tuple(f for f in schema.FILES[name] if not f.may_be_absent or f.name in used)
        self.dated = {day: date for day, (date, _) in schema.DATE_COLUMNS.get(name, {}).items()
                      if used.get(day) is None and date in used}
        self.dates = {column: _Listed() for column in [schema.BASELINE_DATE.name, *self.dated.values()]}
        self.typed = {f.name: _Listed() for f in self.fields}
        self.as_dates = {}   # day column -> [first Problem, count, last line] of cells that hold dates
        self.checks = _Listed()
        rows = source.capacity   # the rows the file announces, at most
        self.values = {f.name: _Growing({"str": object, "int": np.int64, "float": np.float64}[f.kind], rows)
                       for f in self.fields}
        self.missing = {f.name: _Growing(bool, rows) for f in self.fields if f.kind == "int"}
        self.lines = _Growing(np.int64, rows)

    def refused(self) -> bool:
        """Whether a cell is refused already: then the schema's checks are not run (as before)."""
        return any(listed.count for listed in self.typed.values()) or any(
            self.dates[c].count for c in self.dated.values()) or bool(self.as_dates)

    def check(self, chunk: _Chunk) -> None:
        cells = {c: chunk.columns[p] for c, p in self.used.items() if p is not None}
        ids = _texts(cells["patient_id"])
        if self.name == "patients.csv" and schema.BASELINE_DATE.name in cells:
            self._baseline_dates(cells[schema.BASELINE_DATE.name], ids, chunk.lines)
        values, written = {}, {}
        for f in self.fields:
            if f.name in self.dated:
                written[f.name] = cells[self.dated[f.name]]
                values[f.name] = self._days(f, written[f.name], ids, chunk.lines)
            else:
                written[f.name] = cells[f.name]
                values[f.name] = self._cells(f, cells[f.name], chunk.lines)
        self.lines.add(chunk.lines)
        stored = {}   # as the frame holds them: text as objects (None when missing)
        for f in self.fields:
            value, missing = values[f.name]
            stored[f.name] = (value.to_pandas().to_numpy() if f.kind == "str" else value, missing)
            self.values[f.name].add(stored[f.name][0])
            if f.kind == "int":
                self.missing[f.name].add(missing)
        if not self.refused():
            self._schema(values, stored, written, chunk.lines)

    def _baseline_dates(self, column: pa.Array, ids: pa.Array, lines: np.ndarray) -> None:
        texts = _texts(column)
        days, valid = _dates(texts)
        given = pc.not_equal(texts, "").to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(given & ~valid):
            self.dates[schema.BASELINE_DATE.name].add(Problem(
                self.source.label, int(lines[i]), "baseline_date",
                f"'{_short(texts[i].as_py())}' is not a date (YYYY-MM-DD)", self.source.unit))
        ok = given & valid
        self.baseline.add(ids.filter(pa.array(ok)), days[ok])

    def _days(self, f: schema.Field, column: pa.Array, ids: pa.Array, lines: np.ndarray):
        """The day of each row from its date (days since the patient's baseline_date)."""
        date_column, source = self.dated[f.name], self.source
        texts = _texts(column)
        days, valid = _dates(texts)
        base, known = self.baseline.find(ids)
        day = days - base
        empty = pc.equal(texts, "").to_numpy(zero_copy_only=False)
        bad = ~empty & (~valid | ~known | (day < 0))
        for i in np.flatnonzero(bad | (empty if f.required else False)):
            text, line = texts[i].as_py(), int(lines[i])
            if empty[i]:   # said where the day column's own problems go, as it always was
                self.typed[f.name].add(Problem(source.label, line, date_column, "is empty; expected a date "
                                               "(YYYY-MM-DD)", source.unit))
                continue
            if not valid[i]:
                message = f"'{_short(text)}' is not a date (YYYY-MM-DD)"
            elif not known[i]:
                message = (f"patient '{_short(ids[i].as_py())}' has no baseline_date in patients, so this date "
                           "cannot be turned into a day")
            else:
                message = f"{text} is before the patient's baseline_date ({_iso(base[i])})"
            self.dates[date_column].add(Problem(source.label, line, date_column, message, source.unit))
        missing = empty | bad
        return np.where(missing, 0, day), missing

    def _cells(self, f: schema.Field, column: pa.Array, lines: np.ndarray):
        """The values of one column; a cell refused is a problem, worded cell by cell."""
        values, missing, doubtful = _values(column, f)
        refused = {}   # position -> the cell as written
        if len(doubtful):   # never text: any text is a "str" value
            for i, cell in zip(doubtful, _texts(column.take(pa.array(doubtful))).to_pylist()):
                try:
                    values[i] = _parse(cell, f.kind)   # not empty, so never None
                except ValueError:
                    refused[int(i)] = cell
        if _free_text(f):   # no control, format or line-break character (they hide or reorder what is shown)
            printable = pc.utf8_is_printable(pc.fill_null(values, "")).to_numpy(zero_copy_only=False)
            for i in np.flatnonzero(~printable):
                cell = values[int(i)].as_py()
                if _hidden_characters(cell):
                    refused[int(i)] = cell
        empty = np.flatnonzero(missing) if f.required else []
        for i in sorted([*refused, *empty]):
            if i in refused:
                self._refuse(f, refused[i], int(lines[i]))
            else:
                self.typed[f.name].add(Problem(self.source.label, int(lines[i]), f.name,
                                               f"is empty; expected {f.expected()}", self.source.unit))
        missing[list(refused)] = True
        return values, missing

    def _refuse(self, f: schema.Field, cell: str, line: int) -> None:
        """A cell `_parse` refuses: one problem, or, for a day that is a date, one count more."""
        label, unit = self.source.label, self.source.unit
        if f.name in schema.DATE_COLUMNS.get(self.name, {}) and _date(cell) is not None:
            if f.name in self.as_dates:
                self.as_dates[f.name][1:] = [self.as_dates[f.name][1] + 1, line]
            else:
                self.as_dates[f.name] = [Problem(label, line, f.name, f"'{_short(cell)}' is not {f.expected()}", unit),
                                         1, line]
            return
        hidden = _hidden_characters(cell) if _free_text(f) else ""
        if hidden:
            self.typed[f.name].add(Problem(label, line, f.name, f"'{_short(cell)}' holds {hidden}: text may not hold "
                                           "control, format or line-break characters (they can hide or reorder what "
                                           "a page shows)", unit))
            return
        self.typed[f.name].add(Problem(label, line, f.name, f"'{_short(cell)}' is not {f.expected()}"
                                       + _non_ascii(cell), unit))

    def _schema(self, values: dict, stored: dict, written: dict, lines: np.ndarray) -> None:
        """The schema's checks of a chunk's values, column by column; the rows one refuses go through
        `_validate` (pandera, the checks' own wording) as a frame of their `stored` values."""
        refused = np.zeros(len(lines), bool)
        for f in self.fields:
            value, missing = values[f.name]
            present = ~missing
            if f.kind == "str":
                if f.allowed:
                    refused |= present & ~pc.is_in(value, value_set=pa.array(f.allowed)).to_numpy(zero_copy_only=False)
                if schema.pattern(f) is not None:
                    fits = pc.match_substring_regex(value, schema.pattern(f)).fill_null(True)
                    refused |= present & ~fits.to_numpy(zero_copy_only=False)
            else:
                if f.min is not None:
                    refused |= present & (value < f.min)
                if f.max is not None:
                    refused |= present & (value > f.max)
        if not refused.any():
            return
        at = np.flatnonzero(refused)
        taken = pa.array(at)
        frame = _frame(self.fields, {name: (value[at], missing[at]) for name, (value, missing) in stored.items()})
        rows = [list(r) for r in zip(*(_texts(written[f.name].take(taken)).to_pylist() for f in self.fields))]
        raw = _Raw(self.source.label, rows, [int(x) for x in lines[at]], self.source.unit)
        for problem in _validate(raw, self.name, frame, self.dated):
            self.checks.add(problem)

    def finish(self) -> tuple[pd.DataFrame | None, list[Problem]]:
        """The frame (None if a cell or row is refused) and the problems, in the order they were always
        said: dates, then cells column by column, then the schema's checks by line."""
        dates = [p for listed in self.dates.values() for p in listed.problems()]   # a bad baseline_date blocks nothing
        typed = {name: listed.problems() for name, listed in self.typed.items()}
        for name, (first, n, last) in self.as_dates.items():
            date = schema.DATE_COLUMNS[self.name][name][0]
            more = f", as are {n - 1:,} more cells of this column (the last on {first.unit} {last})" if n > 1 else ""
            typed[name] = sorted([*typed[name], Problem(
                first.file, first.line, first.column, f"{first.message}: it is a date{more}; give dates in a column "
                f"named '{date}' instead (days are counted from the patient's baseline_date, a column of patients; "
                "see the data dictionary)", first.unit)], key=lambda p: p.line)
        lines = self.lines.values()
        if self.refused():
            return None, dates + [p for f in self.fields for p in typed[f.name]]
        if not len(lines) and self.name != "events.csv":
            return None, dates + [Problem(self.source.label, None, None, "has a header but no data rows")]
        frame = _frame(self.fields, {f.name: (self.values[f.name].values(),
                                              self.missing[f.name].values() if f.kind == "int" else None)
                                     for f in self.fields})
        # the keys first, as pandera listed them
        checks = _duplicates(frame, self.name, lines, self.source, self.dated) + self.checks.problems()
        if checks:
            unique = list(dict.fromkeys(checks))
            return None, dates + sorted(unique, key=lambda p: (p.line or 0, p.column or ""))
        frame.attrs["lines"], frame.attrs["unit"], frame.attrs["label"] = Lines(lines), self.source.unit, \
            self.source.label
        return frame, dates


class _Growing:
    """One column's values, chunk after chunk, in one array sized for the rows the file announces
    (grown if more come): the frame is made of these arrays, not of a second copy of the table."""

    def __init__(self, dtype, capacity: int):
        self.data, self.size = np.empty(capacity, dtype), 0

    def add(self, values: np.ndarray) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.empty(max(end, 2 * len(self.data)), self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size:end] = values
        self.size = end

    def values(self) -> np.ndarray:
        return self.data[: self.size]


def _frame(fields, columns: dict[str, tuple[np.ndarray, np.ndarray | None]]) -> pd.DataFrame:
    """A frame in the loader's types from its columns' (values, missing): text as object (None when
    missing), whole numbers as Int64, numbers as float64 (NaN when missing). The arrays are not copied."""
    out = {}
    for f in fields:
        values, missing = columns[f.name]
        if f.kind == "int":
            out[f.name] = pd.Series(pd.arrays.IntegerArray(values, missing))
        else:
            out[f.name] = pd.Series(values, dtype=object if f.kind == "str" else "float64")
    return pd.DataFrame(out, copy=False)


def _free_text(f: schema.Field) -> bool:
    """A text column with neither allowed values nor a pattern (study, regimens, adverse-event category)."""
    return f.kind == "str" and not f.allowed and schema.pattern(f) is None


def _hidden_characters(cell: str) -> str:
    """The control, format, line-break and other unprintable characters of a text cell, named ('U+001B
    ESCAPE'), or '' when it has none; spaces (any width) are allowed."""
    odd = list(dict.fromkeys(c for c in cell if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")))
    names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'a control character')}" for c in odd[:3])
    return names + (", ..." if len(odd) > 3 else "")


def _non_ascii(cell: str) -> str:
    """Names the non-ASCII characters of a cell that is not a number ("１２" looks like one)."""
    odd = list(dict.fromkeys(c for c in cell if not c.isascii()))
    if not odd:
        return ""
    names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in odd[:3])
    more = ", ..." if len(odd) > 3 else ""
    return f"; it holds non-ASCII characters ({names}{more}): a number is written with ASCII digits 0-9, - and ."


def _columns(raw, name: str) -> tuple[list[Problem], dict[str, int | None], list[str]]:
    """(problems, {format column or its date alternative: position}, columns not used)."""
    expected = [f.name for f in schema.FILES[name] if not f.may_be_absent]
    absent_ok = {f.name for f in schema.FILES[name] if f.may_be_absent}
    dates = schema.DATE_COLUMNS.get(name, {})
    optional = {date for date, _ in dates.values()} | ({schema.BASELINE_DATE.name} if name == "patients.csv" else set())
    names = raw.header
    problems = []
    duplicated = sorted({n for n in names if n and names.count(n) > 1})
    if duplicated:
        problems.append(Problem(raw.label, 1, ", ".join(duplicated), "column appears more than once", raw.unit))
    used: dict[str, int | None] = {}
    missing = []
    for column in expected:
        if column in names and column in dates and dates[column][0] in names:
            problems.append(Problem(raw.label, 1, f"{column}, {dates[column][0]}", "both are given: keep one (a day "
                                    "is counted from baseline_date; only one of the two would be read, so they could "
                                    "disagree unseen)", raw.unit))
        if column in names:
            used[column] = names.index(column)
        elif column in dates and dates[column][0] in names:
            used[column] = None
            used[dates[column][0]] = names.index(dates[column][0])
        else:
            missing.append(column + (f" (or {dates[column][0]})" if column in dates else ""))
    for column in [*optional, *absent_ok]:
        if column in names and column not in used:
            used[column] = names.index(column)
    if missing:
        alternatives = [f"{date} for {day}" for day, (date, _) in dates.items()]
        problems.append(Problem(raw.label, 1, ", ".join(c.split(" ")[0] for c in missing),
                                "required column missing; expected columns: " + ",".join(expected)
                                + (f" (dates may stand in: {', '.join(alternatives)})" if alternatives else ""),
                                raw.unit))
    unused = [n for n in names if n and n not in used and n not in duplicated]
    return problems, used, unused


def _validate(raw: _Raw, name: str, frame: pd.DataFrame, dated: dict[str, str]) -> list[Problem]:
    """The schema's checks of ranges, allowed values and patterns (pandera) on `frame`, the rows of
    `raw`; a value is shown as written, a day computed from a date (`dated`: day column -> date
    column) as its date. Keys are checked over the whole table (`_duplicates`)."""
    import pandera.errors  # only rows a column-wise check refused come here
    rows = raw.rows
    try:
        schema.dataframe_schema(name, keys=False).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        fields = {f.name: f for f in schema.FILES[name]}
        positions = {column: j for j, column in enumerate(frame.columns)}   # the rows hold the frame's columns
        problems = []
        for case in err.failure_cases.itertuples(index=False):
            index = case.index
            line = raw.lines[int(index)] if index is not None and not pd.isna(index) else None
            column = case.column if isinstance(case.column, str) else None
            if column in fields and line is not None and column in dated:
                written = rows[int(index)][positions[column]]
                message = (f"'{_short(written)}' is day {frame[column].iloc[int(index)]} since the patient's "
                           f"baseline_date; expected {fields[column].expected()}")
                column = dated[column]
            elif column in fields:
                written = rows[int(index)][positions[column]] if line is not None else case.failure_case
                message = f"'{_short(str(written))}' is not {fields[column].expected()}"
            else:
                message = f"failed check {case.check}: {case.failure_case}"
            problems.append(Problem(raw.label, line, column, message, raw.unit))
        # one message per (line, column): pandera may report a row once per failed check
        unique = list(dict.fromkeys(problems))
        unique.sort(key=lambda p: (p.line or 0, p.column or ""))
        return unique
    return []


def _duplicates(frame: pd.DataFrame, name: str, lines: np.ndarray, source, dated: dict[str, str]) -> list[Problem]:
    """Every row whose keys (schema.KEYS) another row has too."""
    keys = schema.KEYS[name]
    if not keys or frame.empty:
        return []
    named = [dated.get(k, k) for k in keys]
    listed = _Listed()
    for line in lines[frame.duplicated(keys, keep=False).to_numpy()]:
        listed.add(Problem(source.label, int(line), ", ".join(named), f"duplicate {' + '.join(named)}: each must "
                           "appear once", source.unit))
    return listed.problems()


# --- across tables -----------------------------------------------------------------------------

def _cross_checks(frames: dict[str, pd.DataFrame], dated: dict[str, str | None], baseline: _Baseline,
                  exclude: dict[str, set[int]]) -> tuple[list[Problem], list[Exclusion]]:
    """Across tables: known patients, nothing after the end of follow-up or after a death, no follow-up past a
    death, adverse events with a category, and arms that belong to their study (when its study file names them).
    A day computed from a date is shown as that date, under the date column's name. A row with an impossible
    timeline that `exclude` lists is left out (a follow-up past the death ends at the death) and returned as an
    Exclusion instead of a problem; a listed row with no such problem is a problem. `frames` are changed in place."""
    patients, labs, events = frames["patients.csv"], frames["labs.csv"], frames["events.csv"]
    ids = pd.Index(patients["patient_id"])
    followup = patients["last_followup_day"].to_numpy(np.int64).copy()
    death_rows = events[events["event"] == "death"]
    first_death = death_rows.groupby("patient_id")["day"].min()
    death = np.full(len(ids), np.iinfo(np.int64).max)
    known = ids.get_indexer(first_death.index)
    death[known[known >= 0]] = first_death.to_numpy(np.int64)[known >= 0]
    base = baseline.find(pa.array(ids.to_numpy(), pa.string()))[0] if any(dated.values()) else None

    def when(day: int, at: int, table: str) -> str:   # a day as `table` gives it: date or number
        return _iso(base[at] + day) if dated[table] else f"day {day}"

    listed, excluded, used = _Listed(), [], {name: set() for name in schema.FILES}
    p_label, p_unit, p_lines = patients.attrs["label"], patients.attrs["unit"], patients.attrs["lines"]
    p_column = dated["patients.csv"] or "last_followup_day"
    for i in np.flatnonzero(followup > death):   # follow-up past the death: end it at the death, or refuse
        line, pid = p_lines[i], patients["patient_id"].iat[i]
        what = (f"{when(followup[i], i, 'patients.csv')} is after the patient's death "
                f"({when(death[i], i, 'events.csv')})")
        if line in exclude.get("patients.csv", ()):
            used["patients.csv"].add(line)
            excluded.append(Exclusion(p_label, line, p_column, pid, what, "follow-up ended at the death", p_unit))
            followup[i] = death[i]
        else:
            listed.add(Problem(p_label, line, p_column, f"{what}: correct one of the two dates, or end the follow-up "
                               f"at the death {EXCLUDABLE}", p_unit))
    if any(e.action == "follow-up ended at the death" for e in excluded):
        patients["last_followup_day"] = pd.array(followup, dtype=patients["last_followup_day"].dtype)

    for table, frame in (("labs.csv", labs), ("events.csv", events)):
        label, unit, lines = frame.attrs["label"], frame.attrs["unit"], frame.attrs["lines"]
        at = ids.get_indexer(frame["patient_id"])
        day = frame["day"].to_numpy(np.int64)
        unknown = at < 0
        dead = ~unknown & (day > death[at])
        late = ~unknown & ~dead & (day > followup[at])
        wrong = np.flatnonzero(unknown | late | dead)
        pids = frame["patient_id"].to_numpy()[wrong]
        column = dated[table] or "day"
        drop = []
        for k, i in enumerate(wrong):
            pid, line = pids[k], lines[i]
            if unknown[i]:
                listed.add(Problem(label, line, "patient_id", f"patient '{_short(pid)}' is not in "
                                   f"{Path(patients.attrs['label']).name}", unit))
                continue
            if dead[i]:
                what = (f"{when(day[i], at[i], table)} is after the patient's death "
                        f"({when(death[at[i]], at[i], 'events.csv')})")
                fix = "correct the date or the death's"
            else:
                end = followup[at[i]]
                what = f"{when(day[i], at[i], table)} is after the patient's " + (
                    f"last_followup_date ({when(end, at[i], 'patients.csv')})" if dated["patients.csv"]
                    else f"last_followup_day ({end})")
                fix = "correct the date or the patient's last follow-up"
            if line in exclude.get(table, ()):
                used[table].add(line)
                excluded.append(Exclusion(label, line, column, pid, what, "row left out", unit))
                drop.append(i)
            else:
                listed.add(Problem(label, line, column, f"{what}: {fix}, or leave this row out {EXCLUDABLE}", unit))
        if drop:
            keep = np.ones(len(frame), bool)
            keep[drop] = False
            kept = frame[keep].reset_index(drop=True)
            kept.attrs = {**frame.attrs, "lines": Lines(np.asarray(lines)[keep])}
            frames[table] = kept
    for table, asked in exclude.items():
        label = frames[table].attrs["label"] if table in frames else table
        unit = frames[table].attrs["unit"] if table in frames else "line"
        for line in sorted(set(asked) - used[table]):
            listed.add(Problem(label, line, None, "is listed under `exclude` in the params file, but has no impossible "
                               "timeline (only a row dated after the patient's death or last follow-up, or a "
                               "follow-up past the death, can be left out): remove it from `exclude`", unit))
    labs, events = frames["labs.csv"], frames["events.csv"]
    problems = listed.problems()
    ae = (events["event"] == "adverse_event") & events["category"].isna()
    listed = _Listed()
    for i in np.flatnonzero(ae.to_numpy()):
        listed.add(Problem(events.attrs["label"], events.attrs["lines"][i], "category",
                           "is empty; an adverse_event needs its category", events.attrs["unit"]))
    problems += listed.problems()
    problems += _arms_of_studies(patients)
    return problems, excluded


def _arms_of_studies(patients: pd.DataFrame) -> list[Problem]:
    """Arms and groups that do not belong to their study, when data/published/<study>.yaml names them."""
    problems = []
    for study, rows in patients.groupby("study", sort=False):
        if not (PUBLISHED_DIR / f"{study}.yaml").exists():
            continue
        pub = published.load(study)
        lines = [patients.attrs["lines"][i] for i in rows.index]
        for line, arm, group in zip(lines, rows["arm"], rows["prior_response"]):
            if arm not in pub.arms:
                problems.append(Problem(patients.attrs["label"], line, "arm", f"'{_short(arm)}' is not an arm of "
                                        f"{study} ({', '.join(pub.arms)})", patients.attrs["unit"]))
            if isinstance(group, str) and group not in pub.subgroups:
                problems.append(Problem(patients.attrs["label"], line, "prior_response",
                                        f"'{_short(group)}' is not a subgroup of {study} "
                                        f"({', '.join(pub.subgroups) or 'it has none'})", patients.attrs["unit"]))
    return problems


def _short(text: str, limit: int = 40) -> str:
    # show invisible characters (NUL, tab, ...) escaped, so the message says what is in the cell
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return text if len(text) <= limit else text[:limit] + "..."


def _table_entries(folder: Path) -> list[Path]:
    """Entries of `folder` named like a table of the format (patients, labs, events), whatever their
    extension, links that lead nowhere included."""
    tables = {Path(name).stem for name in schema.FILES}
    try:
        return [p for p in folder.iterdir() if p.name.split(".")[0] in tables]
    except OSError:
        return []


def cohort_folders(path: str | Path) -> list[Path]:
    """The cohort folders under `path`: itself when it holds a table (patients, labs or events, in any
    format), else each of its sub-folders that does (hidden ones, such as .git, left out). DataError
    naming the path when the layout is ambiguous (tables beside sub-folders with tables) or a sub-folder
    entry is a link that leads nowhere; a sub-folder whose tables cannot be read is not dropped here,
    `load` names its problem."""
    folder = Path(path)
    if not folder.is_dir():
        return []
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    subs = [p for p in entries if p.is_dir() and _table_entries(p)]
    if _table_entries(folder):
        if subs:
            raise DataError([Problem(str(folder), None, None, "holds tables (patients, labs, events) and sub-folders "
                                     f"with tables too ({', '.join(p.name for p in subs)}): keep one cohort's tables "
                                     "in the folder, or one sub-folder per study, not both")])
        return [folder]
    broken = [p for p in entries if p.is_symlink() and not p.exists()]   # a study folder that cannot be reached
    if broken:
        raise DataError([_not_a_file(p) for p in broken])
    return subs


def repeated_studies(holders: dict, folder: Path, patients: pd.DataFrame) -> list[Problem]:
    """A problem for each study of `folder` that an earlier folder holds already (`holders`: study -> the
    folder that holds it, updated): the chapters would analyse one folder's patients and drop the other's."""
    problems = []
    for study in pd.unique(patients["study"]):
        if study in holders:
            problems.append(Problem(str(folder), None, "study", f"study '{_short(study)}' is also in "
                                    f"{holders[study]}: give each study's patients in one folder"))
        holders.setdefault(study, folder)
    return problems


def validate_tree(path: str | Path, exclude: dict[str, list[int]] | None = None) -> dict[Path, list[Exclusion]]:
    """Load every cohort folder under `path`, leaving out the rows `exclude` lists (a params file's, see
    `excluded_rows`): {folder: the rows it left out}; DataError lists the problems of all of them."""
    folders = cohort_folders(path)
    if not folders:
        raise DataError([Problem(str(path), None, None, "holds no cohort folder (patients, labs, events files)")])
    rows = excluded_rows(path, exclude)
    problems, excluded, holders = [], {}, {}
    for folder in folders:
        try:
            cohort = load(folder, exclude=rows.get(folder))
            excluded[folder] = cohort.excluded
            problems += repeated_studies(holders, folder, cohort.patients)
        except DataError as err:
            problems.extend(err.problems)
    if problems:
        raise DataError(problems)
    return excluded


# --- rows left out: a params file's `exclude` ---------------------------------------------------------

def table_key(root: str | Path, file: str | Path) -> str:
    """How a params file's `exclude` names the table in `file`: its path under the data folder `root`, without
    its extension ('labs', or 'study_x/labs' in a folder of studies)."""
    return Path(file).relative_to(Path(root)).with_suffix("").as_posix()


def excluded_rows(root: str | Path, exclude: dict[str, list[int]] | None) -> dict[Path, dict[str, set[int]]]:
    """`exclude` of a params file ({table: [line or spreadsheet row, ...]}, each table named by `table_key`) as
    the rows each cohort folder under `root` leaves out: {folder: {'labs.csv': {line, ...}}}. A table the folder
    does not hold is a DataError naming the tables it does."""
    root = Path(root)
    known = {table_key(root, folder / name): (folder, name) for folder in cohort_folders(root) for name in schema.FILES}
    out: dict[Path, dict[str, set[int]]] = {}
    for key, lines in (exclude or {}).items():
        if key not in known:
            raise DataError([Problem(str(root), None, None, f"`exclude` names '{_short(key)}', not a table of {root} "
                                     f"(its tables: {', '.join(sorted(known))})")])
        folder, name = known[key]
        out.setdefault(folder, {}).setdefault(name, set()).update(lines)
    return out


def exclusion_advice(root: str | Path, problems: list[Problem]) -> str | None:
    """For the problems a params file's `exclude` could resolve (an impossible timeline), the entry that would
    leave those rows out, as one line to paste; None when there is none."""
    rows: dict[str, list[int]] = {}
    for p in problems:
        if p.line is not None and not p.more and p.message.endswith(EXCLUDABLE):
            rows.setdefault(table_key(root, p.file), []).append(p.line)
    if not rows:
        return None
    entry = ", ".join(f"{key}: [{', '.join(map(str, sorted(set(lines))))}]" for key, lines in rows.items())
    return (f"to leave the rows with an impossible timeline out instead of correcting them, add to the params file: "
            f"exclude: {{{entry}}} (the build then lists them in its log)")
