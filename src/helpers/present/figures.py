"""Figures for the book (matplotlib), deterministic and without pyplot state.

Each function returns a `matplotlib.figure.Figure` built without pyplot (drawn with Agg when
saved), so nothing is shown or kept open; Jupyter displays the returned figure once. Time is
drawn on a true axis in months; groups are named in words (helpers.labels); nothing that
helpers.methods.disclosure hides (a count NaN upstream, or one its rules hide at `min_cell`) is drawn or
written.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure, FigureBase
from matplotlib.transforms import blended_transform_factory

from helpers import labels
from helpers.cohort import schema
from helpers.methods import disclosure
from helpers.methods.proportions import proportion_ci
from helpers.text import literal

RESPONSE_COLOURS = {"CR": "#1b7837", "PR": "#7fbf7b", "NR": "#d9d9d9"}
SHORT_OUTCOMES = {"CR": "CR", "PR": "PR", "overall": "CR or PR", "NR": "No response"}
KM_MIN_AT_RISK = 10     # Kaplan-Meier curves stop where fewer patients than this remain at risk


# seaborn's "colorblind" palette (sns.color_palette("colorblind").as_hex()), written out: importing
# seaborn (and pyplot with it) for ten colours cost every chapter a third of a second at start-up
COLORBLIND = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161", "#fbafe4", "#949494", "#ece133",
              "#56b4e9")


def _arm(code) -> str:
    """An arm in words, as matplotlib text (helpers.text.literal: no mathtext from a '$' in a label)."""
    return literal(labels.arm(code), "figure")


def _group(code) -> str:
    """A group in words, as matplotlib text."""
    return literal(labels.group(code), "figure")


def _timepoint(name, day) -> str:
    """A timepoint in words ('6 months'; a name of the params file when it has none), as matplotlib text."""
    return literal(labels.timepoint(name, day), "figure")


def _palette(names) -> dict:
    return {name: COLORBLIND[i % len(COLORBLIND)] for i, name in enumerate(names)}


def _months_axis(ax, timepoints: dict[str, int]) -> None:
    ticks = [labels.months(d) for d in timepoints.values()]
    ax.set_xticks(ticks, [f"{t:.0f}" for t in ticks])
    ax.set_xlim(0, max(ticks) * 1.08)
    ax.set_xlabel("Months since baseline")


def _table(summary: pd.DataFrame, arms, timepoints, columns) -> pd.DataFrame:
    """Counts by (timepoint, arm): 0 where nobody was evaluated, NaN where a count is hidden."""
    rows = summary[summary["arm"].isin(arms)].copy()
    rows["timepoint"] = rows["timepoint"].astype(str)
    return rows.set_index(["timepoint", "arm"])[columns].astype(float).reindex(
        pd.MultiIndex.from_product([list(timepoints), list(arms)]), fill_value=0.0)


LINE = 18          # points between the lines of a table drawn under a figure's axes (12 pt text)
HOLLOW = "white"   # the face of a marker or bar an assumption of the reconstruction decides
ASSUMED = "assumed (not published)"


def _layout(fig: FigureBase, axes_height: float, under: int, width: float = 7.5):
    """One axes with `under` lines of a table below its x label: (axes, figure height in inches). The
    height is what `_canvas` must make the figure (per_study asks a figure's size first)."""
    below = (48 + LINE * under + 8) / 72
    height = axes_height + below + 0.35
    grid = fig.add_gridspec(1, 1, left=1.35 / width, right=0.97, bottom=below / height, top=1 - 0.35 / height)
    return fig.add_subplot(grid[0]), height


def _under_axes(ax, header: list[str], rows: list[tuple[str, str, list[str]]], title: str = "") -> None:
    """A small table under the axes, below the x label: a header of column names, then one line per row
    (its name on the left, in its colour), the columns evenly spaced across the axes (never on top of each
    other, whatever the time between timepoints)."""
    from matplotlib.transforms import offset_copy
    fig = ax.figure
    columns = len(header)
    xs = [(i + 0.5) / columns for i in range(columns)]

    def at(line):
        return offset_copy(ax.transAxes, fig=fig, y=-48 - LINE * line, units="points")
    if title:
        ax.text(-0.02, 0, title, transform=at(0), ha="right", va="top", weight="bold")
    for x, text in zip(xs, header):
        ax.text(x, 0, text, transform=at(0), ha="center", va="top", weight="bold")
    for line, (name, colour, texts) in enumerate(rows, start=1):
        ax.text(-0.02, 0, name, transform=at(line), ha="right", va="top", color=colour)
        for x, text in zip(xs, texts):
            if text:
                ax.text(x, 0, text, transform=at(line), ha="center", va="top", color=colour)


def response_over_time(summary: pd.DataFrame, outcome: str, arms, timepoints: dict[str, int],
                       min_cell: int = 0, assumed=(), fig: FigureBase | None = None) -> Figure:
    """Percent with `outcome` per timepoint and arm (from response.summarise) on a time axis in months,
    with 95% Wilson intervals, and the k/N evaluated in a table under the axis (one column per timepoint, so
    no label sits on another). A point in `assumed` ((timepoint, arm) pairs no source publishes: an
    assumption of the reconstruction decides it) is drawn hollow. With min_cell > 0 a point whose count is
    below min_cell is not drawn and its label reads 'suppressed'."""
    arms = list(arms)
    assumed = set(assumed)
    table = _table(summary, arms, timepoints, [outcome, "n"])
    under = len(arms) + 1
    fig = _canvas(fig, (7.5, 3.4 + (48 + LINE * under + 8) / 72 + 0.35))
    ax, _ = _layout(fig, 3.4, under)
    colours = _palette(arms)
    offsets = np.linspace(-0.5, 0.5, len(arms)) if len(arms) > 1 else [0.0]
    counts = []
    for arm, offset in zip(arms, offsets):
        xs, ys, lows, highs, hollow = [], [], [], [], []
        texts = []
        for tp, day in timepoints.items():
            k, n = table.loc[(tp, arm), outcome], table.loc[(tp, arm), "n"]
            x = labels.months(day) + offset
            small = disclosure.share_hidden(k, n, min_cell)          # NaN: hidden upstream
            if n and not small:
                k, n = int(k), int(n)
                lo, hi = proportion_ci(k, n)
                xs.append(x), ys.append(100 * k / n), lows.append(100 * lo), highs.append(100 * hi)
                hollow.append((tp, arm) in assumed)
            texts.append((disclosure.HIDDEN if small else f"{k}/{n}") if n else "")
        counts.append((_arm(arm), colours[arm], texts))
        ys_, lo_, hi_, xs_ = np.array(ys), np.array(lows), np.array(highs), np.array(xs)
        ax.errorbar(xs_, ys_, yerr=np.vstack([ys_ - lo_, hi_ - ys_]), marker="none", capsize=3,
                    color=colours[arm])
        solid = ~np.array(hollow, dtype=bool)
        ax.plot(xs_, ys_, marker="none", color=colours[arm], label=_arm(arm))
        ax.plot(xs_[solid], ys_[solid], linestyle="none", marker="o", markersize=7, color=colours[arm])
        if (~solid).any():
            ax.plot(xs_[~solid], ys_[~solid], linestyle="none", marker="o", markersize=7, color=colours[arm],
                    markerfacecolor=HOLLOW, markeredgewidth=1.8)
    if assumed:
        ax.plot([], [], linestyle="none", marker="o", markersize=7, color="0.3", markerfacecolor=HOLLOW,
                markeredgewidth=1.8, label=ASSUMED)
    _months_axis(ax, timepoints)
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"{labels.OUTCOMES.get(outcome, outcome)}, %")
    _legend(ax, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(arms) + bool(assumed), frameon=False,
            borderaxespad=0.2, handlelength=1.5, columnspacing=1.0)
    _under_axes(ax, [_timepoint(tp, d) for tp, d in timepoints.items()], counts, "k/N")
    return fig


def response_bars(summary: pd.DataFrame, arms, timepoints: dict[str, int], min_cell: int = 0, assumed=(),
                  fig: FigureBase | None = None) -> Figure:
    """CR, PR and no response as stacked percentages of the evaluated patients, per arm and timepoint; a bar
    in `assumed` ((timepoint, arm) whose split no source publishes) hatched. With min_cell > 0, a bar with
    any count below min_cell (or hidden upstream, NaN) is not drawn: its place reads 'suppressed', no number."""
    arms = list(arms)
    assumed = set(assumed)
    table = _table(summary, arms, timepoints, ["CR", "PR", "NR", "n"])
    fig = _canvas(fig, (7.5, 5.0))
    ax = fig.add_subplot(fig.add_gridspec(1, 1, left=0.12, right=0.97, bottom=0.2, top=0.8)[0])
    width = 0.8 / len(arms)
    short = _short_names(arms)
    for j, arm in enumerate(arms):
        for i, tp in enumerate(timepoints):
            row = table.loc[(tp, arm)]
            n = row["n"]
            if not n:
                continue
            x = i + (j - (len(arms) - 1) / 2) * width
            if len(arms) > 1:
                ax.text(x, -4, short[arm], ha="center", va="top")
            if any(disclosure.share_hidden(row[o], n, min_cell) for o in ("CR", "PR", "NR")):
                ax.text(x, 2, disclosure.HIDDEN, rotation=90, ha="center", va="bottom", color="0.35")
                continue
            bottom = 0.0
            for outcome in ("CR", "PR", "NR"):
                height = 100 * row[outcome] / n
                ax.bar(x, height, width * 0.92, bottom=bottom, color=RESPONSE_COLOURS[outcome],
                       edgecolor="white", hatch="//" if (tp, arm) in assumed and outcome != "NR" else None,
                       label=labels.OUTCOMES[outcome] if (i, j) == (0, 0) else None)
                bottom += height
    ax.set_xticks(range(len(timepoints)), [_timepoint(tp, d) for tp, d in timepoints.items()])
    ax.set_xlim(-0.5, len(timepoints) - 0.5)   # every timepoint, with or without bars
    ax.tick_params(axis="x", pad=22 if len(arms) > 1 else 4, length=0)
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of evaluated patients")
    if len(arms) > 1:
        ax.set_xlabel("; ".join(f"{short[a]}: {_arm(a)}" for a in arms))
    handles, names = ax.get_legend_handles_labels()
    if assumed:
        from matplotlib.patches import Patch
        handles.append(Patch(facecolor="white", edgecolor="0.3", hatch="//"))
        names.append(f"CR/PR split {ASSUMED}")
    if handles:
        ax.legend(handles, names, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2, frameon=False,
                  borderaxespad=0.2)
    return fig


def _short_names(arms) -> dict:
    """A short name per arm for labels under bars: the first word's first three letters, or the letters A, B,
    ... when two arms would share one."""
    short = {a: _arm(a).split()[0][:3] if _arm(a).split() else str(i) for i, a in enumerate(arms)}
    if len(set(short.values())) < len(short):
        short = {a: chr(ord("A") + i) for i, a in enumerate(arms)}
    return short


def _legend(ax, **options) -> bool:
    """A legend when something labelled was drawn (matplotlib would warn otherwise); whether it was."""
    if not ax.get_legend_handles_labels()[0]:
        return False
    ax.legend(**options)
    return True


def _canvas(fig: FigureBase | None, size: tuple[float, float]) -> FigureBase:
    """`fig` (a panel of a larger figure, see per_study), or a new figure of `size` inches."""
    return Figure(figsize=size) if fig is None else fig


def _message(text: str, fig: FigureBase | None = None) -> Figure:
    """A small figure that says, in words, why there is nothing to draw."""
    fig = _canvas(fig, (7, 1.2))
    ax = fig.subplots()
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.set_axis_off()
    return fig


def forest(comparisons: dict[str, pd.DataFrame], arms, timepoints: dict[str, int], assumed=(),
           fig: FigureBase | None = None) -> Figure:
    """Risk differences (percentage points, 95% Newcombe CI) of the first arm minus the second, per
    outcome and timepoint (from stats.response_comparison), with a column of the numbers (estimate and 95% CI)
    on the right and which arm each side favours (a response is good: a difference above zero favours the
    first arm). A comparison in `assumed` ((outcome, timepoint) an assumption of the reconstruction decides)
    is drawn hollow."""
    from helpers.present.tables import interval
    arms = list(arms)
    assumed = set(assumed)
    rows = []
    for outcome, comparison in comparisons.items():
        for r in comparison.to_dict("records"):
            if r.get("rd", math.nan) == r.get("rd", math.nan):
                tp = str(r["timepoint"])
                rows.append((f"{SHORT_OUTCOMES.get(outcome, outcome)} · {_timepoint(tp, timepoints[tp])}",
                             100 * r["rd"], 100 * r["rd_low"], 100 * r["rd_high"], (outcome, tp) in assumed,
                             interval(r["rd"], r["rd_low"], r["rd_high"], scale=100)))
    if len(arms) < 2 or not rows:
        return _message("One arm: no difference between arms to show" if len(arms) < 2
                        else "No difference is estimable (too few patients evaluated)", fig)
    height = 0.3 * len(rows) + 2.0
    fig = _canvas(fig, (7.5, height))
    ax = fig.add_subplot(fig.add_gridspec(1, 1, left=0.24, right=0.68, bottom=1.25 / height,
                                          top=1 - 0.45 / height)[0])
    y = np.arange(len(rows))[::-1]
    for yi, (_, rd, lo, hi, hollow, _) in zip(y, rows):
        ax.plot([lo, hi], [yi, yi], color="0.3")
        ax.plot([rd], [yi], marker="s", markersize=7, color="0.1", markerfacecolor=HOLLOW if hollow else "0.1",
                markeredgewidth=1.5)
    ax.axvline(0, color="0.6", linestyle="--", linewidth=1)
    ax.set_yticks(y, [r[0] for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("Difference, % points (95% CI)")
    ax.text(1.04, 1.0, "Difference (95% CI)", transform=ax.transAxes, ha="left", va="bottom", weight="bold")
    beside = blended_transform_factory(ax.transAxes, ax.transData)
    for yi, r in zip(y, rows):
        ax.text(1.04, yi, r[5] + (" *" if r[4] else ""), transform=beside, ha="left", va="center")
    a, b = _arm(arms[0]).lower(), _arm(arms[1]).lower()
    from matplotlib.transforms import offset_copy
    below = offset_copy(ax.transAxes, fig=fig, y=-50, units="points")
    ax.text(0.0, 0, f"← favours {b}", transform=below, ha="left", va="top")
    ax.text(1.0, 0, f"favours {a} →", transform=offset_copy(ax.transAxes, fig=fig, y=-50 - LINE, units="points"),
            ha="right", va="top")
    if assumed & {(o, str(t)) for o, c in comparisons.items() for t in c["timepoint"]}:
        ax.text(1.04, 0, f"hollow, *: {ASSUMED}", transform=below, ha="left", va="top")
    return fig


def at_risk_at(km_frame: pd.DataFrame, times) -> pd.DataFrame:
    """Number at risk per group at each of `times` (patients with follow-up >= t), from km_by_group."""
    def counts(rows: pd.DataFrame) -> pd.Series:
        rows = rows.sort_values("time")
        at = np.append(rows["at_risk"].to_numpy(), 0)
        return pd.Series(at[np.searchsorted(rows["time"].to_numpy(), times, side="left")], index=list(times))
    return km_frame.groupby("group", sort=False)[["time", "at_risk"]].apply(counts)


def km_plot(km_frame: pd.DataFrame, title: str, min_cell: int = 0, groups=None, statistics: str = "",
            fig: FigureBase | None = None) -> Figure:
    """Kaplan-Meier curves per group (from stats.km_by_group, time in days) on a time axis in months, as the
    percentage without the event on a y-axis that starts below the lowest step drawn (so the events are not
    squeezed into the top of a 0-100 axis; the axis says where it starts), censored patients marked '+',
    each curve stopped where fewer than KM_MIN_AT_RISK patients remain at risk, `statistics` (the log-rank p
    and hazard ratio the chapter's table shows) in the corner, and the number at risk under the axis, aligned
    with its ticks. With min_cell > 0, only the steps and numbers at risk disclosure.km_steps and
    at_risk_shown allow ('·' for a hidden one)."""
    groups = list(groups or pd.unique(km_frame["group"]))
    sizes = km_frame.groupby("group", sort=False)["at_risk"].max().astype(int).to_dict()   # at risk at the start
    dark = disclosure.hidden_groups({"all": sum(sizes.values()), **sizes}, min_cell)    # as Table 1 (dark_groups)
    steps_shown = disclosure.km_steps(km_frame[~km_frame["group"].isin(dark)], min_cell, KM_MIN_AT_RISK)
    under = len(groups) + 1
    axes_height = 3.4
    height = axes_height + (48 + LINE * under + 8) / 72 + 0.6
    fig = _canvas(fig, (7.5, height))
    ax = fig.add_subplot(fig.add_gridspec(1, 1, left=1.35 / 7.5, right=0.97, bottom=(48 + LINE * under + 8) / 72
                                          / height, top=1 - 0.6 / height)[0])
    colours = _palette(groups)
    last, lowest = 0.0, 1.0
    for group in groups:
        rows = steps_shown[steps_shown["group"] == group].sort_values("time")
        if rows.empty:
            continue
        months = labels.months(rows["time"].to_numpy())
        steps = np.r_[0.0, months]
        survival = 100 * np.r_[1.0, rows["survival"].to_numpy()]
        ax.step(steps, survival, where="post", color=colours[group], label=_group(group), linewidth=2)
        censored = rows["censored"].to_numpy() > 0
        ax.plot(months[censored], 100 * rows["survival"].to_numpy()[censored], linestyle="none", marker="+",
                markersize=9, color=colours[group])
        last = max(last, months[-1])
        lowest = min(lowest, float(rows["survival"].min()))
    ticks = [t for t in range(0, int(last) + 12, 12) if t <= last + 1] or [0]
    ax.set_xticks(ticks)
    ax.set_xlim(-1, max(ticks[-1], last) + 2)
    floor = max(0, math.floor((100 * lowest - 5) / 10) * 10)
    ax.set_ylim(floor, 101)
    ax.set_ylabel("Without the event, %" + (f" (axis from {floor})" if floor else ""))
    ax.set_xlabel("Months since baseline")
    ax.set_title(literal(title, "figure"), loc="left", pad=24)
    if statistics:
        ax.text(1.0, 1.01, literal(statistics, "figure"), transform=ax.transAxes, ha="right", va="bottom")
    drawn = _legend(ax, title="+ censored" if min_cell <= 0 else None, loc="lower left", frameon=True,
                    framealpha=0.9)
    if not drawn:
        ax.text(0.5, 0.5, "No curve can be drawn: too few patients at risk or events (see Methods)",
                transform=ax.transAxes, ha="center", va="center", wrap=True)
    risk = at_risk_at(km_frame, [t * labels.DAYS_PER_MONTH for t in ticks])
    from matplotlib.transforms import offset_copy
    place = blended_transform_factory(ax.transData, ax.transAxes)
    left = offset_copy(ax.transAxes, fig=fig, y=-48, units="points")
    fig.text(-0.02, 0, "Number at risk", transform=left, ha="right", va="top", weight="bold")
    for row, group in enumerate(groups, start=1):
        line = offset_copy(ax.transAxes, fig=fig, y=-48 - LINE * row, units="points")
        fig.text(-0.02, 0, _group(group)[:18], transform=line, ha="right", va="top", color=colours[group])
        counts = risk.loc[group] if group in risk.index else [0] * len(ticks)
        shown = [None] * len(ticks) if group in dark else disclosure.at_risk_shown(counts, min_cell)
        at = offset_copy(place, fig=fig, y=-48 - LINE * row, units="points")
        for t, r in zip(ticks, shown):
            fig.text(t, 0, "·" if r is None else str(r), transform=at, ha="center", va="top")
    return fig


def lab_label(column: str) -> str:
    """Axis label with unit for a lab column of the schema ('baseline_' prefix allowed), else the name."""
    fields = {f.name: f for f in schema.LAB_FIELDS}
    field = fields.get(column.removeprefix("baseline_"))
    return f"{field.description} ({field.unit})" if field and field.unit else column


def trajectories(classified: pd.DataFrame, column: str, group_col: str, timepoints: dict[str, int],
                 ylabel: str | None = None, min_cell: int = 0, order=(), fig: FigureBase | None = None) -> Figure:
    """Group means of `column` at baseline and at every timepoint (classified rows: one per patient and
    timepoint, with `baseline_<column>`), in bold, each over exactly the values the chapter's table of that
    timepoint uses (everyone measured then) and drawn only where that table shows it
    (disclosure.values_hidden; the baseline where some timepoint's table shows it): the figure adds no number
    to the tables. Without disclosure control (min_cell 0), a thin line per patient through the visits they
    had (patients with a baseline value and a later one); with it, no patient's own line. Patients without a
    group are one group, all patients."""
    classified = classified.assign(**{group_col: classified[group_col].fillna("all")})
    first = classified.drop_duplicates("patient_id").set_index("patient_id")
    wide = pd.DataFrame({"baseline": first[f"baseline_{column}"]})
    for tp in timepoints:
        wide[tp] = classified[classified["timepoint"] == tp].set_index("patient_id")[column]
    group_of = first[group_col]
    present = list(pd.unique(group_of))
    groups = [g for g in order if g in present] + [g for g in present if g not in order]
    hidden = {tp: disclosure.values_hidden(classified[classified["timepoint"] == tp], group_col, column, min_cell)
              for tp in timepoints}
    hidden_at = [set.intersection(*(h["baseline"] for h in hidden.values())) if hidden else set(),
                 *(h["later"] for h in hidden.values())]
    fig = _canvas(fig, (min(5.5 + 0.8 * max(len(timepoints) - 1, 0), 7.5), 5.2))
    ax = fig.add_subplot(fig.add_gridspec(1, 1, left=0.16, right=0.97, bottom=0.12, top=0.7)[0])
    colours = _palette(groups)
    x = np.arange(len(timepoints) + 1)
    for group in groups:
        values = wide[group_of == group].to_numpy(dtype=float)
        if min_cell == 0:
            keep = ~np.isnan(values[:, 0]) & (~np.isnan(values[:, 1:])).any(axis=1)
            for row in values[keep]:
                seen = ~np.isnan(row)
                ax.plot(x[seen], row[seen], color=colours[group], alpha=0.3, linewidth=0.8)
        counts = (~np.isnan(values)).sum(axis=0)
        means = [values[~np.isnan(values[:, j]), j].mean() if counts[j] and group not in hidden_at[j] else np.nan
                 for j in range(len(x))]
        if all(np.isnan(means)):
            continue
        n = f" (n = {counts[0]} at baseline)" if group not in hidden_at[0] else ""
        ax.plot(x, means, color=colours[group], linewidth=3, marker="o", label=f"{_group(group)}: mean{n}")
    ax.set_xticks(x, ["Baseline", *(_timepoint(tp, day) for tp, day in timepoints.items())])
    ax.set_xlim(-0.2, len(timepoints) + 0.2)
    ax.set_ylabel(ylabel or lab_label(column))
    if not _legend(ax, loc="lower left", bbox_to_anchor=(0, 1.02), frameon=False, borderaxespad=0):
        ax.text(0.5, 0.5, "No group large enough to draw (see Methods)", transform=ax.transAxes, ha="center",
                va="center")
    return fig


def evaluated_over_time(panels: list[tuple], min_cell: int = 0) -> Figure:
    """Patients evaluated at each timepoint, per arm, as a share of the arm (loss to follow-up): one
    panel per study, each given as (title, summary, arms, timepoints, sizes); the numbers evaluated in a
    table under each panel's axis (a column per timepoint: no number sits on another)."""
    if not panels:
        return _message("No study in this cohort has arms and known timepoints")
    unders = [len(p[2]) + 1 for p in panels]
    heights = [3.0 + (48 + LINE * u + 8) / 72 + 0.9 for u in unders]
    fig = Figure(figsize=(7.5, sum(heights)))
    subs = fig.subfigures(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    for sub, height, under, (title, summary, arms, timepoints, sizes) in zip(subs, heights, unders, panels):
        arms = list(arms)
        ax = sub.add_subplot(sub.add_gridspec(1, 1, left=1.35 / 7.5, right=0.97,
                                              bottom=(48 + LINE * under + 8) / 72 / height,
                                              top=1 - 0.9 / height)[0])
        table = _table(summary, arms, timepoints, ["n"])
        colours = _palette(arms)
        ticks = [0.0] + [labels.months(d) for d in timepoints.values()]
        rows = []
        for arm in arms:
            ns = [sizes[arm]] + [table.loc[(tp, arm), "n"] for tp in timepoints]
            shown = [not disclosure.share_hidden(n, sizes[arm], min_cell) for n in ns]
            ax.plot([t for t, ok in zip(ticks, shown) if ok], [100 * n / sizes[arm] for n, ok in zip(ns, shown) if ok],
                    marker="o", color=colours[arm], label=f"{_arm(arm)} (N = {sizes[arm]})")
            rows.append((_arm(arm), colours[arm], [str(int(n)) if ok else disclosure.HIDDEN
                                                   for n, ok in zip(ns, shown)]))
        ax.set_xticks(ticks, [f"{t:.0f}" for t in ticks])
        ax.set_xlabel("Months since baseline")
        ax.set_ylim(0, 100)
        ax.set_ylabel("Evaluated, % of the arm")
        ax.set_title(literal(title, "figure"), loc="left", pad=30)
        _legend(ax, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(arms), frameon=False, borderaxespad=0.2)
        _under_axes(ax, ["Baseline", *(_timepoint(tp, d) for tp, d in timepoints.items())], rows, "n")
    return fig


def p_label(pub, number, with_source: bool = False) -> str:
    """A published p-value in clinical words: 'CR at 1 year, p'; with its source's year and kind when asked
    ('CR or PR at 5 years, p (2023 abstract)')."""
    import re
    n = pub.number(number) if isinstance(number, str) else number
    what = labels.OUTCOMES.get(n.outcome, labels.EVENTS.get(n.measure, n.measure or ""))
    what = {"Complete response": "CR", "Partial response": "PR", "Overall response (CR or PR)": "CR or PR"}.get(what,
                                                                                                              what)
    when = f" at {labels.timepoint(n.timepoint, pub.timepoints[n.timepoint])}" if n.timepoint in pub.timepoints else ""
    if not with_source:
        return f"{what}{when}, p"
    source = pub.sources[n.source].short if n.source in pub.sources else n.source
    year = re.search(r"(19|20)\d\d", source)
    kind = "abstract" if "abstract" in source else "paper"
    return f"{what}{when}, p ({year.group(0) + ' ' if year else ''}{kind})"


def p_titles(pub, numbers) -> dict[str, str]:
    """p_label of each number, with the source where two would read the same."""
    plain = {n: p_label(pub, n) for n in numbers}
    twice = {t for t in plain.values() if list(plain.values()).count(t) > 1}
    return {n: p_label(pub, n, plain[n] in twice) for n in numbers}


def p_value_ranges(searches: list, titles: dict[str, str] | None = None, floor: float = 1e-4) -> Figure:
    """Each published p-value (red cross) against the p-values the named tests reach on every count
    table consistent with the published numbers (helpers.publication.feasibility.verdict): a grey bar from the
    smallest to the largest p of the 2 x 2 tests, a thin line for the CR/PR/NR table (with its unpublished
    splits free); drawn from `floor` where they reach lower. Only p-values are drawn (anything else given is
    left out), each row named by `titles` (clinical words, p_label) when given."""
    titles = titles or {}
    searches = [s for s in searches if 0 <= s.published <= 1 and s.ranges]
    if not searches:
        return _message("No published p-value to recompute")
    height = 0.4 * len(searches) + 1.9
    fig = Figure(figsize=(7.5, height))
    ax = fig.add_subplot(fig.add_gridspec(1, 1, left=0.5, right=0.97, bottom=1.2 / height,
                                          top=1 - 0.55 / height)[0])
    y = np.arange(len(searches))[::-1]
    for yi, s in zip(y, searches):
        for tests, colour, width in ((s.ranges.keys() & {"response_table"}, "0.7", 2),
                                     (s.ranges.keys() - {"response_table"}, "0.5", 7)):
            if tests:
                lows, highs = zip(*(s.ranges[t] for t in tests))
                ax.plot([max(min(lows), floor), min(max(highs), 1.0)], [yi, yi], color=colour, linewidth=width,
                        solid_capstyle="butt")
        ax.plot([s.published], [yi], marker="x", color="#c0392b", markersize=10, mew=2.5)
    ax.set_xscale("log")
    ax.set_xlim(floor, 1.0)
    decades = [10.0 ** e for e in range(math.floor(math.log10(floor)), 1)]
    ax.set_xticks(decades, [f"{d:g}" for d in decades])      # plain numbers: no small superscripts
    ax.xaxis.set_minor_formatter("")
    ax.set_ylim(-0.7, len(searches) - 0.3)
    ax.set_yticks(y, [literal(titles.get(s.number, s.number), "figure") for s in searches])
    ax.set_xlabel("p-value (log scale)")
    from matplotlib.lines import Line2D
    ax.legend([Line2D([], [], color="0.5", linewidth=7), Line2D([], [], color="0.7", linewidth=2),
               Line2D([], [], color="#c0392b", marker="x", linestyle="none", markersize=10, mew=2.5)],
              ["2 x 2 tests", "CR/PR/NR table", "published p"], loc="lower left", bbox_to_anchor=(0, 1.0),
              ncols=3, frameon=False, borderaxespad=0.2, columnspacing=1.0)
    return fig


def per_study(draw, panels: dict[str, tuple]) -> Figure:
    """One figure with a panel per study under its title: `draw` (a figure function of this module)
    called with each study's arguments, in a sub-figure as tall as `draw` makes it alone."""
    import textwrap
    sizes = [draw(*args).get_size_inches() for args in panels.values()]
    titles = {title: textwrap.fill(literal(title, "figure"), 70) for title in panels}
    title_height = 0.25 + 0.22 * max(t.count("\n") + 1 for t in titles.values())
    fig = Figure(figsize=(max(w for w, _ in sizes), sum(h + title_height for _, h in sizes)))
    ratios = [r for _, h in sizes for r in (title_height, h)]
    subs = fig.subfigures(len(ratios), 1, squeeze=False, height_ratios=ratios)[:, 0]
    for (head, body), (title, args) in zip(zip(subs[::2], subs[1::2]), panels.items()):
        head.text(0.02, 0.15, titles[title], weight="bold", va="bottom")
        draw(*args, fig=body)
    return fig
