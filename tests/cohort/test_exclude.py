"""helpers.cohort.data: impossible timelines (a lab or an event after the death or the last follow-up, a follow-up
past the death) refused with what to do, or left out row by row as a params file's `exclude` asks, and reported."""
import hashlib
from pathlib import Path

import pytest

from helpers.cohort import data
from helpers.cohort.data import DataError, load


def died_at_160(folder: Path) -> Path:
    """The valid cohort with P01 dead on day 160: its lab of day 180 (labs.csv line 4) is after the death, and so is
    its last follow-up (patients.csv line 2, day 365)."""
    with open(folder / "events.csv", "a", encoding="utf-8") as events:
        events.write("P01,160,death,\n")
    return folder


def digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.iterdir()))).hexdigest()


def messages(folder: Path, exclude=None) -> list[str]:
    with pytest.raises(DataError) as info:
        load(folder, exclude=exclude)
    return [str(p)[len(str(folder)) + 1:] for p in info.value.problems]


def test_each_impossible_timeline_is_refused_with_what_to_do(valid_cohort):
    assert messages(died_at_160(valid_cohort)) == [
        "patients.csv, line 2, column 'last_followup_day': day 365 is after the patient's death (day 160): correct "
        "one of the two dates, or end the follow-up at the death with the params file's `exclude`",
        "labs.csv, line 4, column 'day': day 180 is after the patient's death (day 160): correct the date or the "
        "death's, or leave this row out with the params file's `exclude`"]


def test_listed_rows_are_left_out_and_reported_and_the_files_untouched(valid_cohort):
    folder = died_at_160(valid_cohort)
    before = digest(folder)
    cohort = load(folder, exclude={"labs.csv": {4}, "patients.csv": {2}})
    assert digest(folder) == before
    assert list(cohort.labs["day"][cohort.labs["patient_id"] == "P01"]) == [0, 90]
    assert list(cohort.labs.attrs["lines"]) == [2, 3, 5, 6, 7]          # the lines of the rows kept
    assert cohort.patients.set_index("patient_id").loc["P01", "last_followup_day"] == 160
    assert str(cohort.patients["last_followup_day"].dtype) == "Int64"    # as loaded without exclusions
    assert [(Path(e.file).name, e.line, e.column, e.patient_id, e.action) for e in cohort.excluded] == [
        ("patients.csv", 2, "last_followup_day", "P01", "follow-up ended at the death"),
        ("labs.csv", 4, "day", "P01", "row left out")]
    assert cohort.excluded[1].problem == "day 180 is after the patient's death (day 160)"


def test_only_a_row_with_an_impossible_timeline_can_be_left_out(valid_cohort):
    says = messages(died_at_160(valid_cohort), {"labs.csv": {3, 4}, "patients.csv": {2}})
    assert says == ["labs.csv, line 3: is listed under `exclude` in the params file, but has no impossible timeline "
                    "(only a row dated after the patient's death or last follow-up, or a follow-up past the death, "
                    "can be left out): remove it from `exclude`"]


def test_exclude_names_tables_as_the_data_folder_does(tmp_path, valid_cohort):
    assert data.excluded_rows(valid_cohort, {"labs": [4]}) == {valid_cohort: {"labs.csv": {4}}}
    studies = tmp_path / "studies"
    studies.mkdir()
    valid_cohort.rename(studies / "site_1")
    assert data.excluded_rows(studies, {"site_1/events": [3]}) == {studies / "site_1": {"events.csv": {3}}}
    with pytest.raises(DataError) as info:
        data.excluded_rows(studies, {"labs": [4]})
    assert info.value.problems[0].message == (
        f"`exclude` names 'labs', not a table of {studies} (its tables: site_1/events, site_1/labs, site_1/patients)")


def test_the_advice_is_the_exclude_line_to_paste(valid_cohort):
    folder = died_at_160(valid_cohort)
    with pytest.raises(DataError) as info:
        data.validate_tree(folder)
    assert data.exclusion_advice(folder, info.value.problems).endswith(
        "add to the params file: exclude: {patients: [2], labs: [4]} (the build then lists them in its log)")
    assert data.exclusion_advice(folder, []) is None
    excluded = data.validate_tree(folder, {"patients": [2], "labs": [4]})
    assert [e.line for e in excluded[folder]] == [2, 4]
