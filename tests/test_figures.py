"""helpers.figures: each returns a Figure with the expected lines, labels and annotations."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers import figures, stats  # noqa: E402


@pytest.fixture
def summary():
    frame = pd.DataFrame({"timepoint": pd.Categorical(["6m", "6m", "12m", "12m"], categories=["6m", "12m"]),
                          "arm": ["a", "b"] * 2, "n": [10, 8, 9, 0], "CR": [5, 6, 3, 0], "PR": [1, 1, 2, 0],
                          "NR": [4, 1, 4, 0]})
    return frame.assign(overall=frame["CR"] + frame["PR"])


def data_lines(ax):
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 0]


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def test_response_over_time(summary):
    before = summary.copy()
    fig = figures.response_over_time(summary, "overall", ["a", "b"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(data_lines(ax)) == 2
    assert list(np.round(data_lines(ax)[0].get_ydata(), 2)) == [60.0, 55.56]
    assert np.isnan(data_lines(ax)[1].get_ydata()[1])  # arm b has nobody evaluated at 12m: no point
    # every evaluated point carries its k/N; the empty arm at 12m has no point and no label
    assert sorted(t.get_text() for t in ax.texts) == ["5/9", "6/10", "7/8"]
    assert "%" in ax.get_ylabel() and "Overall response" in ax.get_ylabel()
    assert ax.get_xlabel() and [t.get_text() for t in ax.get_xticklabels()] == ["6m", "12m"]
    pd.testing.assert_frame_equal(summary, before)
    assert png(fig) == png(figures.response_over_time(summary, "overall", ["a", "b"]))  # deterministic
    plt.close(fig)
    assert plt.get_fignums() == []  # nothing left open in pyplot


def test_km_plot():
    km = stats.km_by_group(pd.Series([1, 2, 3, 4, 2, 5]), pd.Series([1, 1, 0, 1, 0, 1]), pd.Series(list("aaaabb")))
    fig = figures.km_plot(km, "Renal flare")
    ax = fig.axes[0]
    assert len(data_lines(ax)) == 2
    assert ax.get_title() == "Renal flare"
    assert ax.get_xlabel() == "Time since baseline (days)" and "proportion" in ax.get_ylabel()
    note = "\n".join(t.get_text() for t in fig.texts)
    assert note.startswith("Number at risk at day 0 / 1 / 2 / 3 / 4 / 5:")
    assert "a: 4 / 4 / 3 / 2 / 1 / 0" in note and "b: 2 / 2 / 2 / 1 / 1 / 1" in note
    plt.close(fig)


def test_at_risk_at():
    km = stats.km_by_group(pd.Series([1, 2, 3, 4]), pd.Series([1, 1, 0, 1]), pd.Series(list("aaaa")))
    assert figures.at_risk_at(km, [0, 1.5, 3, 4, 10]).loc["a"].tolist() == [4, 3, 2, 1, 0]


def test_paired_trajectories():
    frame = pd.DataFrame({"patient_id": list("pqrst"), "arm": ["a", "a", "b", "b", "b"],
                          "baseline_upcr_g_g": [3.0, 2.0, 4.0, 5.0, np.nan],
                          "upcr_g_g": [1.0, 1.0, 2.0, 3.0, 1.0]})
    before = frame.copy()
    fig = figures.paired_trajectories(frame, "baseline_upcr_g_g", "upcr_g_g", "arm")
    ax = fig.axes[0]
    lines = data_lines(ax)
    assert len(lines) == 4 + 2  # 4 complete patients + 2 group means
    means = [line for line in lines if line.get_label().endswith("mean (n = 2)")]
    assert [list(m.get_ydata()) for m in means] == [[2.5, 1.0], [4.5, 2.5]]
    assert ax.get_ylabel() == "Urine protein/creatinine ratio (g/g)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Baseline", "Follow-up"]
    pd.testing.assert_frame_equal(frame, before)
    plt.close(fig)
    custom = figures.paired_trajectories(frame, "baseline_upcr_g_g", "upcr_g_g", "arm", ylabel="UPCR (g/g)")
    assert custom.axes[0].get_ylabel() == "UPCR (g/g)"
    plt.close(custom)
