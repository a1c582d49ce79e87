"""Inputs that were accepted wrongly or refused unclearly (issue 22): each is now one problem naming the
path, the line and the column where there is one. Folder layouts (the same study twice, a table the
loader cannot read, a link that leads nowhere or loops, tables beside study sub-folders), characters that
hide or reorder text, a nested Parquet column, and a day given beside its date."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers.cohort.data import DataError, cohort_folders, load, validate_tree


def refused(call) -> list[str]:
    with pytest.raises(DataError) as info:
        call()
    return [str(p) for p in info.value.problems]


def study(folder: Path, source: Path, name: str | None = None) -> Path:
    shutil.copytree(source, folder)
    if name:
        patients = folder / "patients.csv"
        patients.write_text(patients.read_text(encoding="utf-8").replace(",demo,", f",{name},"), encoding="utf-8")
    return folder


# --- folders ----------------------------------------------------------------------------------------

def test_the_same_study_in_two_folders_is_refused(valid_cohort, tmp_path):
    root = tmp_path / "two"
    study(root / "a", valid_cohort), study(root / "b", valid_cohort)
    assert refused(lambda: validate_tree(root)) == [
        f"{root / 'b'}, column 'study': study 'demo' is also in {root / 'a'}: give each study's patients in one folder"]


def test_a_table_the_loader_cannot_read_is_named_not_dropped(valid_cohort, tmp_path):
    root = tmp_path / "xls"
    study(root / "a", valid_cohort, "one"), study(root / "b", valid_cohort, "two")
    (root / "b" / "patients.csv").rename(root / "b" / "patients.xls")
    assert cohort_folders(root) == [root / "a", root / "b"]
    problems = refused(lambda: validate_tree(root))
    assert problems == [f"{root / 'b' / 'patients.csv'}: file not found (nor patients.xlsx, patients.parquet); "
                        "patients.xls cannot be read: save it as .csv, .xlsx or .parquet"]


def test_a_link_that_leads_nowhere_is_named(valid_cohort, tmp_path):
    root = tmp_path / "dangling"
    study(root / "a", valid_cohort, "one"), study(root / "b", valid_cohort, "two")
    (root / "b" / "patients.csv").unlink()
    (root / "b" / "patients.csv").symlink_to(tmp_path / "nowhere.csv")
    assert refused(lambda: validate_tree(root)) == [f"{root / 'b' / 'patients.csv'}: is a link to a file that does "
                                                    "not exist"]
    (root / "c").symlink_to(tmp_path / "no_folder")                         # a study folder that is not there
    assert refused(lambda: cohort_folders(root)) == [f"{root / 'c'}: is a link to a file that does not exist"]


def test_a_link_that_loops_names_itself_and_its_folder(valid_cohort, tmp_path):
    root = tmp_path / "loop"
    study(root / "study_a", valid_cohort)
    (root / "study_a" / "patients.csv").unlink()
    os.symlink("patients.csv", root / "study_a" / "patients.csv")
    expected = f"{root / 'study_a' / 'patients.csv'}: is a symbolic link that loops (it leads back to itself)"
    assert refused(lambda: validate_tree(root)) == [expected]
    result = subprocess.run([sys.executable, "-m", "helpers", "validate", str(root)], capture_output=True, text=True)
    assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr


def test_tables_beside_study_folders_are_refused_not_preferred(valid_cohort, tmp_path):
    root = study(tmp_path / "top", valid_cohort)
    study(root / "other", valid_cohort, "other")
    assert refused(lambda: cohort_folders(root)) == [
        f"{root}: holds tables (patients, labs, events) and sub-folders with tables too (other): keep one cohort's "
        "tables in the folder, or one sub-folder per study, not both"]


def test_a_folder_of_study_folders_and_other_folders_reads_the_studies(valid_cohort, tmp_path):
    root = tmp_path / "fine"
    study(root / "a", valid_cohort, "one"), study(root / "b", valid_cohort, "two")
    (root / "notes").mkdir(), (root / ".git").mkdir()
    (root / "README.txt").write_text("not a table", encoding="utf-8")
    assert list(validate_tree(root)) == [root / "a", root / "b"]


# --- characters ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, named", [("demo\x00", "U+0000"), ("de\rmo", "U+000D"), ("de\x1b[31mmo", "U+001B"),
                                         ("de\u202emo", "U+202E RIGHT-TO-LEFT OVERRIDE"),
                                         ("de\u2028mo", "U+2028 LINE SEPARATOR"), ("de\u200bmo", "U+200B")])
def test_control_format_and_line_break_characters_in_text_are_refused(valid_cohort, text, named):
    """A NUL made a second study; a carriage return ends a Markdown line; ESC colours a terminal;
    U+202E reverses what a page shows."""
    patients = valid_cohort / "patients.csv"
    lines = patients.read_text(encoding="utf-8").split("\n")
    lines[1] = lines[1].replace(",demo,", f',"{text}",')
    lines[2] = lines[2].replace(",MMF,AZA,", f',"{text}",AZA,')
    patients.write_text("\n".join(lines), encoding="utf-8")
    problems = refused(lambda: load(valid_cohort))
    second = 3 + text.count("\r")     # a carriage return inside quotes is a line of its own, as csv counts them
    assert [p.split(":")[0].split(", ", 1)[1] for p in problems] == ["line 2, column 'study'",
                                                                      f"line {second}, column 'induction'"]
    assert all(named in p and "text may not hold control, format or line-break characters" in p for p in problems)


def test_spaces_and_other_scripts_in_text_are_kept(valid_cohort):
    patients = valid_cohort / "patients.csv"
    patients.write_text(patients.read_text(encoding="utf-8").replace(",MMF,AZA,", ",mycophénolate\u00a0500,아자,"),
                        encoding="utf-8")
    assert load(valid_cohort).patients["induction"].tolist()[1] == "mycophénolate\u00a0500"


# --- columns ------------------------------------------------------------------------------------------

def test_a_nested_parquet_column_is_refused_not_stringified(valid_cohort):
    frame = pd.read_csv(valid_cohort / "patients.csv", dtype=str, keep_default_na=False)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    at = table.schema.get_field_index("induction")
    table = table.set_column(at, "induction", pa.array([{"drug": "x", "dose": i} for i in range(len(frame))]))
    (valid_cohort / "patients.csv").unlink()
    pq.write_table(table, valid_cohort / "patients.parquet")
    assert refused(lambda: load(valid_cohort)) == [
        f"{valid_cohort / 'patients.parquet'}, column 'induction': is a nested Parquet column (struct<drug: string, "
        "dose: int64>); expected one plain value (text or a number) per cell"]


def test_a_day_and_its_date_given_together_are_refused(valid_cohort):
    patients = valid_cohort / "patients.csv"
    lines = patients.read_text(encoding="utf-8").rstrip("\n").split("\n")
    patients.write_text("\n".join([lines[0] + ",baseline_date", *(x + ",2020-01-01" for x in lines[1:])]) + "\n",
                        encoding="utf-8")
    labs = valid_cohort / "labs.csv"
    lines = labs.read_text(encoding="utf-8").rstrip("\n").split("\n")
    labs.write_text("\n".join([lines[0] + ",date", *(x + ",2021-06-01" for x in lines[1:])]) + "\n", encoding="utf-8")
    assert refused(lambda: load(valid_cohort)) == [
        f"{labs}, line 1, column 'day, date': both are given: keep one (a day is counted from baseline_date; only one "
        "of the two would be read, so they could disagree unseen)"]


def test_a_date_long_after_an_1899_baseline_names_the_date_column_and_the_date(valid_cohort):
    """Said of the column the file has ('date'), with the date as written, never of a 'day' it lacks."""
    patients = valid_cohort / "patients.csv"
    lines = patients.read_text(encoding="utf-8").rstrip("\n").split("\n")
    patients.write_text("\n".join([lines[0] + ",baseline_date", *(x + ",1899-12-31" for x in lines[1:])]) + "\n",
                        encoding="utf-8")
    labs = valid_cohort / "labs.csv"
    lines = labs.read_text(encoding="utf-8").rstrip("\n").split("\n")
    rows = [x.split(",") for x in lines]
    rows[0][1] = "date"
    for i, row in enumerate(rows[1:]):
        row[1] = f"2100-01-{i + 1:02d}"
    labs.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    problems = refused(lambda: load(valid_cohort))
    assert problems[0] == (f"{labs}, line 2, column 'date': '2100-01-01' is day 73050 since the patient's "
                           "baseline_date; expected a whole number from 0 to 20000 (days since baseline)")
    assert not any("column 'day'" in p for p in problems)
