"""Strict input: numbers in ASCII only, files cut short, a directory where a file should be, and
lines counted as the csv module counts them. Every refusal names the file, the line and the
column; `python -m helpers validate` exits 2; no input is ever written."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cohort.data import DataError, Problem, load, read_table

NOT_UPCR = "is not a number from 0 to 50 (g/g)"
NOT_DAY = "is not a whole number from 0 to 20000 (days since baseline)"
EVENTS_HEADER = "patient_id,day,event,category"


# --------------------------------------------------------------------------- helpers

def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def set_cell(folder: Path, name: str, line: int, column: str, value: str) -> None:
    """Put `value` (raw CSV text) in `column` of `line` (header = line 1) of a plain fixture file."""
    lines = (folder / name).read_text(encoding="utf-8").split("\n")
    cells = lines[line - 1].split(",")
    cells[lines[0].split(",").index(column)] = value
    lines[line - 1] = ",".join(cells)
    (folder / name).write_text("\n".join(lines), encoding="utf-8", newline="")


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_bytes(text.encode("utf-8"))


def problems(folder: Path) -> list[Problem]:
    """The problems `load` finds; the inputs are unchanged afterwards."""
    before = snapshot(folder)
    with pytest.raises(DataError) as info:
        load(folder)
    assert snapshot(folder) == before
    return info.value.problems


def found(folder: Path, name: str, line: int | None, column: str | None, phrase: str) -> Problem:
    """The one problem of `name` at `line` and `column` whose message holds `phrase`."""
    listed = problems(folder)
    matching = [p for p in listed if Path(p.file).name == name and p.line == line and p.column == column
                and phrase in p.message]
    assert matching, f"no {name}, line {line}, column {column}: ...{phrase}... in:\n" + "\n".join(map(str, listed))
    return matching[0]


# --------------------------------------------------------------------------- numbers

REFUSED = {   # cell as written -> as the message shows it
    "1_200": "1_200",                 # float() takes it
    "１２": "１２",                     # full-width digits: float() takes them
    "٣": "٣",                          # Arabic-Indic digit: float() takes it
    '"1,200"': "1,200",               # thousands comma, quoted so the field count is right
    "1 200": "1 200",
    "−3": "−3",                        # U+2212 MINUS SIGN, as word processors write it
    "\u00a03": "\\xa03",               # a no-break space is not trimmed
    "3\u2028": "3\\u2028",             # nor a line separator
    "nan": "nan", "NaN": "NaN", "inf": "inf", "-Infinity": "-Infinity",
    "0x10": "0x10",
    "3.": "3.",                        # what a value cut after its point looks like
    "1e": "1e", "-": "-", "+": "+", ".": ".",
}


@pytest.mark.parametrize("cell", REFUSED, ids=[repr(c) for c in REFUSED])
def test_a_number_not_in_plain_ascii_is_refused_like_a_decimal_comma(valid_cohort: Path, cell: str):
    set_cell(valid_cohort, "labs.csv", 2, "upcr_g_g", cell)
    problem = found(valid_cohort, "labs.csv", 2, "upcr_g_g", f"'{REFUSED[cell]}' {NOT_UPCR}")
    assert str(problem).endswith(problem.message) and ", line 2, column 'upcr_g_g': " in str(problem)


@pytest.mark.parametrize("cell", ["1_0", "９０", "9_0.0", "90.", "nan"])
def test_a_whole_number_not_in_plain_ascii_is_refused(valid_cohort: Path, cell: str):
    set_cell(valid_cohort, "labs.csv", 3, "day", cell)
    found(valid_cohort, "labs.csv", 3, "day", f"'{cell}' {NOT_DAY}")


def test_non_ascii_characters_of_a_refused_number_are_named(valid_cohort: Path):
    set_cell(valid_cohort, "labs.csv", 2, "upcr_g_g", "１２")
    set_cell(valid_cohort, "labs.csv", 3, "upcr_g_g", "−3")
    assert "(U+FF11 FULLWIDTH DIGIT ONE, U+FF12 FULLWIDTH DIGIT TWO)" in \
        found(valid_cohort, "labs.csv", 2, "upcr_g_g", NOT_UPCR).message
    assert "(U+2212 MINUS SIGN)" in found(valid_cohort, "labs.csv", 3, "upcr_g_g", NOT_UPCR).message


ACCEPTED = {"3": 3.0, "+3": 3.0, "3.0": 3.0, ".5": 0.5, "0.5": 0.5, "1e0": 1.0, "2.5E-1": 0.25, "-0": 0.0,
            " 3 ": 3.0, "\t3\t": 3.0, '"3"': 3.0}


@pytest.mark.parametrize("cell", ACCEPTED, ids=[repr(c) for c in ACCEPTED])
def test_plain_numbers_load(valid_cohort: Path, cell: str):
    set_cell(valid_cohort, "labs.csv", 2, "upcr_g_g", cell)
    assert load(valid_cohort).labs["upcr_g_g"].iloc[0] == ACCEPTED[cell]


@pytest.mark.parametrize("cell", ["90", "90.0", "9e1", "+90"])
def test_whole_numbers_may_carry_a_point_zero_or_an_exponent(valid_cohort: Path, cell: str):
    set_cell(valid_cohort, "labs.csv", 3, "day", cell)
    assert load(valid_cohort).labs["day"].iloc[1] == 90


def test_a_value_out_of_range_is_shown_as_written(valid_cohort: Path):
    set_cell(valid_cohort, "labs.csv", 2, "egfr", "9e2")
    found(valid_cohort, "labs.csv", 2, "egfr", "'9e2' is not a number from 1 to 200")


def test_every_refused_number_of_every_file_in_one_pass(valid_cohort: Path):
    set_cell(valid_cohort, "patients.csv", 3, "age", "４４")
    set_cell(valid_cohort, "labs.csv", 2, "upcr_g_g", "1_200")
    set_cell(valid_cohort, "labs.csv", 4, "c3_mg_dl", "inf")
    set_cell(valid_cohort, "events.csv", 3, "day", "3_0")
    where = {(Path(p.file).name, p.line, p.column) for p in problems(valid_cohort)}
    assert where == {("patients.csv", 3, "age"), ("labs.csv", 2, "upcr_g_g"), ("labs.csv", 4, "c3_mg_dl"),
                     ("events.csv", 3, "day")}


# --------------------------------------------------------------------------- files cut short

def cut_labs(folder: Path, last_line: str) -> None:
    """labs.csv with its last line replaced by `last_line` and no final newline."""
    lines = (folder / "labs.csv").read_text(encoding="utf-8").rstrip("\n").split("\n")
    write(folder, "labs.csv", "\n".join(lines[:-1] + [last_line]))


@pytest.mark.parametrize("last_line", ["P03,0,4.0,0.7,110,2.4,50", "P03,0,4.0,0.7,110,2.4,50,", "P03,0,4"])
def test_a_last_line_with_fields_missing_and_no_newline_looks_cut_off(valid_cohort: Path, last_line: str):
    cut_labs(valid_cohort, last_line)
    problem = found(valid_cohort, "labs.csv", 7, None, "the file looks cut off (truncated)")
    assert "without a final newline" in problem.message and "expected 9 (patient_id,day," in problem.message


def test_a_last_value_cut_after_its_point_is_refused(valid_cohort: Path):
    cut_labs(valid_cohort, "P03,0,4.0,0.7,110,2.4,50,6,8.")
    found(valid_cohort, "labs.csv", 7, "anti_dsdna_iu_ml", "'8.' is not a number")


def test_a_file_cut_inside_a_quoted_field_names_the_row(valid_cohort: Path):
    write(valid_cohort, "events.csv", f'{EVENTS_HEADER}\nP01,150,renal_flare,\nP02,30,adverse_event,"infec')
    problem = found(valid_cohort, "events.csv", 3, None, "a quote opened in the row that starts on this line")
    assert "looks cut off (truncated)" in problem.message


def test_a_quote_never_closed_is_named_where_it_opens(valid_cohort: Path):
    write(valid_cohort, "events.csv", f'{EVENTS_HEADER}\nP01,150,renal_flare,"oops\nP02,30,adverse_event,x\n')
    problem = found(valid_cohort, "events.csv", 2, None, "is never closed")
    assert "cut off" not in problem.message   # the file has its final newline


def test_a_short_line_elsewhere_is_not_said_to_be_cut_off(valid_cohort: Path):
    set_cell(valid_cohort, "labs.csv", 3, "anti_dsdna_iu_ml", "")
    lines = (valid_cohort / "labs.csv").read_text(encoding="utf-8").split("\n")
    lines[2] = lines[2].rstrip(",")
    write(valid_cohort, "labs.csv", "\n".join(lines).rstrip("\n"))
    problem = found(valid_cohort, "labs.csv", 3, None, "has 8 fields")
    assert "may be truncated or have a stray comma" in problem.message and "cut off" not in problem.message


def test_a_complete_file_without_final_newline_loads_with_a_note(valid_cohort: Path):
    """A last number cut short ("800" -> "80") cannot be told from a complete one: it loads, and
    the note says that the file ends without a final newline and which line to check."""
    cut_labs(valid_cohort, "P03,0,4.0,0.7,110,2.4,50,6,80")
    cohort = load(valid_cohort)
    assert cohort.labs["anti_dsdna_iu_ml"].iloc[-1] == 80
    assert any(note.endswith("labs.csv: ends without a final newline; its last row (line 7) has all its fields, "
                             "but a last value cut short would look the same: check it against the source")
               for note in cohort.notes), cohort.notes


def test_a_file_with_its_final_newline_has_no_such_note(valid_cohort: Path):
    assert not any("final newline" in note for note in load(valid_cohort).notes)


# --------------------------------------------------------------------------- not a file

def test_a_directory_named_like_a_table_is_named_a_directory(valid_cohort: Path):
    (valid_cohort / "labs.csv").unlink()
    (valid_cohort / "labs.csv").mkdir()
    set_cell(valid_cohort, "patients.csv", 2, "age", "1_0")          # still reported in the same pass
    found(valid_cohort, "labs.csv", None, None, "is a directory, not a file")
    found(valid_cohort, "patients.csv", 2, "age", "'1_0' is not a number")


def test_a_directory_beside_the_real_table_is_named_not_given_twice(valid_cohort: Path):
    (valid_cohort / "labs.xlsx").write_bytes(b"")
    (valid_cohort / "labs.csv").unlink()
    (valid_cohort / "labs.csv").mkdir()
    listed = problems(valid_cohort)
    assert [str(p) for p in listed if "labs" in p.file] == [f"{valid_cohort / 'labs.csv'}: is a directory, not a file"]


def test_read_table_names_a_directory(tmp_path: Path):
    (tmp_path / "patients.csv").mkdir()
    with pytest.raises(DataError, match="patients.csv: is a directory, not a file"):
        read_table(tmp_path / "patients.csv")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_named_like_a_table_is_refused_without_reading_it(valid_cohort: Path):
    (valid_cohort / "events.csv").unlink()
    os.mkfifo(valid_cohort / "events.csv")        # reading it would wait for ever
    found(valid_cohort, "events.csv", None, None, "is not a regular file")


def test_a_broken_link_is_named_a_link(valid_cohort: Path):
    (valid_cohort / "events.csv").unlink()
    (valid_cohort / "events.csv").symlink_to(valid_cohort / "gone.csv")
    found(valid_cohort, "events.csv", None, None, "is a link to a file that does not exist")


# --------------------------------------------------------------------------- line numbers

# every character str.splitlines() breaks at that the csv module does not
SPLITLINES_ONLY = ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("separator", SPLITLINES_ONLY, ids=[f"U+{ord(c):04X}" for c in SPLITLINES_ONLY])
def test_a_unicode_line_separator_in_a_quoted_field_does_not_shift_line_numbers(valid_cohort: Path, separator):
    text = (f'{EVENTS_HEADER}\nP01,150,renal_flare,"before{separator}after"\n'
            "P02,30,adverse_event,infection\nP02,soon,renal_flare,\n")
    assert len(text.splitlines()) == 5   # counted by str.splitlines(), the bad row would be line 5
    write(valid_cohort, "events.csv", text)
    found(valid_cohort, "events.csv", 4, "day", f"'soon' {NOT_DAY}")


def test_a_line_separator_stays_inside_its_field(valid_cohort: Path):
    """It does not start a line (the next row is line 3), and, as a line break inside a text, it is refused."""
    write(valid_cohort, "events.csv", f'{EVENTS_HEADER}\nP01,150,renal_flare,"a\u2028b"\nP02,30,adverse_event,x\n')
    found(valid_cohort, "events.csv", 2, "category", "holds U+2028 LINE SEPARATOR")
    write(valid_cohort, "events.csv", f'{EVENTS_HEADER}\nP01,150,renal_flare,"a\u2028b"\nP02,x,adverse_event,x\n')
    found(valid_cohort, "events.csv", 3, "day", f"'x' {NOT_DAY}")


def test_a_row_spanning_lines_is_named_by_its_first_line(valid_cohort: Path):
    write(valid_cohort, "events.csv", f'{EVENTS_HEADER}\nP01,150,renal_flare,\nP02,later,adverse_event,"one\ntwo"\n'
                                      "P02,never,renal_flare,\n")
    found(valid_cohort, "events.csv", 3, "day", "'later' " + NOT_DAY)
    found(valid_cohort, "events.csv", 5, "day", "'never' " + NOT_DAY)


def test_lines_ended_by_a_carriage_return_alone_are_counted(valid_cohort: Path):
    write(valid_cohort, "events.csv", f"{EVENTS_HEADER}\rP01,150,renal_flare,\rP02,soon,adverse_event,infection\r")
    found(valid_cohort, "events.csv", 3, "day", f"'soon' {NOT_DAY}")


def test_a_byte_that_is_not_utf8_is_named_on_its_line(valid_cohort: Path):
    text = f'{EVENTS_HEADER}\rP01,150,renal_flare,"a\u2028b"\rP02,30,adverse_event,'
    (valid_cohort / "events.csv").write_bytes(text.encode("utf-8") + b"infecci\xf3n\r")
    found(valid_cohort, "events.csv", 3, None, "byte 0xf3 is not UTF-8")


# --------------------------------------------------------------------------- the command

def test_validate_exits_2_naming_file_line_and_column_and_writes_nothing(valid_cohort: Path):
    set_cell(valid_cohort, "labs.csv", 2, "upcr_g_g", "１２")
    write(valid_cohort, "events.csv", f'{EVENTS_HEADER}\nP01,150,renal_flare,"a\u2028b"\nP02,3_0,adverse_event,x\n')
    before = snapshot(valid_cohort.parent)
    out = subprocess.run([sys.executable, "-m", "helpers", "validate", str(valid_cohort)],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert f"{valid_cohort / 'labs.csv'}, line 2, column 'upcr_g_g': '１２' {NOT_UPCR}" in out.stderr
    assert f"{valid_cohort / 'events.csv'}, line 3, column 'day': '3_0' {NOT_DAY}" in out.stderr
    assert snapshot(valid_cohort.parent) == before
