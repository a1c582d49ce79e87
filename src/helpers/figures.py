"""Figures for the book (matplotlib / seaborn), deterministic and without pyplot state.

Each function returns a `matplotlib.figure.Figure` built without pyplot (drawn with
Agg when saved), so nothing is shown or kept open; Jupyter displays the returned
figure once.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from . import schema

OUTCOME_LABELS = {"CR": "Complete response", "PR": "Partial response", "overall": "Overall response (CR + PR)"}


def _palette(names) -> dict:
    return dict(zip(names, sns.color_palette("colorblind", len(names))))


def response_over_time(summary: pd.DataFrame, outcome: str, arms, min_cell: int = 0) -> Figure:
    """Percent with `outcome` per timepoint and arm (from response.summarise), each point annotated k/N.
    With min_cell > 0, a point whose count is below min_cell is not drawn and its label reads '< 5/N'."""
    arms = list(arms)
    rows = summary[summary["arm"].isin(arms)]
    timepoints = list(rows["timepoint"].cat.categories) if isinstance(rows["timepoint"].dtype, pd.CategoricalDtype) \
        else list(pd.unique(rows["timepoint"]))
    table = rows.set_index(["timepoint", "arm"])[[outcome, "n"]].unstack("arm") \
        .reindex(index=timepoints, columns=pd.MultiIndex.from_product([[outcome, "n"], arms])).fillna(0).astype(int)
    k, n = table[outcome], table["n"]
    percent = (100 * k / n.where(n > 0)).astype(float)
    small = ((k > 0) & (k < min_cell)) | ((n > 0) & (n < min_cell))
    percent = percent.mask(small)
    top = percent.eq(percent.max(axis=1), axis=0)  # the highest arm's label goes above its point, others below
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    colours = _palette(arms)
    x = np.arange(len(timepoints))
    for arm in arms:
        ax.plot(x, percent[arm], marker="o", color=colours[arm], label=arm)
        shown = (n[arm] > 0).to_numpy()
        for xi, yi, ki, ni, up in zip(x[shown], percent[arm][shown], k[arm][shown], n[arm][shown], top[arm][shown]):
            label = f"< {min_cell}/{ni}" if 0 < ki < min_cell or ni < min_cell else f"{ki}/{ni}"
            yi = 2 if np.isnan(yi) else yi
            ax.annotate(label, (xi, yi), xytext=(0, 8 if up else -14),
                        textcoords="offset points", ha="center", fontsize=8, color=colours[arm])
    ax.set_xticks(range(len(timepoints)), [str(t) for t in timepoints])
    ax.set_ylim(0, 105)
    ax.set_xlabel("Nominal timepoint after baseline")
    ax.set_ylabel(f"{OUTCOME_LABELS.get(outcome, outcome)} (% of evaluated patients)")
    ax.legend(title="Arm (annotations: k/N evaluated)")
    return fig


def at_risk_at(km_frame: pd.DataFrame, times) -> pd.DataFrame:
    """Number at risk per group at each of `times` (patients with follow-up >= t), from km_by_group."""
    def counts(rows: pd.DataFrame) -> pd.Series:
        rows = rows.sort_values("time")
        at = np.append(rows["at_risk"].to_numpy(), 0)
        return pd.Series(at[np.searchsorted(rows["time"].to_numpy(), times, side="left")], index=list(times))
    return km_frame.groupby("group", sort=False)[["time", "at_risk"]].apply(counts)


def km_plot(km_frame: pd.DataFrame, title: str, min_cell: int = 0) -> Figure:
    """Kaplan-Meier step curves per group (from stats.km_by_group) with a number-at-risk note
    (numbers below min_cell shown as '< 5')."""
    groups = list(pd.unique(km_frame["group"]))
    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    colours = _palette(groups)
    for group in groups:
        rows = km_frame[km_frame["group"] == group]
        ax.step(rows["time"], rows["survival"], where="post", color=colours[group], label=group)
    ticks = [int(t) for t in ax.get_xticks() if 0 <= t <= km_frame["time"].max()]
    risk = at_risk_at(km_frame, ticks)
    lines = [f"Number at risk at day {' / '.join(map(str, ticks))}:"] + \
            [f"{g}: {' / '.join(f'< {min_cell}' if 0 < r < min_cell else str(r) for r in risk.loc[g])}"
             for g in groups]
    fig.subplots_adjust(bottom=0.14 + 0.045 * len(lines))
    fig.text(0.02, 0.02, "\n".join(lines), fontsize=8, va="bottom")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("Time since baseline (days)")
    ax.set_ylabel("Event-free survival (proportion)")
    ax.set_title(title)
    ax.legend(title="Group")
    return fig


def lab_label(column: str) -> str:
    """Axis label with unit for a lab column of the schema ('baseline_' prefix allowed), else the name."""
    fields = {f.name: f for f in schema.LABS}
    field = fields.get(column.removeprefix("baseline_"))
    return f"{field.description} ({field.unit})" if field and field.unit else column


def paired_trajectories(frame: pd.DataFrame, before_col: str, after_col: str, group_col: str,
                        ylabel: str | None = None, min_cell: int = 0) -> Figure:
    """One line per patient from baseline to follow-up, coloured by group, group means in bold;
    patients missing either value are left out. With min_cell > 0 (a real cohort) no patient's
    own line is drawn, and a group of fewer than min_cell patients shows no mean."""
    complete = frame.dropna(subset=[before_col, after_col])
    groups = list(pd.unique(complete[group_col]))
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    colours = _palette(groups)
    for group in groups:
        values = complete.loc[complete[group_col] == group, [before_col, after_col]].to_numpy(dtype=float)
        if min_cell == 0:
            ax.plot([0, 1], values.T, color=colours[group], alpha=0.3, linewidth=0.8)
        elif len(values) < min_cell:
            continue
        ax.plot([0, 1], values.mean(axis=0), color=colours[group], linewidth=3, marker="o",
                label=f"{group} mean (n = {len(values)})")
    ax.set_xticks([0, 1], ["Baseline", "Follow-up"])
    ax.set_xlim(-0.2, 1.2)
    ax.set_xlabel("Visit")
    ax.set_ylabel(ylabel or lab_label(after_col))
    ax.legend()
    return fig
