"""Load and validate a cohort folder (patients, labs, events).

`load(path)` returns a `Cohort` or raises `DataError`, whose message names the file, the line
(in a spreadsheet, its row), the column and what was expected, for every problem found in one
pass (the first MAX_PROBLEMS_SHOWN shown).

Each table is a CSV (UTF-8), an Excel workbook (.xlsx, first sheet, read with openpyxl) or a
Parquet file (pyarrow). Days may be given as ISO dates instead (`date`, `last_followup_date`),
converted to days since the patient's `baseline_date`. Columns the format does not use are kept
out of the analysis and reported as notes, not rejected. Inputs are only read, never written.

Lines of a CSV file are counted as the csv module reads them: a line ends at \n, \r\n or \r,
never at the other characters str.splitlines() breaks at (U+2028, U+2029, U+0085, \v, \f,
\x1c-\x1e), which stay inside their field. The header is line 1; a row is named by the line it
starts on (a quoted field may hold a line break, so a row may span several lines).

Cells are trimmed of spaces and tabs only; any other character around a value (a no-break
space, a line separator) stays in it and is reported. A number is written in ASCII: an
optional sign, digits 0-9, optionally a point followed by digits ("0.5", ".5"; not "5."),
optionally an exponent ("1e3", "2.5E-2"). Refused, like a decimal comma: digit grouping
("1,200", "1_200", "1 200"), other digits ("１２", "٣"), other minus signs ("−3"), "nan",
"inf", hexadecimal. A whole number may be written "12.0" or "1.2e1", not "12.5". An empty
cell is a missing value.

A CSV file may end without a final newline. If its last line then has fewer fields than the
header, the file looks cut off, and the problem names that line. A file cut right after a
complete field (a last value "800" cut to "80", a last row cut after a comma) cannot be told
from a complete one: it loads, with a note that the file ends without a final newline.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.errors

from . import published, schema
from .paths import PUBLISHED_DIR

MAX_LINE_CHARS = 10_000
MAX_PROBLEMS_SHOWN = 50
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]+)?|\.[0-9]+)([eE][+-]?[0-9]+)?")   # ASCII only: see the docstring
LINE_END = re.compile(r"\r\n|\r|\n")   # as the csv module ends lines (not U+2028 and the like)
BLANKS = " \t"   # what a cell is trimmed of


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # 1-based line (CSV) or row (spreadsheet) in the file; None for whole-file problems
    column: str | None
    message: str
    unit: str = "line"

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", {self.unit} {self.line}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class DataError(ValueError):
    """The cohort is malformed; `problems` lists every finding."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            lines.append(f"... and {len(self.problems) - MAX_PROBLEMS_SHOWN} more problems")
        super().__init__("\n".join(lines))


@dataclass
class Cohort:
    patients: pd.DataFrame
    labs: pd.DataFrame
    events: pd.DataFrame
    path: Path | None = field(default=None, compare=False)
    notes: list[str] = field(default_factory=list, compare=False)   # columns not used, and the like


@dataclass
class _Raw:
    """One table as read: its header, its rows as text, and where each row stands in the file."""
    label: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    unit: str = "line"
    note: str | None = None   # said to the reader, not an error (e.g. no final newline)


def load(path: str | Path) -> Cohort:
    """Read and validate the cohort folder at `path`."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError([Problem(str(folder), None, None, "is not a folder with patients.csv, labs.csv, events.csv "
                                 "(or .xlsx, .parquet)")])
    problems, notes, raws = [], [], {}
    for name in schema.FILES:
        try:
            raws[name] = _read(_locate(folder, name))
        except DataError as err:
            problems.extend(err.problems)
    baseline_dates, frames = {}, {}
    for name in schema.FILES:             # patients first: the other tables' dates need its baseline dates
        if name not in raws:
            continue
        raw = raws[name]
        found, used, unused = _columns(raw, name)
        problems += found
        if raw.note:
            notes.append(f"{raw.label}: {raw.note}")
        if unused:
            notes.append(f"{raw.label}: column(s) {', '.join(unused)} not used by the analysis")
        if found:
            continue
        rows = [[row[used[f.name]] if used.get(f.name) is not None else "" for f in schema.FILES[name]]
                for row in raw.rows]
        problems += _dates_to_days(raw, name, used, rows, baseline_dates)
        frame, found = _typed_frame(raw, schema.FILES[name], rows)
        problems += found
        if frame is None:
            continue
        found = _validate(raw, name, frame, rows)
        problems += found
        if not found:
            frame.attrs["lines"], frame.attrs["unit"], frame.attrs["label"] = raw.lines, raw.unit, raw.label
            frames[name] = frame
    if len(frames) == len(schema.FILES):
        problems += _cross_checks(frames)
    if problems:
        raise DataError(problems)
    return Cohort(frames["patients.csv"], frames["labs.csv"], frames["events.csv"], folder, notes)


def read_table(file: Path) -> pd.DataFrame:
    """Read one table of the format on its own (its name says which), checked cell by cell."""
    name = Path(file).stem + ".csv"
    raw = _read(Path(file))
    found, used, _ = _columns(raw, name)
    if found:
        raise DataError(found)
    rows = [[row[used[f.name]] if used.get(f.name) is not None else "" for f in schema.FILES[name]]
            for row in raw.rows]
    found = _dates_to_days(raw, name, used, rows, {})   # a table alone: only its own baseline dates
    frame, typed = _typed_frame(raw, schema.FILES[name], rows)
    found += typed + (_validate(raw, name, frame, rows) if frame is not None else [])
    if found:
        raise DataError(found)
    frame.attrs["lines"] = raw.lines
    return frame


def read_patients(folder: str | Path) -> pd.DataFrame:
    """The patients table of a cohort folder alone (who is in it), without reading labs or events."""
    return read_table(_locate(Path(folder), "patients.csv"))


# --- finding and reading the files -------------------------------------------------------------

def _locate(folder: Path, name: str) -> Path:
    """The one file that holds table `name` in `folder` (as .csv, .xlsx or .parquet)."""
    stem = Path(name).stem
    candidates = [folder / f"{stem}{ext}" for ext in schema.FORMATS]
    present = [c for c in candidates if c.exists() or c.is_symlink()]
    if not present:
        raise DataError([Problem(str(folder / name), None, None,
                                 f"file not found (nor {stem}.xlsx, {stem}.parquet)")])
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
        return Problem(str(path), None, None, "is a link to a file that does not exist")
    if not path.is_file():
        return Problem(str(path), None, None, "is not a regular file (a pipe, socket or device); save the table "
                                              "as a file")
    return None


def _read(file: Path) -> _Raw:
    problem = _not_a_file(file)
    if problem is not None:
        raise DataError([problem])
    if file.suffix == ".csv":
        return _read_csv(file)
    try:
        frame = (pd.read_excel(file, sheet_name=0, dtype=object, header=None, engine="openpyxl")
                 if file.suffix == ".xlsx" else pd.read_parquet(file))
    except Exception as err:  # noqa: BLE001 - any reader failure is the file's problem, said in words
        raise DataError([Problem(str(file), None, None, f"cannot be read as {file.suffix[1:]}: "
                                 f"{type(err).__name__}: {_short(str(err), 120)}")]) from None
    if file.suffix == ".xlsx":
        if frame.empty:
            raise DataError([Problem(str(file), None, None, "the first sheet is empty")])
        header, body, first = [_text(v) for v in frame.iloc[0]], frame.iloc[1:], 2
    else:
        header, body, first = [str(c) for c in frame.columns], frame, 2
    rows, lines = [], []
    for i, values in enumerate(body.itertuples(index=False)):
        cells = [_text(v) for v in values]
        if any(cells):
            rows.append(cells)
            lines.append(first + i)
    return _Raw(str(file), header, rows, lines, "row")


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


def _read_csv(file: Path) -> _Raw:
    label = str(file)
    try:
        raw = file.read_bytes()
    except OSError as err:
        raise DataError([Problem(label, None, None, f"cannot be read: {err.strerror}")]) from None
    if not raw.strip():
        raise DataError([Problem(label, None, None, "file is empty; expected a header line: "
                                 + ",".join(f.name for f in schema.FILES[file.name]))])
    if raw.startswith(b"\xef\xbb\xbf"):
        raise DataError([Problem(label, 1, None, "starts with a byte-order mark (BOM); save as UTF-8 without BOM")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = len(LINE_END.split(raw[: err.start].decode("utf-8")))
        raise DataError([Problem(label, line, None,
                                 f"byte 0x{raw[err.start]:02x} is not UTF-8; save the file as UTF-8")]) from None
    for number, line_text in enumerate(LINE_END.split(text), 1):
        if len(line_text) > MAX_LINE_CHARS:
            raise DataError([Problem(label, number, None,
                                     f"line is {len(line_text):,} characters long (at most {MAX_LINE_CHARS:,})")])
    return _parse_csv(label, text)


def _parse_csv(label: str, text: str) -> _Raw:
    """The rows of a decoded CSV file, each with the line it starts on (see the module docstring)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    unterminated = not text.endswith(("\n", "\r"))
    last_line = len(LINE_END.split(text))
    rows, lines, problems = [], [], []
    start = 1   # the line the next row starts on
    try:
        header = [h.strip(BLANKS) for h in next(reader)]
        start = reader.line_num + 1
        duplicated = sorted({n for n in header if n and header.count(n) > 1})
        if duplicated:   # said before the rows, which would all seem to have a field too few
            raise DataError([Problem(label, 1, ", ".join(duplicated), "column appears more than once")])
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or all(not cell.strip(BLANKS) for cell in row):
                continue  # blank line
            if len(row) != len(header):
                cut = unterminated and len(row) < len(header) and reader.line_num == last_line
                problems.append(Problem(label, line, None, _field_count_message(row, header, cut)))
                continue
            rows.append([cell.strip(BLANKS) for cell in row])
            lines.append(line)
    except csv.Error as err:
        raise DataError([Problem(label, start, None, _csv_error_message(err, unterminated))]) from None
    if problems:
        raise DataError(problems)
    note = (f"ends without a final newline; its last row (line {lines[-1]}) has all its fields, but a last value "
            "cut short would look the same: check it against the source") if unterminated and rows else None
    return _Raw(label, header, rows, lines, note=note)


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


def _columns(raw: _Raw, name: str) -> tuple[list[Problem], dict[str, int | None], list[str]]:
    """(problems, {format column or its date alternative: position}, columns not used)."""
    expected = [f.name for f in schema.FILES[name]]
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
        if column in names:
            used[column] = names.index(column)
        elif column in dates and dates[column][0] in names:
            used[column] = None
            used[dates[column][0]] = names.index(dates[column][0])
        else:
            missing.append(column + (f" (or {dates[column][0]})" if column in dates else ""))
    for column in optional:
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


def _dates_to_days(raw: _Raw, name: str, used: dict, rows: list[list[str]], baseline: dict) -> list[Problem]:
    """Fill day columns from date columns (in place); record patients' baseline dates."""
    problems = []
    fields = [f.name for f in schema.FILES[name]]
    if name == "patients.csv" and schema.BASELINE_DATE.name in used:
        at = used[schema.BASELINE_DATE.name]
        for row, cells, line in zip(rows, raw.rows, raw.lines):
            text = cells[at]
            if text:
                day = _date(text)
                if day is None:
                    problems.append(Problem(raw.label, line, "baseline_date", f"'{_short(text)}' is not a date "
                                            "(YYYY-MM-DD)", raw.unit))
                else:
                    baseline[row[0]] = day
    for day_column, (date_column, _) in schema.DATE_COLUMNS.get(name, {}).items():
        if used.get(day_column) is not None or date_column not in used:
            continue
        j, at = fields.index(day_column), used[date_column]
        for row, cells, line in zip(rows, raw.rows, raw.lines):
            text, pid = cells[at], row[0]
            if not text:
                continue
            date = _date(text)
            if date is None:
                problems.append(Problem(raw.label, line, date_column, f"'{_short(text)}' is not a date (YYYY-MM-DD)",
                                        raw.unit))
            elif pid not in baseline:
                problems.append(Problem(raw.label, line, date_column, f"patient '{_short(pid)}' has no baseline_date "
                                        "in patients, so this date cannot be turned into a day", raw.unit))
            elif (date - baseline[pid]).days < 0:
                problems.append(Problem(raw.label, line, date_column, f"{text} is before the patient's baseline_date "
                                        f"({baseline[pid].isoformat()})", raw.unit))
            else:
                row[j] = str((date - baseline[pid]).days)
    return problems


def _date(text: str) -> dt.date | None:
    if not ISO_DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


# --- cells and checks --------------------------------------------------------------------------

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


def _typed_frame(raw: _Raw, fields, rows) -> tuple[pd.DataFrame | None, list[Problem]]:
    problems, columns = [], {}
    for j, f in enumerate(fields):
        values = []
        for row, line in zip(rows, raw.lines):
            cell = row[j]
            try:
                value = _parse(cell, f.kind)
            except ValueError:
                problems.append(Problem(raw.label, line, f.name, f"'{_short(cell)}' is not {f.expected()}"
                                        + _non_ascii(cell), raw.unit))
                value = None
            if value is None and f.required and cell == "":
                problems.append(Problem(raw.label, line, f.name, f"is empty; expected {f.expected()}", raw.unit))
            values.append(value)
        dtype = {"str": "object", "int": "Int64", "float": "float64"}[f.kind]
        columns[f.name] = pd.Series(values, dtype=dtype) if f.kind != "float" else pd.Series(
            [math.nan if v is None else v for v in values], dtype=dtype)
    if problems:
        return None, problems
    frame = pd.DataFrame(columns)
    if frame.empty and not raw.label.endswith(("events.csv", "events.xlsx", "events.parquet")):
        return None, [Problem(raw.label, None, None, "has a header but no data rows")]
    return frame, []


def _non_ascii(cell: str) -> str:
    """Names the non-ASCII characters of a cell that is not a number ("１２" looks like one)."""
    odd = list(dict.fromkeys(c for c in cell if not c.isascii()))
    if not odd:
        return ""
    names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in odd[:3])
    more = ", ..." if len(odd) > 3 else ""
    return f"; it holds non-ASCII characters ({names}{more}): a number is written with ASCII digits 0-9, - and ."


def _validate(raw: _Raw, name: str, frame: pd.DataFrame, rows: list[list[str]]) -> list[Problem]:
    """Checks of the schema (ranges, allowed values, keys); a value is shown as written in `rows`."""
    try:
        schema.dataframe_schema(name).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        fields = {f.name: f for f in schema.FILES[name]}
        positions = {f.name: j for j, f in enumerate(schema.FILES[name])}
        problems = []
        for case in err.failure_cases.itertuples(index=False):
            index = case.index
            line = raw.lines[int(index)] if index is not None and not pd.isna(index) else None
            column = case.column if isinstance(case.column, str) else None
            check = str(case.check)
            if check.startswith("field_uniqueness") or check.startswith("multiple_fields_uniqueness") \
                    or "duplicate" in check:
                keys = schema.KEYS[name]
                message = f"duplicate {' + '.join(keys)}: each must appear once"
                column = ", ".join(keys)
            elif column in fields:
                written = rows[int(index)][positions[column]] if line is not None else case.failure_case
                message = f"'{_short(str(written))}' is not {fields[column].expected()}"
            else:
                message = f"failed check {check}: {case.failure_case}"
            problems.append(Problem(raw.label, line, column, message, raw.unit))
        # one message per (line, column): pandera may report a row once per failed check
        unique = list(dict.fromkeys(problems))
        unique.sort(key=lambda p: (p.line or 0, p.column or ""))
        return unique
    return []


def _cross_checks(frames: dict[str, pd.DataFrame]) -> list[Problem]:
    """Across tables: known patients, nothing after the end of follow-up or after a death, adverse
    events with a category, and arms that belong to their study (when its study file names them)."""
    patients, labs, events = frames["patients.csv"], frames["labs.csv"], frames["events.csv"]
    known = set(patients["patient_id"])
    followup = dict(zip(patients["patient_id"], patients["last_followup_day"]))
    deaths = events[events["event"] == "death"].groupby("patient_id")["day"].min().to_dict()
    problems = []
    for frame in (labs, events):
        label, unit = frame.attrs["label"], frame.attrs["unit"]
        for line, pid, day in zip(frame.attrs["lines"], frame["patient_id"], frame["day"]):
            if pid not in known:
                problems.append(Problem(label, line, "patient_id", f"patient '{_short(pid)}' is not in "
                                        f"{Path(patients.attrs['label']).name}", unit))
            elif day > followup[pid]:
                problems.append(Problem(label, line, "day",
                                        f"day {day} is after the patient's last_followup_day ({followup[pid]})", unit))
            elif pid in deaths and day > deaths[pid]:
                problems.append(Problem(label, line, "day", f"day {day} is after the patient's death (day "
                                        f"{deaths[pid]})", unit))
    ae = events["event"] == "adverse_event"
    for i in events.index[ae & events["category"].isna()]:
        problems.append(Problem(events.attrs["label"], events.attrs["lines"][i], "category",
                                "is empty; an adverse_event needs its category", events.attrs["unit"]))
    problems += _arms_of_studies(patients)
    return problems


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


def cohort_folders(path: str | Path) -> list[Path]:
    """The cohort folders under `path`: itself when it holds a patients file, else its sub-folders that do."""
    folder = Path(path)

    def holds(f: Path) -> bool:
        return any((f / f"patients{ext}").exists() for ext in schema.FORMATS)
    if holds(folder):
        return [folder]
    return sorted(p for p in folder.iterdir() if holds(p)) if folder.is_dir() else []


def validate_tree(path: str | Path) -> list[Path]:
    """Load every cohort folder under `path`; DataError lists the problems of all of them."""
    folders = cohort_folders(path)
    if not folders:
        raise DataError([Problem(str(path), None, None, "holds no cohort folder (patients, labs, events files)")])
    problems = []
    for folder in folders:
        try:
            load(folder)
        except DataError as err:
            problems.extend(err.problems)
    if problems:
        raise DataError(problems)
    return folders
