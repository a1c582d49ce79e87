"""helpers.present.tables: exact display strings."""
import math

import numpy as np
import pandas as pd

from helpers.methods import stats
from helpers.present import tables


def test_n_of_N():
    assert tables.n_of_N(45, 91) == "45/91 (49.5%)"
    assert tables.n_of_N(0, 0) == "0/0 (not estimable)"
    assert tables.n_of_N(0, 12) == "0/12 (0.0%)"
    assert tables.n_of_N(1, 3, decimals=0) == "1/3 (33%)"
    assert tables.n_of_N(2, 3, decimals=2) == "2/3 (66.67%)"


def test_mean_sd():
    assert tables.mean_sd([1, 2, 3, 4, 5]) == "3.0 ± 1.6"          # sample SD sqrt(2.5) = 1.581
    assert tables.mean_sd([1, 2, 3, 4, 5], decimals=2) == "3.00 ± 1.58"
    assert tables.mean_sd(pd.Series([1, np.nan, 3])) == "2.0 ± 1.4"  # missing dropped; SD sqrt(2)
    assert tables.mean_sd([7.0]) == "not estimable"
    assert tables.mean_sd([]) == "not estimable"


def test_format_p():
    assert tables.format_p(0.005837) == "0.006"
    assert tables.format_p(0.0004) == "< 0.001"
    assert tables.format_p(0.001) == "0.001"
    assert tables.format_p(1.0) == "1.000"
    assert tables.format_p(0.049, decimals=2) == "0.05"
    assert tables.format_p(0.0099, decimals=2) == "< 0.01"
    assert tables.format_p(math.nan) == "not estimable"
    assert tables.format_p(None) == "not estimable"
    assert tables.format_p(np.float64("nan")) == "not estimable"


def test_comparison_table_with_effect_sizes_and_one_test_named_once():
    summary = pd.DataFrame({"timepoint": pd.Categorical(["6m", "6m", "12m", "12m"], categories=["6m", "12m"]),
                            "arm": ["tacrolimus", "no_tacrolimus"] * 2,
                            "n": [88, 78, 4, 0], "CR": [46, 57, 3, 0], "PR": [0, 0, 0, 0], "NR": [42, 21, 1, 0]})
    summary["overall"] = summary["CR"] + summary["PR"]
    comparison = stats.response_comparison(summary, "CR", ["tacrolimus", "no_tacrolimus"])
    table = tables.comparison_table(comparison, ["tacrolimus", "no_tacrolimus"], "Timepoint")
    shown = table.frame
    assert list(shown.columns) == ["Timepoint", "Tacrolimus, n/N (%)", "No tacrolimus, n/N (%)",
                                   "Difference, % points (95% CI)", "Odds ratio (95% CI)", "p"]
    assert shown.iloc[0].tolist() == ["6m", "46/88 (52.3%)", "57/78 (73.1%)", "−20.8 (−34.2 to −6.0)",
                                      "0.40 (0.21 to 0.77)", "0.006"]
    assert shown.iloc[1].tolist() == ["12m", "3/4 (75.0%)", "0/0 (not estimable)", "", "", "not estimable"]
    assert table.notes[0].startswith("p: Pearson chi-square; difference: tacrolimus minus no tacrolimus")
    assert "12m: not estimable: no evaluated patients in no_tacrolimus" in table.notes


def test_table_html_has_no_row_numbers_and_labels_every_cell():
    table = tables.Table(pd.DataFrame({"Timepoint": ["6 months"], "p": ["0.006 ✓"]}), ["a note <b>"])
    html = table._repr_html_()
    assert '<td data-label="Timepoint">6 months</td>' in html and '<td data-label="p">0.006 ✓</td>' in html
    assert "<th></th>" not in html and "&lt;b&gt;" in html             # no index column; notes escaped
    assert repr(table).splitlines()[-1] == "a note <b>"


def test_interval_and_p_beside():
    assert tables.interval(-0.2079, -0.342, -0.060, scale=100) == "−20.8 (−34.2 to −6.0)"
    assert tables.interval(float("nan"), 0, 1) == ""
    assert tables.p_beside(0.0557, 0.1, 1) == "0.056"
    assert tables.p_beside(0.15497, 0.15, 2) == "0.15497"          # 0.155 would round to 0.16


def test_a_note_is_said_once_per_chapter_and_later_tables_say_so():
    tables.new_chapter()
    frame = pd.DataFrame({"a": [1]})
    first = tables.Table(frame, ["† an assumption", "Published values from: x."])._repr_html_()
    second = tables.Table(frame, ["† an assumption", "‡ a derivation"])
    assert "† an assumption" in first and second._repr_html_().count("ln-note") == 2
    assert "† an assumption" not in second._repr_html_() and tables.REPEATED in second._repr_html_()
    assert "† an assumption" in repr(second)    # the plain text keeps every note
    tables.new_chapter()
    assert "† an assumption" in tables.Table(frame, ["† an assumption"])._repr_html_()
