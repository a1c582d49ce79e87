"""Study B helpers: groups, response by group, lab summaries, against plain pandas."""
import pandas as pd
import pytest

from helpers.chapters import groups
from helpers.cohort import data, response
from helpers.paths import RECONSTRUCTED_DIR
from helpers.publication import published


@pytest.fixture(scope="module")
def at_tp():
    cohort = data.load(RECONSTRUCTED_DIR / "study_b")
    rows = response.classify(cohort, published.load("study_b").timepoints)
    return rows[rows["timepoint"] == "24w"]


def test_response_by_group_adds_up(at_tp):
    table = groups.response_by_group(at_tp).set_index("group")
    assert table.loc["all", "n"] == table.loc[["partial", "none", "flare"], "n"].sum()
    assert table.loc["all", "CR"] == (at_tp["response"] == "CR").sum()


def test_lab_rows_equal_plain_pandas(at_tp):
    rows = pd.DataFrame(groups.lab_rows("study_b", at_tp, "24w"))
    got = rows.set_index(["measure", "group", "timepoint", "statistic"])["value"]
    partial = at_tp[at_tp["prior_response"] == "partial"]
    assert got["upcr", "partial", "24w", "mean"] == pytest.approx(partial["upcr_g_g"].mean())
    assert got["egfr", "all", "baseline", "sd"] == pytest.approx(at_tp["baseline_egfr"].std(ddof=1))


def test_small_groups_are_suppressed(at_tp):
    rows = pd.DataFrame(groups.lab_rows("study_b", at_tp, "24w", min_cell=10))
    none = rows[(rows["group"] == "none")]
    assert none["value"].isna().all()                     # 4 patients: below 10
    shown = groups.lab_changes(at_tp, min_cell=10).frame.set_index(["Lab", "Group"])
    assert shown.loc[("Urine protein/creatinine ratio (g/g)", "No response to induction"), "p"] == "suppressed"
