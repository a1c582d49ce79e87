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


def response_over_time(summary: pd.DataFrame, outcome: str, arms, timepoints: dict[str, int],
                       min_cell: int = 0, fig: FigureBase | None = None) -> Figure:
    """Percent with `outcome` per timepoint and arm (from response.summarise) on a time axis in months,
    with 95% Wilson intervals, each point labelled k/N. With min_cell > 0 a point whose count is
    below min_cell is not drawn and its label reads '< 5/N'."""
    arms = list(arms)
    table = _table(summary, arms, timepoints, [outcome, "n"])
    fig = _canvas(fig, (7, 4.5))
    ax = fig.subplots()
    colours = _palette(arms)
    offsets = np.linspace(-0.5, 0.5, len(arms)) if len(arms) > 1 else [0.0]
    for arm, offset in zip(arms, offsets):
        xs, ys, lows, highs = [], [], [], []
        for tp, day in timepoints.items():
            k, n = table.loc[(tp, arm), outcome], table.loc[(tp, arm), "n"]
            x = labels.months(day) + offset
            small = disclosure.share_hidden(k, n, min_cell)          # NaN: hidden upstream
            if n and not small:
                k, n = int(k), int(n)
                lo, hi = proportion_ci(k, n)
                xs.append(x), ys.append(100 * k / n), lows.append(100 * lo), highs.append(100 * hi)
            if n:
                text = disclosure.HIDDEN if small else f"{k}/{n}"
                y = 2 if small else 100 * k / n
                up = len(arms) == 1 or arm == arms[0]
                ax.annotate(text, (x, y), xytext=(0, 9 if up else -15), textcoords="offset points", ha="center",
                            fontsize=7, color=colours[arm])
        ys_, lo_, hi_ = np.array(ys), np.array(lows), np.array(highs)
        ax.errorbar(np.array(xs), ys_, yerr=np.vstack([ys_ - lo_, hi_ - ys_]), marker="o", capsize=3,
                    color=colours[arm], label=_arm(arm))
    _months_axis(ax, timepoints)
    ax.set_ylim(0, 105)
    ax.set_ylabel(f"{labels.OUTCOMES.get(outcome, outcome)}, % of evaluated")
    _legend(ax, title="Points: k/N evaluated; bars: 95% CI", fontsize=8, title_fontsize=8, loc="lower right")
    return fig


def response_bars(summary: pd.DataFrame, arms, timepoints: dict[str, int], min_cell: int = 0,
                  fig: FigureBase | None = None) -> Figure:
    """CR, PR and no response as stacked percentages of the evaluated patients, per arm and timepoint.
    With min_cell > 0, a bar with any count below min_cell is left out."""
    arms = list(arms)
    table = _table(summary, arms, timepoints, ["CR", "PR", "NR", "n"])
    fig = _canvas(fig, (7.5, 4.2))
    ax = fig.subplots()
    width = 0.8 / len(arms)
    for j, arm in enumerate(arms):
        for i, tp in enumerate(timepoints):
            row = table.loc[(tp, arm)]
            n = row["n"]
            if not n or any(disclosure.share_hidden(row[o], n, min_cell) for o in ("CR", "PR", "NR")):
                continue
            bottom = 0.0
            x = i + (j - (len(arms) - 1) / 2) * width
            for outcome in ("CR", "PR", "NR"):
                height = 100 * row[outcome] / n
                ax.bar(x, height, width * 0.92, bottom=bottom, color=RESPONSE_COLOURS[outcome],
                       edgecolor="white", label=labels.OUTCOMES[outcome] if (i, j) == (0, 0) else None)
                bottom += height
            ax.text(x, 101, _arm(arm).split()[0][:3] if len(arms) > 1 else "", ha="center", fontsize=7)
    ax.set_xticks(range(len(timepoints)), [_timepoint(tp, d) for tp, d in timepoints.items()])
    ax.set_ylim(0, 108)
    ax.set_ylabel("% of evaluated patients")
    if len(arms) > 1:
        ax.set_xlabel("Timepoint (" + "; ".join(f"{_arm(a).split()[0][:3]}: {_arm(a)}" for a in arms)
                      + ")")
    _legend(ax, fontsize=8, loc="lower right", framealpha=0.9)
    return fig


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


def forest(comparisons: dict[str, pd.DataFrame], arms, timepoints: dict[str, int],
           fig: FigureBase | None = None) -> Figure:
    """Risk differences (percentage points, 95% Newcombe CI) of the first arm minus the second, per
    outcome and timepoint (from stats.response_comparison)."""
    arms = list(arms)
    rows = []
    for outcome, comparison in comparisons.items():
        for r in comparison.to_dict("records"):
            if r.get("rd", math.nan) == r.get("rd", math.nan):
                rows.append((f"{outcome} · {_timepoint(str(r['timepoint']), timepoints[str(r['timepoint'])])}",
                             100 * r["rd"], 100 * r["rd_low"], 100 * r["rd_high"]))
    if len(arms) < 2 or not rows:
        return _message("One arm: no difference between arms to show" if len(arms) < 2
                        else "No difference is estimable (too few patients evaluated)", fig)
    fig = _canvas(fig, (7, 0.32 * len(rows) + 1.2))
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    for yi, (_, rd, lo, hi) in zip(y, rows):
        ax.plot([lo, hi], [yi, yi], color="0.3")
        ax.plot([rd], [yi], marker="s", color="0.1")
    ax.axvline(0, color="0.6", linestyle="--", linewidth=1)
    ax.set_yticks(y, [r[0] for r in rows], fontsize=8)
    ax.set_xlabel(f"Difference, % points: {_arm(arms[0]).lower()} minus {_arm(arms[1]).lower()} "
                  f"(95% CI)")
    fig.subplots_adjust(left=0.3)
    return fig


def at_risk_at(km_frame: pd.DataFrame, times) -> pd.DataFrame:
    """Number at risk per group at each of `times` (patients with follow-up >= t), from km_by_group."""
    def counts(rows: pd.DataFrame) -> pd.Series:
        rows = rows.sort_values("time")
        at = np.append(rows["at_risk"].to_numpy(), 0)
        return pd.Series(at[np.searchsorted(rows["time"].to_numpy(), times, side="left")], index=list(times))
    return km_frame.groupby("group", sort=False)[["time", "at_risk"]].apply(counts)


def km_plot(km_frame: pd.DataFrame, title: str, min_cell: int = 0, groups=None,
            fig: FigureBase | None = None) -> Figure:
    """Kaplan-Meier curves per group (from stats.km_by_group, time in days) on a time axis in months,
    censored patients marked '+', each curve stopped where fewer than KM_MIN_AT_RISK patients remain at
    risk, and the number at risk under the axis, aligned with its ticks. With min_cell > 0, only
    the steps and numbers at risk disclosure.km_steps and at_risk_shown allow ('·' for a hidden one)."""
    groups = list(groups or pd.unique(km_frame["group"]))
    sizes = km_frame.groupby("group", sort=False)["at_risk"].max().astype(int).to_dict()   # at risk at the start
    dark = disclosure.hidden_groups({"all": sum(sizes.values()), **sizes}, min_cell)    # as Table 1 (dark_groups)
    steps_shown = disclosure.km_steps(km_frame[~km_frame["group"].isin(dark)], min_cell, KM_MIN_AT_RISK)
    fig = _canvas(fig, (7.5, 5.2))
    ax = fig.add_axes((0.2, 0.33, 0.76, 0.58))
    colours = _palette(groups)
    last = 0.0
    for group in groups:
        rows = steps_shown[steps_shown["group"] == group].sort_values("time")
        if rows.empty:
            continue
        months = labels.months(rows["time"].to_numpy())
        steps = np.r_[0.0, months]
        survival = np.r_[1.0, rows["survival"].to_numpy()]
        ax.step(steps, survival, where="post", color=colours[group], label=_group(group))
        censored = rows["censored"].to_numpy() > 0
        ax.plot(months[censored], rows["survival"].to_numpy()[censored], linestyle="none", marker="+",
                markersize=7, color=colours[group])
        last = max(last, months[-1])
    ticks = [t for t in range(0, int(last) + 12, 12) if t <= last + 1] or [0]
    ax.set_xticks(ticks)
    ax.set_xlim(-1, max(ticks[-1], last) + 2)
    ax.set_ylim(0, 1.03)
    ax.set_ylabel("Without the event (proportion)")
    ax.set_xlabel("Months since baseline")
    ax.set_title(literal(title, "figure"), fontsize=10)
    if not _legend(ax, title="+ censored" if min_cell <= 0 else None, fontsize=8, title_fontsize=8,
                   loc="lower left"):
        ax.text(0.5, 0.5, "No curve can be drawn: too few patients at risk or events (see Methods)",
                transform=ax.transAxes, ha="center", va="center", fontsize=9)
    risk = at_risk_at(km_frame, [t * labels.DAYS_PER_MONTH for t in ticks])
    place = blended_transform_factory(ax.transData, fig.transSubfigure)
    fig.text(0.01, 0.16, "Number at risk", fontsize=8, weight="bold")
    for row, group in enumerate(groups):
        y = 0.11 - 0.045 * row
        fig.text(0.01, y, _group(group)[:14], fontsize=8, color=colours[group])
        counts = risk.loc[group] if group in risk.index else [0] * len(ticks)
        shown = [None] * len(ticks) if group in dark else disclosure.at_risk_shown(counts, min_cell)
        for t, r in zip(ticks, shown):
            fig.text(t, y, "·" if r is None else str(r), transform=place, ha="center", fontsize=8)
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
    fig = _canvas(fig, (5.5 + 0.8 * max(len(timepoints) - 1, 0), 5))
    ax = fig.subplots()
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
    if not _legend(ax, fontsize=8):
        ax.text(0.5, 0.5, "No group large enough to draw (see Methods)", transform=ax.transAxes, ha="center",
                va="center", fontsize=9)
    return fig


def evaluated_over_time(panels: list[tuple], min_cell: int = 0) -> Figure:
    """Patients evaluated at each timepoint, per arm, as a share of the arm (loss to follow-up): one
    panel per study, each given as (title, summary, arms, timepoints, sizes)."""
    fig = Figure(figsize=(7, 3.6 * max(len(panels), 1)))
    axes = fig.subplots(max(len(panels), 1), 1, squeeze=False)[:, 0]
    if not panels:
        return _message("No study in this cohort has arms and known timepoints")
    for ax, (title, summary, arms, timepoints, sizes) in zip(axes, panels):
        arms = list(arms)
        table = _table(summary, arms, timepoints, ["n"])
        colours = _palette(arms)
        ticks = [0.0] + [labels.months(d) for d in timepoints.values()]
        for arm in arms:
            ns = [sizes[arm]] + [table.loc[(tp, arm), "n"] for tp in timepoints]
            shown = [not disclosure.share_hidden(n, sizes[arm], min_cell) for n in ns]
            ax.plot([t for t, ok in zip(ticks, shown) if ok], [100 * n / sizes[arm] for n, ok in zip(ns, shown) if ok],
                    marker="o", color=colours[arm], label=f"{_arm(arm)} (N = {sizes[arm]})")
            for x, n, ok in zip(ticks, ns, shown):
                if ok:
                    ax.annotate(str(int(n)), (x, 100 * n / sizes[arm]), xytext=(0, 7 if arm == arms[0] else -13),
                                textcoords="offset points", ha="center", fontsize=7, color=colours[arm])
        ax.set_xticks(ticks, [f"{t:.0f}" for t in ticks])
        ax.set_xlabel("Months since baseline")
        ax.set_ylim(0, 110)
        ax.set_ylabel("Evaluated, % of the arm")
        ax.set_title(literal(title, "figure"), fontsize=10)
        _legend(ax, fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def p_value_ranges(searches: list, titles: dict[str, str] | None = None, floor: float = 1e-4) -> Figure:
    """Each published p-value (red cross) against the p-values the named tests reach on every count
    table consistent with the published numbers (helpers.publication.feasibility.verdict): a grey bar from the
    smallest to the largest p of the 2 x 2 tests, a thin line for the CR/PR/NR table (with its unpublished
    splits free); drawn from `floor` where they reach lower."""
    titles = titles or {}
    fig = Figure(figsize=(7, 0.42 * len(searches) + 1.3))
    ax = fig.subplots()
    y = np.arange(len(searches))[::-1]
    for yi, s in zip(y, searches):
        for tests, colour, width in ((s.ranges.keys() & {"response_table"}, "0.7", 2),
                                     (s.ranges.keys() - {"response_table"}, "0.5", 6)):
            if tests:
                lows, highs = zip(*(s.ranges[t] for t in tests))
                ax.plot([max(min(lows), floor), max(highs)], [yi, yi], color=colour, linewidth=width,
                        solid_capstyle="butt")
        ax.plot([s.published], [yi], marker="x", color="#c0392b", markersize=9, mew=2)
    ax.set_xscale("log")
    ax.set_yticks(y, [literal(titles.get(s.number, s.number), "figure") for s in searches], fontsize=8)
    ax.set_xlabel("p-value (log scale): grey, 2 x 2 tests; thin, CR/PR/NR table; red, published")
    fig.subplots_adjust(left=0.32)
    return fig


def per_study(draw, panels: dict[str, tuple]) -> Figure:
    """One figure with a panel per study under its title: `draw` (a figure function of this module)
    called with each study's arguments, in a sub-figure as tall as `draw` makes it alone."""
    sizes = [draw(*args).get_size_inches() for args in panels.values()]
    title_height = 0.4
    fig = Figure(figsize=(max(w for w, _ in sizes), sum(h + title_height for _, h in sizes)))
    ratios = [r for _, h in sizes for r in (title_height, h)]
    subs = fig.subfigures(len(ratios), 1, squeeze=False, height_ratios=ratios)[:, 0]
    for (head, body), (title, args) in zip(zip(subs[::2], subs[1::2]), panels.items()):
        head.text(0.02, 0.3, literal(title, "figure"), fontsize=11, weight="bold")
        draw(*args, fig=body)
    return fig
