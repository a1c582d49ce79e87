"""Load and validate a cohort folder (patients.csv, labs.csv, events.csv).

`load(path)` returns a `Cohort` or raises `DataError`, whose message names the
file, the line (as a text editor counts them: the header is line 1), the
column and what was expected. Inputs are only read, never written.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.errors

from . import schema

MAX_LINE_CHARS = 10_000
MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None  # 1-based line in the file; None for whole-file problems
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
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


def load(path: str | Path) -> Cohort:
    """Read and validate the cohort folder at `path`."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError([Problem(str(folder), None, None, "is not a folder with patients.csv, labs.csv, events.csv")])
    frames, problems = {}, []
    for name in schema.FILES:
        try:
            frames[name] = read_table(folder / name)
        except DataError as err:
            problems.extend(err.problems)
    if problems:
        raise DataError(problems)
    problems = _cross_checks(folder, frames)
    if problems:
        raise DataError(problems)
    return Cohort(frames["patients.csv"], frames["labs.csv"], frames["events.csv"], folder)


def read_table(file: Path) -> pd.DataFrame:
    """Read one CSV of the format (its name says which), checked cell by cell."""
    fields = schema.FILES[file.name]
    rows, lines = _read_rows(file, fields)
    frame = _typed_frame(file, fields, rows, lines)
    _validate(file, frame, lines)
    frame.attrs["lines"] = lines  # line number in the file of each row, for later messages
    return frame


def _read_rows(file: Path, fields) -> tuple[list[list[str]], list[int]]:
    label = str(file)
    if not file.is_file():
        raise DataError([Problem(label, None, None, "file not found")])
    raw = file.read_bytes()
    if not raw.strip():
        raise DataError([Problem(label, None, None, "file is empty; expected a header line: "
                                 + ",".join(f.name for f in fields))])
    if raw.startswith(b"\xef\xbb\xbf"):
        raise DataError([Problem(label, 1, None, "starts with a byte-order mark (BOM); save as UTF-8 without BOM")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError([Problem(label, line, None,
                                 f"byte 0x{raw[err.start]:02x} is not UTF-8; save the file as UTF-8")]) from None
    for number, line_text in enumerate(text.splitlines(), 1):
        if len(line_text) > MAX_LINE_CHARS:
            raise DataError([Problem(label, number, None,
                                     f"line is {len(line_text):,} characters long (at most {MAX_LINE_CHARS:,})")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        expected = [f.name for f in fields]
        header_problems = _check_header(label, header, expected)
        if header_problems:
            raise DataError(header_problems)
        rows, lines, problems = [], [], []
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue  # blank line
            if len(row) != len(header):
                problems.append(Problem(label, reader.line_num, None,
                                        f"has {len(row)} fields, expected {len(header)} ({','.join(header)});"
                                        " the line may be truncated or have a stray comma"))
                continue
            rows.append([row[header.index(name)].strip() for name in expected])
            lines.append(reader.line_num)
    except csv.Error as err:
        raise DataError([Problem(label, reader.line_num, None, f"is not valid CSV ({err})")]) from None
    if problems:
        raise DataError(problems)
    return rows, lines


def _check_header(label: str, header: list[str], expected: list[str]) -> list[Problem]:
    names = [h.strip() for h in header]
    problems = []
    missing = [n for n in expected if n not in names]
    extra = [n for n in names if n not in expected]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if missing:
        problems.append(Problem(label, 1, ", ".join(missing), "required column missing; expected columns: "
                                + ",".join(expected)))
    if extra:
        problems.append(Problem(label, 1, ", ".join(extra), "unknown column; expected columns: "
                                + ",".join(expected)))
    if duplicated:
        problems.append(Problem(label, 1, ", ".join(duplicated), "column appears more than once"))
    if not problems and header != names:
        header[:] = names
    return problems


def _parse(cell: str, kind: str):
    if cell == "":
        return None
    if kind == "str":
        return cell
    if kind == "int":
        number = float(cell)  # accepts "12" and "12.0"; "12.5" is rejected below
        if not number.is_integer() or abs(number) >= 2**63:  # beyond Int64: "1e30" would crash pandas
            raise ValueError
        return int(number)
    number = float(cell)
    if not math.isfinite(number):
        raise ValueError
    return number


def _typed_frame(file: Path, fields, rows, lines) -> pd.DataFrame:
    label = str(file)
    problems, columns = [], {}
    for j, f in enumerate(fields):
        values = []
        for row, line in zip(rows, lines):
            cell = row[j]
            try:
                value = _parse(cell, f.kind)
            except ValueError:
                problems.append(Problem(label, line, f.name, f"'{_short(cell)}' is not {f.expected()}"))
                value = None
            if value is None and f.required and cell == "":
                problems.append(Problem(label, line, f.name, f"is empty; expected {f.expected()}"))
            values.append(value)
        dtype = {"str": "object", "int": "Int64", "float": "float64"}[f.kind]
        columns[f.name] = pd.Series(values, dtype=dtype) if f.kind != "float" else pd.Series(
            [math.nan if v is None else v for v in values], dtype=dtype)
    if problems:
        raise DataError(problems)
    frame = pd.DataFrame(columns)
    if frame.empty and file.name != "events.csv":  # a cohort may have no events; never no patients or labs
        raise DataError([Problem(label, None, None, "has a header but no data rows")])
    return frame


def _validate(file: Path, frame: pd.DataFrame, lines: list[int]) -> None:
    try:
        schema.dataframe_schema(file.name).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as err:
        fields = {f.name: f for f in schema.FILES[file.name]}
        problems = []
        cases = err.failure_cases
        for case in cases.itertuples(index=False):
            index = case.index
            line = lines[int(index)] if index is not None and not pd.isna(index) else None
            column = case.column if isinstance(case.column, str) else None
            check = str(case.check)
            if check.startswith("field_uniqueness") or check.startswith("multiple_fields_uniqueness") \
                    or "duplicate" in check:
                keys = schema.KEYS[file.name]
                message = f"duplicate {' + '.join(keys)}: each must appear once"
                column = ", ".join(keys)
            elif column in fields:
                message = f"'{_short(str(case.failure_case))}' is not {fields[column].expected()}"
            else:
                message = f"failed check {check}: {case.failure_case}"
            problems.append(Problem(str(file), line, column, message))
        # one message per (line, column): pandera may report a row once per failed check
        unique = list(dict.fromkeys(problems))
        unique.sort(key=lambda p: (p.line or 0, p.column or ""))
        raise DataError(unique) from None


def _cross_checks(folder: Path, frames: dict[str, pd.DataFrame]) -> list[Problem]:
    patients, labs, events = frames["patients.csv"], frames["labs.csv"], frames["events.csv"]
    known = set(patients["patient_id"])
    followup = dict(zip(patients["patient_id"], patients["last_followup_day"]))
    problems = []
    for name, frame in (("labs.csv", labs), ("events.csv", events)):
        label = str(folder / name)
        for line, pid, day in zip(frame.attrs["lines"], frame["patient_id"], frame["day"]):
            if pid not in known:
                problems.append(Problem(label, line, "patient_id",
                                        f"patient '{_short(pid)}' is not in patients.csv"))
            elif day > followup[pid]:
                problems.append(Problem(label, line, "day",
                                        f"day {day} is after the patient's last_followup_day ({followup[pid]})"))
    ae = events["event"] == "adverse_event"
    for i in events.index[ae & events["category"].isna()]:
        problems.append(Problem(str(folder / "events.csv"), events.attrs["lines"][i], "category",
                                "is empty; an adverse_event needs its category"))
    return problems


def _short(text: str, limit: int = 40) -> str:
    # show invisible characters (NUL, tab, ...) escaped, so the message says what is in the cell
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
    return text if len(text) <= limit else text[:limit] + "..."


def cohort_folders(path: str | Path) -> list[Path]:
    """The cohort folders under `path`: itself when it holds patients.csv, else its sub-folders that do."""
    folder = Path(path)
    if (folder / "patients.csv").exists():
        return [folder]
    return sorted(p for p in folder.iterdir() if (p / "patients.csv").exists()) if folder.is_dir() else []


def validate_tree(path: str | Path) -> list[Path]:
    """Load every cohort folder under `path`; DataError lists the problems of all of them."""
    folders = cohort_folders(path)
    if not folders:
        raise DataError([Problem(str(path), None, None, "holds no cohort folder (patients.csv, labs.csv, events.csv)")])
    problems = []
    for folder in folders:
        try:
            load(folder)
        except DataError as err:
            problems.extend(err.problems)
    if problems:
        raise DataError(problems)
    return folders
