"""Disclosure control: counts below min_cell never reach a table, a figure label or a result file."""
import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.compare import results
from helpers.methods import disclosure
from helpers.present import figures, tables


def test_n_of_N_suppresses_small_counts_their_complements_and_small_groups():
    assert tables.n_of_N(3, 40, min_cell=5) == "suppressed/40"
    assert tables.n_of_N(37, 40, min_cell=5) == "suppressed/40"      # 3 did not: the complement is small
    assert tables.n_of_N(0, 40, min_cell=5) == "0/40 (0.0%)"
    assert tables.n_of_N(40, 40, min_cell=5) == "40/40 (100.0%)"
    assert tables.n_of_N(3, 4, min_cell=5) == "suppressed"
    assert tables.n_of_N(float("nan"), 40, min_cell=5) == "suppressed"   # hidden upstream
    assert tables.n_of_N(3, 40) == "3/40 (7.5%)"


def test_mean_sd_suppresses_small_groups():
    assert tables.mean_sd([1, 2, 3], min_cell=5) == "suppressed"
    assert tables.mean_sd([1, 2, 3]) == "2.0 ± 1.0"


def test_complementary_suppression_leaves_no_hidden_cell_alone_in_a_line():
    cells = {"CR": 3, "PR": 20, "NR": 17, "n": 40}
    line = disclosure.Line(("CR", "PR", "NR"), "n")
    assert disclosure.protect(cells, [line], 5) == {"CR", "NR"}        # the next smallest goes too
    assert disclosure.protect(cells, [line], 0) == set()
    two_small = {"a": 1, "b": 2, "c": 30, "n": 33}                     # 1 + 2 = 3 would still be readable
    assert disclosure.protect(two_small, [disclosure.Line(("a", "b", "c"), "n")], 5) == {"a", "b", "c"}


def test_groups_hidden_so_that_none_follows_by_subtraction():
    assert disclosure.hidden_groups({"all": 29, "partial": 10, "none": 2, "flare": 17}, 5) == {"none", "partial"}
    assert disclosure.hidden_groups({"all": 29, "partial": 10, "none": 19}, 5) == set()


def test_result_rows_lose_small_counts(tmp_path):
    rows = [results.row("s", "response", "percent", 7.5, detail="3/40"),
            results.row("s", "response", "percent", 30.0, detail="12/40")]
    table = pd.read_csv(results.write(rows, tmp_path, "r", min_cell=5))
    assert table["detail"].tolist() == ["suppressed", "12/40"]
    assert math.isnan(table["value"][0]) and table["value"][1] == 30.0


def test_figure_labels_hide_small_counts():
    summary = pd.DataFrame({"timepoint": pd.Categorical(["6m", "6m"]), "arm": ["a", "b"], "n": [40, 40],
                            "CR": [3, 20], "PR": [0, 0], "NR": [37, 20], "overall": [3, 20]})
    fig = figures.response_over_time(summary, "CR", ["a", "b"], {"6m": 182}, min_cell=5)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "suppressed" in labels and "3/40" not in labels and "20/40" in labels


def test_trajectories_draw_no_patient_lines_for_a_real_cohort():
    frame = pd.DataFrame({"patient_id": range(10), "timepoint": "6m", "baseline_upcr_g_g": range(10),
                          "upcr_g_g": range(10, 20), "group": ["x"] * 10})
    lines = figures.trajectories(frame, "upcr_g_g", "group", {"6m": 182}, min_cell=5).axes[0].lines
    assert len(lines) == 1                               # the group mean only
    assert len(figures.trajectories(frame, "upcr_g_g", "group", {"6m": 182}).axes[0].lines) == 11


def test_effect_sizes_and_p_are_hidden_beside_small_counts():
    from helpers.methods import stats
    summary = pd.DataFrame({"timepoint": pd.Categorical(["6m", "6m"]), "arm": ["a", "b"], "n": [40, 40],
                            "CR": [3, 20], "PR": [0, 0], "NR": [37, 20], "overall": [3, 20]})
    table = tables.comparison_table(stats.response_comparison(summary, "CR", ["a", "b"]), ["a", "b"], "Timepoint",
                                    min_cell=5)
    row = table.frame.iloc[0]
    assert row["A, n/N (%)"] == "suppressed/40" and row["Difference, % points (95% CI)"] == ""
    assert row["p"] == "suppressed"
    assert any("suppressed: fewer than 5 patients" in n and "a count of 0 is shown: it describes no patient" in n
               for n in table.notes)                       # the 0 PR it would show is said to be allowed


def test_every_page_that_states_the_threshold_says_a_zero_is_shown():
    """A count of 0 is let through (rules 1 and 2: `small` is false for 0), so every place the book states the
    threshold says so: the guide, both Methods pages, and the note under a table that shows 'suppressed'."""
    from helpers.paths import REPO_ROOT
    assert not disclosure.small(0, 5)
    assert not disclosure.share_hidden(0, 40, 5) and not disclosure.share_hidden(40, 40, 5)
    for page in ("book/own_cohort.md", "book/methods.md", "book/cohort/methods.md"):
        text = " ".join((REPO_ROOT / page).read_text(encoding="utf-8").split())
        assert "a count of 0 is shown: it describes no patient" in text.lower(), page
    assert disclosure.ZERO_SHOWN in disclosure.hidden_note(5)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=2, max_size=6), st.integers(1, 10))
def test_no_line_is_left_with_one_hidden_count_or_a_small_hidden_sum(counts, min_cell):
    cells = {i: k for i, k in enumerate(counts)}
    hidden = disclosure.protect(cells, [disclosure.Line(tuple(cells))], min_cell)
    assert {i for i, k in cells.items() if 0 < k < min_cell} <= hidden
    if hidden and len(hidden) < len(cells):        # the total is shown: what is hidden is not alone, nor small
        assert len(hidden) >= 2 and not disclosure.small(sum(cells[i] for i in hidden), min_cell)
