"""compare.results.write: result files a spreadsheet opens without running a formula, and, in a real-cohort book
(min_cell > 0), numbers rounded to what a reader needs, so that two books of nearly the same cohort do not give
a patient's values back to ten digits (differencing)."""
from __future__ import annotations

import csv

import pandas as pd
import pytest

from helpers.chapters import description
from helpers.cohort import data
from helpers.compare import results
from helpers.paths import RECONSTRUCTED_DIR


def written(tmp_path, rows, min_cell=0) -> list[dict]:
    path = results.write(rows, tmp_path, "t", min_cell)
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("label", ['=HYPERLINK("http://x","a")', "+1+2", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1",
                                   "a\r\n=1+1"])
def test_text_that_starts_like_a_formula_is_written_as_text(tmp_path, label):
    row = results.row(label, "n_patients", "count", 12, group=label, detail=label)
    out = written(tmp_path, [row])
    assert len(out) == 1 and out[0]["value"] == "12"
    cells = [out[0][c] for c in ("study", "group", "detail")]
    assert len(set(cells)) == 1 and not cells[0].startswith(results.FORMULA_START)
    assert not set(cells[0]) & set("\t\r\n")
    if label[0] in "=+-@":
        assert cells[0] == "'" + label


def test_numbers_keep_their_sign_and_plain_text_is_unchanged(tmp_path):
    out = written(tmp_path, [results.row("study_a", "egfr", "mean", -1.25, group="no_tacrolimus", detail="n = 3")])[0]
    assert (out["study"], out["group"], out["detail"], out["value"]) == ("study_a", "no_tacrolimus", "n = 3", "-1.25")


def test_a_real_cohort_book_rounds_and_the_reconstruction_keeps_its_digits(tmp_path):
    rows = [results.row("s", "age", "mean", 34.71234567891, detail="n = 92"),
            results.row("s", "female", "percent", 89.13043478, detail="82/92"),
            results.row("s", "response", "p_value", 0.0123456789),
            results.row("s", "n_patients", "count", 92)]
    assert [r["value"] for r in written(tmp_path, rows)] == ["34.71234568", "89.13043478", "0.0123456789", "92"]
    assert [r["value"] for r in written(tmp_path, rows, 5)] == ["34.7", "89.1", "0.0123", "92"]


def test_one_patient_less_no_longer_gives_that_patients_age(tmp_path):
    """The same cohort without one patient: ten digits gave the patient's exact age by subtraction; rounded
    means leave an interval of many years."""
    cohort = data.load(RECONSTRUCTED_DIR / "study_a")
    patients = cohort.patients
    gone = patients.iloc[0]
    ages = {}
    for name, part in (("all", patients), ("minus", patients.iloc[1:])):
        rows = description.cohort_rows("study_a", part, "arm", 5)
        out = pd.read_csv(results.write(rows, tmp_path / name, "01", 5))
        mean = out[(out["measure"] == "age") & (out["statistic"] == "mean") & (out["group"] == "all")]
        ages[name] = (float(mean["value"].iloc[0]), len(part))
    (m1, n1), (m2, n2) = ages["all"], ages["minus"]
    half = 0.05                                                     # 3 significant digits of an age in the 30s
    low = (m1 - half) * n1 - (m2 + half) * n2
    high = (m1 + half) * n1 - (m2 - half) * n2
    assert low <= gone["age"] <= high and high - low > 15, (low, gone["age"], high)
