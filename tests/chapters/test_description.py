"""table1.table_one (bench/table1.py) gives tableone's Table 1: the same rows, formatted strings and p-values."""
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import table1
from registry import synthetic_registry
from tableone import TableOne

from helpers.chapters import description as cohort
from helpers.cohort import data
from helpers.paths import RECONSTRUCTED_DIR


@pytest.fixture(scope="module")
def frame_a():
    return cohort.baseline_frame(data.load(RECONSTRUCTED_DIR / "study_a"), 45)


def both(frame, **arguments):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tableone's deprecation / low-count warnings
        reference = TableOne(frame, **arguments).tableone
        ours = table1.table_one(frame, **arguments)
    return ours, reference


def test_study_a_by_arm_equals_tableone(frame_a):
    ours, reference = both(frame_a, **cohort.table_one_arguments(frame_a, "arm"))
    pd.testing.assert_frame_equal(ours, reference)
    # the same table helpers.chapters.description.table_one builds with tableone (a TableOne or its frame)
    built = cohort.table_one(data.load(RECONSTRUCTED_DIR / "study_a"), "arm")
    pd.testing.assert_frame_equal(ours, getattr(built, "tableone", built))


def test_study_a_cells_and_p_values(frame_a):
    ours, reference = both(frame_a, **cohort.table_one_arguments(frame_a, "arm"))
    header = "Grouped by arm"
    for column in ["Overall", "no_tacrolimus", "tacrolimus", "P-Value", "Test"]:
        assert ours[(header, column)].tolist() == reference[(header, column)].tolist(), column
    assert ours.loc[("n", ""), (header, "Overall")] == 179
    assert re.fullmatch(r"\d\d\.\d \(\d+\.\d\)", ours.loc[("Age, years, mean (SD)", ""), (header, "tacrolimus")])
    assert ours.loc[("Age, years, mean (SD)", ""), (header, "Test")] == "Welch’s T-test"
    assert ours.loc[("UPCR, g/g, median [Q1,Q3]", ""), (header, "Test")] == "Kruskal-Wallis"
    assert ours.loc[("Maintenance regimen, n (%)", "azathioprine"), (header, "P-Value")] == "<0.001"
    p = ours[(header, "P-Value")]
    assert all(v == "" or v == "<0.001" or (len(v) == 5 and v[1] == ".") for v in p), "3 decimals"


@pytest.mark.parametrize("by", ["sex", "maintenance", "isn_class"])
def test_other_groupings_equal_tableone(frame_a, by):
    ours, reference = both(frame_a, **cohort.table_one_arguments(frame_a, by))
    pd.testing.assert_frame_equal(ours, reference)


@pytest.mark.parametrize("change", ["missing column", "decimals 2", "no overall", "no rename"])
def test_options_equal_tableone(frame_a, change):
    arguments = cohort.table_one_arguments(frame_a, "arm")
    if change == "missing column":
        arguments["missing"] = True
    elif change == "decimals 2":
        arguments["decimals"] = 2
    elif change == "no overall":
        arguments["overall"] = False
    else:
        del arguments["rename"], arguments["decimals"]
    pd.testing.assert_frame_equal(*both(frame_a, **arguments))


def test_missing_values_small_groups_and_fisher(frame_a):
    frame = frame_a.copy()
    frame.loc[frame.sample(20, random_state=1).index, "isn_class"] = None     # level "None"
    frame.loc[frame.sample(15, random_state=2).index, "egfr"] = np.nan        # Missing count
    frame.loc[frame.sample(3, random_state=3).index, "arm"] = None            # in Overall only
    frame.loc[frame.index[:2], "arm"] = "multitarget"                         # 3 groups: ANOVA
    frame["flag"] = np.where(np.arange(len(frame)) < 4, "y", "n")
    arguments = cohort.table_one_arguments(frame, "arm")
    pd.testing.assert_frame_equal(*both(frame, **{**arguments, "missing": True}))
    two = frame[frame["arm"] != "multitarget"]
    ours, reference = both(two, columns=["flag", "age"], categorical=["flag"], groupby="arm",
                           pval=True, htest_name=True, missing=False)
    pd.testing.assert_frame_equal(ours, reference)
    assert ours.loc[("flag, n (%)", "n"), ("Grouped by arm", "Test")] == "Fisher's exact"


def test_registry_types_equal_tableone():
    """Categorical columns, float32 labs and a missing ISN class, as in the synthetic registry."""
    frame = cohort.baseline_frame(synthetic_registry(5000, seed=2), 45)
    pd.testing.assert_frame_equal(*both(frame, **cohort.table_one_arguments(frame, "arm")))


def test_table_one_as_a_clinician_reads_it():
    """N in the column headers, Yates named where scipy's chi-squared applies it (a 2 x 2 table), and class V
    against every other class with its own p, as the paper reports the one baseline difference."""
    view = cohort.describe(data.load(RECONSTRUCTED_DIR / "study_a"), "study_a").frame
    assert list(view.columns[2:5]) == ["Overall (N = 179)", "Tacrolimus (N = 92)", "No tacrolimus (N = 87)"]
    sex = view[view["Characteristic"] == "Sex, n (%)"].iloc[0]
    assert sex["Test"] == "Chi-squared (Yates)"
    v = view[view["Characteristic"] == cohort.CLASS_V].iloc[0]
    assert v["Tacrolimus (N = 92)"] == "22 (23.9)" and v["Test"] == "Chi-squared (Yates)" and float(v["p"]) < 0.05
