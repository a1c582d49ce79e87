"""Degenerate but valid data: the notebooks run and say what cannot be computed, and why.

One cohort combines the cases: one arm only, no events at all, constant columns
(every patient female, every biopsy class IV), and a timepoint nobody reached.
"""

import pandas as pd
import pytest
from notebook_run import run_chapter

from helpers.paths import RECONSTRUCTED_DIR

pytestmark = pytest.mark.slow   # runs whole chapters with papermill: left out of `make test-fast`


@pytest.fixture(scope="module")
def degenerate(tmp_path_factory):
    root = tmp_path_factory.mktemp("degenerate")
    folder = root / "study_a"
    folder.mkdir()
    patients = pd.read_csv(RECONSTRUCTED_DIR / "study_a" / "patients.csv")
    patients = patients[patients["arm"] == "tacrolimus"].assign(sex="F", isn_class="IV")
    labs = pd.read_csv(RECONSTRUCTED_DIR / "study_a" / "labs.csv")
    patients.to_csv(folder / "patients.csv", index=False)
    labs[labs["patient_id"].isin(patients["patient_id"])].to_csv(folder / "labs.csv", index=False)
    (folder / "events.csv").write_text("patient_id,day,event,category\n", encoding="utf-8")
    return root


def run(notebook, tmp_path, **parameters):
    return run_chapter(notebook, tmp_path, **parameters)


def test_cohort_description_with_one_arm_and_constant_columns(degenerate, tmp_path):
    text = run("01_cohort_description.ipynb", tmp_path, data_dir=str(degenerate), studies=["study_a"])
    assert "Age, years" in text and "Traceback" not in text


def test_response_with_one_arm_and_an_empty_timepoint(degenerate, tmp_path):
    timepoints = {"6m": 182, "1y": 365, "10y": 3652}
    text = run("02_response.ipynb", tmp_path, data_dir=str(degenerate), timepoints=timepoints)
    assert "One arm: all patients, no comparison between arms." in text   # instead of a p-value column
    assert text.count("No patient was followed to 10 years.") == 1   # named once, instead of a table of 0/0
    assert "0/0" not in text and "10 years" not in text.replace("No patient was followed to 10 years.", "")
    table = pd.read_csv(tmp_path / "results" / "02_response.csv", dtype={"timepoint": str})
    p_rows = table[table["statistic"] == "p_value"]
    assert p_rows["value"].isna().all() and p_rows["detail"].str.contains("not estimable: one arm").all()


def test_safety_with_no_events(degenerate, tmp_path):
    text = run("03_safety_flares.ipynb", tmp_path, data_dir=str(degenerate))
    assert "One arm: all patients, no between-arm test." in text
    assert "Traceback" not in text
