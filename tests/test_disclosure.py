"""Disclosure control: counts below min_cell never reach a table, a figure label or a result file."""
import math

import pandas as pd

from helpers import cohort, figures, results, tables


def test_n_of_N_suppresses_small_counts_and_small_groups():
    assert tables.n_of_N(3, 40, min_cell=5) == "< 5/40"
    assert tables.n_of_N(0, 40, min_cell=5) == "0/40 (0.0%)"
    assert tables.n_of_N(3, 4, min_cell=5) == "suppressed (N < 5)"
    assert tables.n_of_N(3, 40) == "3/40 (7.5%)"


def test_mean_sd_suppresses_small_groups():
    assert tables.mean_sd([1, 2, 3], min_cell=5) == "suppressed (n < 5)"
    assert tables.mean_sd([1, 2, 3]) == "2.0 ± 1.0"


def test_table_one_cells():
    frame = pd.DataFrame({"a": ["3 (1.7)", "12 (6.7)", "4"], "b": ["34.1 (10.9)", "0 (0.0)", "<0.001"]})
    out = cohort.suppress_counts(frame, 5)
    assert out["a"].tolist() == ["< 5", "12 (6.7)", "< 5"]
    assert out["b"].tolist() == ["34.1 (10.9)", "0 (0.0)", "<0.001"]


def test_result_rows_lose_small_counts(tmp_path):
    rows = [results.row("s", "response", "percent", 7.5, detail="3/40"),
            results.row("s", "response", "percent", 30.0, detail="12/40")]
    table = pd.read_csv(results.write(rows, tmp_path, "r", min_cell=5))
    assert table["detail"].tolist() == ["< 5/40", "12/40"]
    assert math.isnan(table["value"][0]) and table["value"][1] == 30.0


def test_figure_labels_hide_small_counts():
    summary = pd.DataFrame({"timepoint": pd.Categorical(["6m", "6m"]), "arm": ["a", "b"], "n": [40, 40],
                            "CR": [3, 20], "PR": [0, 0], "NR": [37, 20], "overall": [3, 20]})
    fig = figures.response_over_time(summary, "CR", ["a", "b"], {"6m": 182}, min_cell=5)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "< 5/40" in labels and "3/40" not in labels and "20/40" in labels


def test_trajectories_draw_no_patient_lines_for_a_real_cohort():
    frame = pd.DataFrame({"patient_id": range(10), "timepoint": "6m", "baseline_upcr_g_g": range(10),
                          "upcr_g_g": range(10, 20), "group": ["x"] * 10})
    lines = figures.trajectories(frame, "upcr_g_g", "group", {"6m": 182}, min_cell=5).axes[0].lines
    assert len(lines) == 1                               # the group mean only
    assert len(figures.trajectories(frame, "upcr_g_g", "group", {"6m": 182}).axes[0].lines) == 11


def test_effect_sizes_and_p_are_hidden_beside_small_counts():
    from helpers import stats
    summary = pd.DataFrame({"timepoint": pd.Categorical(["6m", "6m"]), "arm": ["a", "b"], "n": [40, 40],
                            "CR": [3, 20], "PR": [0, 0], "NR": [37, 20], "overall": [3, 20]})
    table = tables.comparison_table(stats.response_comparison(summary, "CR", ["a", "b"]), ["a", "b"], "Timepoint",
                                    min_cell=5)
    row = table.frame.iloc[0]
    assert row["A, n/N (%)"] == "< 5/40" and row["Difference, % points (95% CI)"] == ""
    assert row["p"] == "suppressed (n < 5)"
