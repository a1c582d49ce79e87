"""The loader at registry size: tables past the documented limits refused in one line before
their rows are read; progress on long runs; a day column of dates said once; days computed from
dates named by their date column and shown as written; the same result whatever the chunk size;
and (marked slow) a million lab rows validated in bounded memory (ten million: make bench)."""
from __future__ import annotations

import copy
import datetime as dt
import io
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from helpers import cli
from helpers.cohort import data
from helpers.cohort.data import DataError, load

LABS_HEADER = "patient_id,day,upcr_g_g,creatinine_mg_dl,egfr,albumin_g_dl,c3_mg_dl,c4_mg_dl,anti_dsdna_iu_ml"
START = {"P01": "2019-11-07", "P02": "2020-01-31", "P03": "2021-06-01"}   # baseline dates of the valid cohort


def problems(folder: Path) -> list[data.Problem]:
    with pytest.raises(DataError) as info:
        load(folder)
    return info.value.problems


def short(problem: data.Problem) -> str:
    """A problem as printed, without the folder."""
    return str(problem)[len(str(Path(problem.file).parent)) + 1:]


def of(listed: list[data.Problem], name: str) -> list[str]:
    """The problems of one file, as printed but without the folder."""
    return [short(p) for p in listed if Path(p.file).name == name]


def set_cell(folder: Path, name: str, line: int, column: str, value: str) -> None:
    lines = (folder / name).read_text(encoding="utf-8").split("\n")
    cells = lines[line - 1].split(",")
    cells[lines[0].split(",").index(column)] = value
    lines[line - 1] = ",".join(cells)
    (folder / name).write_text("\n".join(lines), encoding="utf-8", newline="")


def with_dates(folder: Path) -> None:
    """The valid cohort with baseline dates, and dates instead of day numbers."""
    def date(pid: str, day: str) -> str:
        return (dt.date.fromisoformat(START[pid]) + dt.timedelta(days=int(day))).isoformat()
    patients = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    patients["baseline_date"] = patients["patient_id"].map(START)
    patients["last_followup_date"] = [date(p, d) for p, d in zip(patients["patient_id"],
                                                                   patients.pop("last_followup_day"))]
    patients.to_csv(folder / "patients.csv", index=False, lineterminator="\n")
    for name in ("labs.csv", "events.csv"):
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        frame.insert(1, "date", [date(p, d) for p, d in zip(frame["patient_id"], frame.pop("day"))])
        frame.to_csv(folder / name, index=False, lineterminator="\n")


# --------------------------------------------------------------------------- limits

def test_a_csv_table_past_the_row_limit_is_one_line_before_its_rows_are_read(valid_cohort, monkeypatch, capsys):
    monkeypatch.setattr(data, "MAX_ROWS", 5)
    set_cell(valid_cohort, "labs.csv", 3, "upcr_g_g", "abc")          # not read, so not reported
    set_cell(valid_cohort, "patients.csv", 2, "age", "old")            # the other files are still checked
    assert of(problems(valid_cohort), "labs.csv") == [
        "labs.csv: has 6 lines after its header; the loader reads at most 5 rows per table: split the cohort "
        "into one folder per study, each within the limit"]
    assert cli.main(["validate", str(valid_cohort)]) == 2
    err = capsys.readouterr().err
    assert f"{valid_cohort}: 2 problem(s):" in err and err.count("labs.csv") == 1


def test_a_parquet_table_past_the_row_limit_is_refused_from_its_metadata(valid_cohort, monkeypatch):
    frame = pd.read_csv(valid_cohort / "labs.csv", dtype=str, keep_default_na=False)
    (valid_cohort / "labs.csv").unlink()
    frame.to_parquet(valid_cohort / "labs.parquet", index=False)
    monkeypatch.setattr(data, "MAX_ROWS", 5)
    assert of(problems(valid_cohort), "labs.parquet") == [
        "labs.parquet: has 6 rows; the loader reads at most 5 rows per table: split the cohort into one folder "
        "per study, each within the limit"]


def test_a_file_past_the_size_limit_is_refused_before_it_is_read(valid_cohort, monkeypatch):
    size = (valid_cohort / "labs.csv").stat().st_size
    monkeypatch.setattr(data, "MAX_FILE_BYTES", 100)
    assert f"labs.csv: is {size:,} bytes; the loader reads files of at most 100 bytes: save the table as Parquet " \
           "(smaller), or split the cohort into one folder per study" in of(problems(valid_cohort), "labs.csv")


def test_an_excel_sheet_past_the_cell_limit_is_refused_before_it_is_read(valid_cohort, monkeypatch):
    frame = pd.read_csv(valid_cohort / "labs.csv", dtype=str, keep_default_na=False)
    (valid_cohort / "labs.csv").unlink()
    frame.to_excel(valid_cohort / "labs.xlsx", index=False)              # 7 rows of 9 cells
    monkeypatch.setattr(data, "MAX_XLSX_CELLS", 62)
    assert of(problems(valid_cohort), "labs.xlsx") == [
        "labs.xlsx: has 63 cells; the loader reads Excel sheets of at most 62 cells: save the sheet as CSV "
        "(UTF-8) or Parquet"]
    monkeypatch.setattr(data, "MAX_XLSX_CELLS", 63)
    assert len(load(valid_cohort).labs) == 6


def test_an_excel_sheet_laid_out_otherwise_is_counted_while_it_is_read(valid_cohort, monkeypatch):
    """Cells written as <x:c> are not counted before reading (0): reading counts them."""
    frame = pd.read_csv(valid_cohort / "labs.csv", dtype=str, keep_default_na=False)
    frame.to_excel(valid_cohort / "plain.xlsx", index=False)
    with zipfile.ZipFile(valid_cohort / "plain.xlsx") as plain, \
            zipfile.ZipFile(valid_cohort / "labs.xlsx", "w") as prefixed:
        for item in plain.infolist():
            content = plain.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(b"<c ", b"<x:c ").replace(b"</c>", b"</x:c>").replace(
                    b"<worksheet ", b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ')
            prefixed.writestr(item, content)
    (valid_cohort / "plain.xlsx").unlink()
    (valid_cohort / "labs.csv").unlink()
    assert data._sheet_cells(valid_cohort / "labs.xlsx") == 0 and len(load(valid_cohort).labs) == 6
    monkeypatch.setattr(data, "MAX_XLSX_CELLS", 59)
    monkeypatch.setattr(data, "CHUNK_ROWS", 2)
    assert of(problems(valid_cohort), "labs.xlsx") == [
        "labs.xlsx: has more than 59 cells (counted while reading); the loader reads Excel sheets of at most 59 "
        "cells: save the sheet as CSV (UTF-8) or Parquet"]


def test_validate_help_names_the_formats_and_the_limits():
    out = subprocess.run([sys.executable, "-m", "helpers", "validate", "--help"], capture_output=True, text=True)
    text = " ".join(out.stdout.split())
    assert data.MAX_FILE_BYTES == 2_000_000_000
    for words in ("a CSV file (UTF-8), an Excel workbook (.xlsx, first sheet) or a Parquet file", "over 2 GB",
                  f"over {data.MAX_ROWS:,} rows", f"over {data.MAX_XLSX_CELLS:,} cells", "progress"):
        assert words in text, words


# --------------------------------------------------------------------------- progress

class Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_on_a_terminal_is_one_line_rewritten_after_a_few_seconds():
    now, stream = [0.0], Stream(tty=True)
    progress = cli.Progress(stream, clock=lambda: now[0])
    progress("/data/site/labs.csv", 10, 100, "lines")
    assert stream.getvalue() == ""                                       # a short run shows nothing
    for now[0], done in ((4, 50), (4.1, 60), (5, 100)):                  # 4.1: too soon to redraw
        progress("/data/site/labs.csv", done, 100, "lines")
    progress.clear()
    assert stream.getvalue() == ("\rvalidating site/labs.csv: 50 of 100 lines (50%)\033[K"
                                 "\rvalidating site/labs.csv: 100 of 100 lines (100%)\033[K\r\033[K")


def test_progress_elsewhere_is_a_plain_line_now_and_then():
    now, stream = [0.0], Stream(tty=False)
    progress = cli.Progress(stream, clock=lambda: now[0])
    for now[0], done in ((1, 5), (4, 50), (20, 60), (40, 90)):
        progress("/data/site/labs.xlsx", done, None, "rows")
    progress.clear()
    assert stream.getvalue() == "validating site/labs.xlsx: 50 rows\nvalidating site/labs.xlsx: 90 rows\n"


def test_a_short_validate_writes_nothing_on_stderr(valid_cohort):
    out = subprocess.run([sys.executable, "-m", "helpers", "validate", str(valid_cohort)], capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stderr == ""


def test_load_tells_progress_how_far_it_is(valid_cohort, monkeypatch):
    monkeypatch.setattr(data, "CHUNK_ROWS", 4)
    told = []
    load(valid_cohort, progress=lambda *args: told.append((Path(args[0]).name, *args[1:])))
    assert ("labs.csv", 5, 7, "lines") in told and ("labs.csv", 7, 7, "lines") in told


# --------------------------------------------------------------------------- days and dates

def test_a_day_column_of_dates_is_one_problem_pointing_to_the_date_column(valid_cohort):
    lines = (valid_cohort / "labs.csv").read_text(encoding="utf-8").splitlines()
    for i in range(1, len(lines)):
        cells = lines[i].split(",")
        cells[1] = (dt.date.fromisoformat(START[cells[0]]) + dt.timedelta(days=int(cells[1]))).isoformat()
        lines[i] = ",".join(cells)
    (valid_cohort / "labs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    set_cell(valid_cohort, "patients.csv", 3, "last_followup_day", "2021-03-04")
    listed = problems(valid_cohort)
    assert of(listed, "labs.csv") == [
        "labs.csv, line 2, column 'day': '2019-11-07' is not a whole number from 0 to 20000 (days since baseline): "
        "it is a date, as are 5 more cells of this column (the last on line 7); give dates in a column named "
        "'date' instead (days are counted from the patient's baseline_date, a column of patients; see the data "
        "dictionary)"]
    assert of(listed, "patients.csv") == [
        "patients.csv, line 3, column 'last_followup_day': '2021-03-04' is not a whole number from 0 to 20000 "
        "(days since baseline): it is a date; give dates in a column named 'last_followup_date' instead (days are "
        "counted from the patient's baseline_date, a column of patients; see the data dictionary)"]


def test_a_day_from_a_date_out_of_range_is_named_by_its_date(valid_cohort):
    with_dates(valid_cohort)
    set_cell(valid_cohort, "labs.csv", 3, "date", "2080-01-01")
    assert of(problems(valid_cohort), "labs.csv") == [
        "labs.csv, line 3, column 'date': '2080-01-01' is day 21970 since the patient's baseline_date; expected "
        "a whole number from 0 to 20000 (days since baseline)"]


def test_a_visit_after_follow_up_or_death_is_named_by_its_date(valid_cohort):
    with_dates(valid_cohort)
    set_cell(valid_cohort, "labs.csv", 4, "date", "2021-01-01")                    # P01: follow-up ends 2020-11-06
    with open(valid_cohort / "events.csv", "a", encoding="utf-8") as events:
        events.write("P02,2020-03-15,death,\n")                                     # P02 has labs on 2020-04-30
    assert [short(p) for p in problems(valid_cohort)] == [
        "patients.csv, line 3, column 'last_followup_date': 2021-03-06 is after the patient's death (2020-03-15): "
        "correct one of the two dates, or end the follow-up at the death with the params file's `exclude`",
        "labs.csv, line 4, column 'date': 2021-01-01 is after the patient's last_followup_date (2020-11-06): "
        "correct the date or the patient's last follow-up, or leave this row out with the params file's `exclude`",
        "labs.csv, line 6, column 'date': 2020-04-30 is after the patient's death (2020-03-15): correct the date or "
        "the death's, or leave this row out with the params file's `exclude`"]


def test_days_beside_dates_say_each_as_written(valid_cohort):
    """Labs in day numbers, patients with a last_followup_date."""
    with_dates(valid_cohort)
    labs = ["P01,0,3.2,1.1,72,2.9,60,8,400", "P01,400,1.1,0.9,88,3.5,80,14,120"]
    (valid_cohort / "labs.csv").write_text("\n".join([LABS_HEADER, *labs]) + "\n", encoding="utf-8")
    (valid_cohort / "events.csv").write_text("patient_id,day,event,category\n", encoding="utf-8")
    assert [short(p) for p in problems(valid_cohort)] == [
        "labs.csv, line 3, column 'day': day 400 is after the patient's last_followup_date (2020-11-06): correct the "
        "date or the patient's last follow-up, or leave this row out with the params file's `exclude`"]


def test_a_visit_given_twice_is_named_by_its_date(valid_cohort):
    with_dates(valid_cohort)
    set_cell(valid_cohort, "labs.csv", 3, "date", "2019-11-07")
    assert of(problems(valid_cohort), "labs.csv") == [
        f"labs.csv, line {line}, column 'patient_id, date': duplicate patient_id + date: each must appear once"
        for line in (2, 3)]


def test_an_empty_date_is_said_of_the_date_column_only(valid_cohort):
    with_dates(valid_cohort)
    set_cell(valid_cohort, "labs.csv", 3, "date", "")
    assert of(problems(valid_cohort), "labs.csv") == [
        "labs.csv, line 3, column 'date': is empty; expected a date (YYYY-MM-DD)"]


# --------------------------------------------------------------------------- chunks

def test_chunks_of_two_rows_and_blocks_of_five_bytes_read_the_same(valid_cohort, monkeypatch):
    events = ('patient_id,day,event,category\r\nP01,150,renal_flare,\r\n\r\n'
              'P02,30,adverse_event,"line\r\nbreak"\r\n , ,\t, \r\nP02,31,adverse_event,"é\nü\rö"\r\n')
    (valid_cohort / "events.csv").write_bytes(events.encode("utf-8"))
    broken = [short(p) for p in problems(valid_cohort)]   # a line break inside a text cell is refused, where it starts
    assert [b.split(":")[0] for b in broken] == ["events.csv, line 4, column 'category'",
                                                 "events.csv, line 7, column 'category'"]
    single = events.replace("line\r\nbreak", "line break").replace("é\nü\rö", "éüö")
    (valid_cohort / "events.csv").write_bytes(single.encode("utf-8"))
    expected = load(valid_cohort)
    assert expected.events.attrs["lines"] == [2, 4, 6]
    monkeypatch.setattr(data, "CHUNK_ROWS", 2)
    monkeypatch.setattr(data, "BLOCK_BYTES", 5)
    again = load(valid_cohort)
    for name in ("patients", "labs", "events"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(expected, name))
        assert getattr(again, name).attrs == getattr(expected, name).attrs
    (valid_cohort / "events.csv").write_bytes(events.encode("utf-8"))
    assert [short(p) for p in problems(valid_cohort)] == broken
    (valid_cohort / "events.csv").write_bytes(single.replace(",31,", ",soon,").encode("utf-8"))
    assert [short(p) for p in problems(valid_cohort)] == [
        "events.csv, line 6, column 'day': 'soon' is not a whole number from 0 to 20000 (days since baseline)"]


def test_past_the_listed_problems_of_a_column_one_line_counts_the_rest(valid_cohort, monkeypatch):
    monkeypatch.setattr(data, "MAX_PROBLEMS_LISTED", 2)
    for line in range(2, 8):
        set_cell(valid_cohort, "labs.csv", line, "upcr_g_g", "x")
    assert of(problems(valid_cohort), "labs.csv") == [
        "labs.csv, line 2, column 'upcr_g_g': 'x' is not a number from 0 to 50 (g/g)",
        "labs.csv, line 3, column 'upcr_g_g': 'x' is not a number from 0 to 50 (g/g)",
        "labs.csv, line 4, column 'upcr_g_g': and 4 more problems in this column from this line on (the last on "
        "line 7), not listed one by one"]
    with pytest.raises(DataError) as info:
        load(valid_cohort)
    assert info.value.count == 6 and len(info.value.problems) == 3
    monkeypatch.setattr(data, "MAX_PROBLEMS_SHOWN", 1)
    assert str(DataError(info.value.problems)).endswith("... and 5 more problems")


def test_lines_are_shared_by_every_frame_derived_from_a_table(valid_cohort):
    labs = load(valid_cohort).labs
    lines = labs.attrs["lines"]
    assert lines == [2, 3, 4, 5, 6, 7] and list(lines) == [2, 3, 4, 5, 6, 7] and lines[1] == 3
    assert labs[labs["day"] > 0].attrs["lines"] is lines and copy.deepcopy(labs).attrs["lines"] is lines


# --------------------------------------------------------------------------- Excel and Parquet cells

def test_excel_cells_read_as_pandas_read_them(tmp_path):
    """Each cell's text is the one pandas.read_excel gave the loader before (its missing-value texts,
    an error cell, whole floats, dates with and without a time)."""
    file = tmp_path / "labs.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(LABS_HEADER.split(","))
    values = [3.0, 2.5, 7, " 7 ", "NA", "n/a", "None", "null", "nan", "", None, True, "#N/A",
              dt.datetime(2020, 1, 2), dt.datetime(2020, 1, 2, 10, 30), dt.date(2021, 3, 4), "1e3", "x y", 1e300]
    for i in range(0, len(values), 7):
        sheet.append(["P01", i, *values[i:i + 7]])
    sheet.append([])
    sheet.append([None, None, "lonely"])
    book.save(file)
    frame = pd.read_excel(file, sheet_name=0, dtype=object, header=None, engine="openpyxl")
    texts = [[data._text(v) for v in row] for row in frame.iloc[1:].itertuples(index=False)]   # as _read did
    expected = {2 + i: row for i, row in enumerate(texts) if any(row)}
    source = data._XlsxFile(file)
    chunk, = source.chunks(list(range(9)))
    got = {int(line): [chunk.columns[p][i].as_py() for p in range(9)] for i, line in enumerate(chunk.lines)}
    assert source.header == LABS_HEADER.split(",") and got == expected and list(got) == [2, 3, 4, 6]


def test_a_missing_value_in_a_parquet_integer_column_is_missing(valid_cohort):
    """pandas writes a whole-number column with a missing value as Int64; the old loader read the
    missing value back as the text '<NA>' and refused it."""
    frame = pd.read_csv(valid_cohort / "labs.csv")
    frame["c3_mg_dl"] = frame["c3_mg_dl"].astype("Int64")
    (valid_cohort / "labs.csv").unlink()
    frame.to_parquet(valid_cohort / "labs.parquet", index=False)
    assert load(valid_cohort).labs["c3_mg_dl"].isna().tolist() == [False] * 4 + [True, False]


# --------------------------------------------------------------------------- a million rows

LIMIT = int(2 * 2**30)   # address space: see the test


@pytest.mark.slow
def test_a_million_lab_rows_validate_in_bounded_memory(tmp_path):
    """`validate` on 10^6 lab rows (45 MB of CSV) in a process whose address space is limited
    (RLIMIT_AS), its peak resident memory under the 500 MB of the registry-scale target. Address space
    is not memory: pyarrow's allocator reserves a 1 GiB arena at its first use and the imports take
    ~0.4 GB more. The 10^7-row figure (target 2 GB, 60 s) is `make bench`'s (bench/bench_validate.py),
    not a test's: it takes 45 s."""
    from bench_validate import write_cohort
    folder = write_cohort(tmp_path / "cohort", 10**6)
    report = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=__import__('sys').stderr)"
    code = f"from helpers.cli import main\ncode = main(['validate', {str(folder)!r}])\n{report}\nraise SystemExit(code)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT)))
    assert out.returncode == 0, out.stderr[-3000:]
    assert "valid: 100000 patients, 1000000 lab rows, 10000 events" in out.stdout, out.stdout
    peak_mb = int(out.stderr.split()[-1]) / 1024
    assert peak_mb < 500, f"peak resident memory {peak_mb:,.0f} MB"
