"""helpers.present.figures: each returns a Figure with the expected lines, labels and annotations, on a
time axis in months, nothing left open in pyplot, the same pixels every time."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers.methods import stats  # noqa: E402
from helpers.present import figures  # noqa: E402

TIMEPOINTS = {"6m": 182, "12m": 365}


@pytest.fixture
def summary():
    frame = pd.DataFrame({"timepoint": pd.Categorical(["6m", "6m", "12m", "12m"], categories=["6m", "12m"]),
                          "arm": ["a", "b"] * 2, "n": [10, 8, 9, 0], "CR": [5, 6, 3, 0], "PR": [1, 1, 2, 0],
                          "NR": [4, 1, 4, 0]})
    return frame.assign(overall=frame["CR"] + frame["PR"])


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def test_response_over_time_on_a_month_axis_with_wilson_intervals(summary):
    before = summary.copy()
    fig = figures.response_over_time(summary, "overall", ["a", "b"], TIMEPOINTS)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    # arm a at 6 and 12 months (60% and 55.6%), arm b only at 6 months (nobody evaluated at 12)
    points = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [list(np.round(line.get_ydata(), 2)) for line in points] == [[60.0, 55.56], [87.5]]
    assert [round(x, 1) for x in points[0].get_xdata()] == [5.5, 11.5]          # 6 and 12 months, offset
    texts = [t.get_text() for t in ax.texts]   # the k/N table under the axis: header, then a line per arm
    assert texts == ["k/N", "6 months", "1 year", "A", "6/10", "5/9", "B", "7/8"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["6", "12"] and ax.get_xlabel() == "Months since baseline"
    assert "Overall response" in ax.get_ylabel()
    pd.testing.assert_frame_equal(summary, before)
    assert png(fig) == png(figures.response_over_time(summary, "overall", ["a", "b"], TIMEPOINTS))
    assert plt.get_fignums() == []  # nothing left open in pyplot


def test_response_bars_stack_to_100(summary):
    fig = figures.response_bars(summary, ["a", "b"], TIMEPOINTS)
    bars = fig.axes[0].patches
    assert len(bars) == 3 * 3                     # a at 6 and 12 months, b at 6 months; CR, PR, NR each
    tops = sorted({round(b.get_y() + b.get_height(), 6) for b in bars})
    assert tops[-1] == 100.0


def test_response_bars_label_a_suppressed_bar_and_draw_no_number_there(summary):
    hidden = summary.copy()
    hidden.loc[(hidden["timepoint"] == "12m") & (hidden["arm"] == "a"), ["n", "CR", "PR", "NR", "overall"]] = np.nan
    fig = figures.response_bars(hidden, ["a", "b"], TIMEPOINTS, min_cell=5)
    ax = fig.axes[0]
    assert len(ax.patches) == 0      # 6 months: 1 PR in a and in b (below 5); 12 months: a hidden
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("suppressed") == 3 and not any(c.isdigit() for t in texts for c in t)
    assert sorted(t for t in texts if t != "suppressed") == ["A", "A", "B"]   # b at 12 months: nobody evaluated
    assert ax.get_xlim() == (-0.5, 1.5)        # the last timepoint in view, bars or not
    assert plt.get_fignums() == []


def test_forest_draws_one_interval_per_comparison(summary):
    comparison = stats.response_comparison(summary, "CR", ["a", "b"])
    fig = figures.forest({"CR": comparison}, ["a", "b"], TIMEPOINTS)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["CR · 6 months"]   # 12 months: arm b empty
    texts = [t.get_text() for t in ax.texts]
    assert "Difference (95% CI)" in texts and "← favours b" in texts and "favours a →" in texts
    assert any(t.startswith("−") or t[:1].isdigit() for t in texts)      # the numbers column


def test_km_plot_in_months_with_censor_marks_and_aligned_risk_table():
    days = pd.Series([30, 61, 91, 122, 61, 152] * 3)
    events = pd.Series([1, 1, 0, 1, 0, 1] * 3)
    groups = pd.Series(list("aaaabb") * 3)
    km = stats.km_by_group(days, events, groups)
    fig = figures.km_plot(km, "Renal flare", groups=["a", "b"])
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Renal flare" and ax.get_xlabel() == "Months since baseline"
    assert ax.get_ylim()[1] > 100 and "Without the event, %" in ax.get_ylabel()
    assert any(line.get_marker() == "+" for line in ax.get_lines())               # censored patients
    texts = [t.get_text() for t in fig.texts]
    assert "Number at risk" in texts and "12" in texts and "6" in texts          # 12 in a, 6 in b at month 0
    steps = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-post"]
    assert steps and max(steps[0].get_xdata()) < 5.1                            # stops before fewer than 10 at risk


def test_at_risk_at():
    km = stats.km_by_group(pd.Series([1, 2, 3, 4]), pd.Series([1, 1, 0, 1]), pd.Series(list("aaaa")))
    assert figures.at_risk_at(km, [0, 1.5, 3, 4, 10]).loc["a"].tolist() == [4, 3, 2, 1, 0]


def test_trajectories():
    frame = pd.DataFrame({"patient_id": list("pqrst"), "timepoint": "24w",
                          "group": ["partial", "partial", "none", "none", "none"],
                          "baseline_upcr_g_g": [3.0, 2.0, 4.0, 5.0, np.nan],
                          "upcr_g_g": [1.0, 1.0, 2.0, 3.0, 1.0]})
    before = frame.copy()
    fig = figures.trajectories(frame, "upcr_g_g", "group", {"24w": 168}, order=["partial", "none"])
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) > 0]
    assert len(lines) == 4 + 2  # 4 complete patients + 2 group means
    means = [line for line in lines if "mean" in line.get_label()]
    assert [m.get_label() for m in means] == ["Partial response to induction: mean (n = 2 at baseline)",
                                              "No response to induction: mean (n = 2 at baseline)"]
    # each mean over everyone measured at that visit, as the chapter's table (t, without a baseline, at 24 weeks)
    assert [list(m.get_ydata()) for m in means] == [[2.5, 1.0], [4.5, 2.0]]
    assert ax.get_ylabel() == "Urine protein/creatinine ratio (g/g)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "24 weeks"]
    pd.testing.assert_frame_equal(frame, before)


def test_trajectories_over_two_timepoints_follow_each_patient_through_the_visits_they_had():
    frame = pd.DataFrame({"patient_id": list("pqpq"), "timepoint": ["6m", "6m", "12m", "12m"], "group": "all",
                          "baseline_egfr": [90.0, 70.0, 90.0, 70.0], "egfr": [np.nan, 60.0, 100.0, 50.0]})
    ax = figures.trajectories(frame, "egfr", "group", {"6m": 182, "12m": 365}).axes[0]
    lines = [line for line in ax.get_lines() if len(line.get_xdata()) > 0]
    assert [list(line.get_xdata()) for line in lines[:2]] == [[0, 2], [0, 1, 2]]   # p missed the 6-month visit
    assert list(lines[-1].get_ydata()) == [80.0, 60.0, 75.0]                        # means over who was seen
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "6 months", "1 year"]


def test_evaluated_over_time(summary):
    fig = figures.evaluated_over_time([("Demo", summary, ["a", "b"], TIMEPOINTS, {"a": 12, "b": 10})])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["n", "Baseline", "6 months", "1 year", "A", "12", "10", "9", "B", "10", "8", "0"]
    assert fig.axes[0].get_title(loc="left") == "Demo"
    empty = figures.evaluated_over_time([])
    assert "No study" in empty.axes[0].texts[0].get_text()


def test_p_value_ranges():
    from helpers.publication import feasibility, published
    pub = published.load("study_a")
    searches = [s for n in pub.numbers if (s := feasibility.verdict(pub, n)) is not None]
    fig = figures.p_value_ranges(searches, figures.p_titles(pub, [s.number for s in searches]))
    names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert names[:3] == ["CR at 6 months, p", "PR at 6 months, p", "CR at 1 year, p"]
    assert "CR or PR at 5 years, p (2023 abstract)" in names and not any("_" in n for n in names)
    assert fig.axes[0].get_xlim()[1] == 1.0                              # p-values only: nothing past 1
    assert fig.axes[0].get_xscale() == "log"


def test_the_palette_is_seaborns_colorblind_one():
    import seaborn as sns
    assert list(figures.COLORBLIND) == sns.color_palette("colorblind").as_hex()
