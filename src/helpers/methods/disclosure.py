"""Statistical disclosure control: the one policy every table, figure, result file and page follows.

With a threshold `min_cell` = m > 0 (0 switches control off; the book on the reconstructed cohort
runs with 0), nothing about fewer than m patients can be read back from what the build writes:

1. Threshold (primary suppression). A count k of patients with 0 < k < m is hidden, and so is
   every statistic of a group of fewer than m patients: its n, mean, SD, median, quartiles and
   percentages.
2. Complements. A count shown beside its total also tells the rest: k/N is shown only when k and
   N - k are each 0 or at least m (3/40 hides itself; 38/40 hides itself too, since 2 did not).
3. Complementary suppression. Where counts add up to a total that is shown or can be derived
   (CR + PR + NR = evaluated; CR + PR = overall; evaluated + not evaluated = the arm; the levels of
   a variable in a column of Table 1; the groups and all patients), no hidden cell is left alone
   in such a line, and the hidden cells of a line never add up to fewer than m: the next smallest
   cell is hidden too, until that holds in every line. A hidden cell then has a range, not a value.
4. No test beside a hidden cell. A comparison that involves a hidden count shows no effect size,
   no test statistic and no p-value (a p-value can be inverted to the count behind it).
5. Free text folded. Values of a categorical column (induction and maintenance regimens, ISN/RPS
   class, adverse-event category) that fewer than m patients have are shown as "other".
6. Time to event. Kaplan-Meier curves step only where at least m events have gathered, on a
   grid of STEP_DAYS, stop where fewer than max(m, 10) remain at risk, and show no censoring marks;
   a number at risk is shown only when it is at least m and fewer than m left since the last one
   shown is not readable from it.
7. No patient's own line (trajectories) and no per-patient value anywhere.

Hidden cells all read the same (HIDDEN), first and second suppressions alike, so a reader cannot
tell a small hidden count from a large one. These are the usual rules of statistical disclosure
control for tables of counts (threshold rule, primary and secondary suppression; see e.g. Hundepool
et al., Statistical Disclosure Control, Wiley 2012, ch. 5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from helpers.cohort.response import RESPONSES

HIDDEN = "suppressed"
OTHER = "other"
FREE_TEXT = {"patients": ("induction", "maintenance", "isn_class"), "events": ("category",)}
STEP_DAYS = 91                 # Kaplan-Meier steps gather on a grid of 3 months


def small(k, min_cell: int) -> bool:
    """Is k a count of patients below the threshold (and not 0)?"""
    return min_cell > 0 and k == k and 0 < k < min_cell


def share_hidden(k, n, min_cell: int) -> bool:
    """Rules 1 and 2 for a count shown with its total: k, n - k or n itself below the threshold."""
    if k != k or n != n:
        return True
    return small(k, min_cell) or small(n - k, min_cell) or small(n, min_cell)


@dataclass(frozen=True)
class Line:
    """Cells that add up to a whole: `whole` is another cell, or None for a total that is shown."""
    parts: tuple
    whole: object = None


def protect(cells: dict, lines: list[Line], min_cell: int, hidden: set | None = None,
            unshown: set = frozenset()) -> set:
    """The cells to hide (rule 1 and rule 3): those below the threshold (and `hidden`), then, until
    every line is safe, the smallest visible cell of any line with a lone hidden cell or whose hidden
    cells add up to fewer than min_cell. Cells in `unshown` (never printed, only derivable, such as
    the patients not evaluated) can be the small ones but are never chosen to hide another."""
    if min_cell <= 0:
        return set(hidden or ())
    out = {c for c, k in cells.items() if small(k, min_cell)} | set(hidden or ())
    changed = True
    while changed:
        changed = False
        for line in lines:
            members = [*line.parts, *([line.whole] if line.whole is not None else [])]
            unknown = [c for c in members if c in out]
            if not unknown:
                continue
            derived = sum(cells[c] for c in line.parts if c in out) if line.whole not in out else None
            if len(unknown) >= 2 and not (derived is not None and small(derived, min_cell)):
                continue
            candidates = [c for c in members if c not in out and c not in unshown]
            if not candidates:
                continue
            out.add(min(candidates, key=lambda c: (cells[c] == 0, cells[c], str(c))))
            changed = True
    return out


# --- response by timepoint and group --------------------------------------------------------------

def mask_response(summary: pd.DataFrame, by: str, min_cell: int, sizes: dict | None = None,
                  total: str | None = None) -> pd.DataFrame:
    """response.summarise rows with every hidden count set to NaN (n, CR, PR, NR, overall). Lines:
    CR + PR + NR = n, CR + PR = overall, and, given `sizes` (patients per group), n + not evaluated
    = size; given `total` (the group that holds all the others, e.g. 'all'), each count of the groups
    adds up to that of `total`. A group whose n is hidden has all its counts hidden."""
    out = summary.copy()
    for column in ("n", *RESPONSES, "overall"):
        out[column] = out[column].astype(float)
    if min_cell <= 0 or out.empty:
        return out
    for tp, rows in summary.groupby("timepoint", sort=False, observed=True):
        cells, lines = {}, []
        groups = list(rows[by])
        for r in rows.to_dict("records"):
            g = r[by]
            for c in ("n", *RESPONSES, "overall"):
                cells[(g, c)] = int(r[c])
            lines += [Line(tuple((g, o) for o in RESPONSES), (g, "n")), Line(((g, "CR"), (g, "PR")), (g, "overall"))]
            if sizes and g in sizes:
                cells[(g, "missing")] = int(sizes[g]) - int(r["n"])
                lines.append(Line(((g, "n"), (g, "missing"))))
        if total in groups:
            parts = [g for g in groups if g != total]
            for c in ("n", *RESPONSES, "overall"):
                lines.append(Line(tuple((g, c) for g in parts), (total, c)))
        hidden = protect(cells, lines, min_cell, unshown={c for c in cells if c[1] == "missing"})
        hidden |= {(g, c) for g in groups if (g, "n") in hidden for c in ("n", *RESPONSES, "overall")}
        for (g, c) in hidden:
            if c != "missing":
                out.loc[(out["timepoint"] == tp) & (out[by] == g), c] = math.nan
    return out


def mask_comparison(comparison: pd.DataFrame, arms) -> pd.DataFrame:
    """A comparison (stats.response_comparison shape) with no effect size and no p beside a hidden
    count (rule 4): rows where any {arm}_k or {arm}_n is NaN lose rd, or, their CIs, p and statistic."""
    out = comparison.copy()
    columns = [f"{a}_{x}" for a in arms for x in ("k", "n")]
    hidden = out[columns].isna().any(axis=1)
    for column in ("rd", "rd_low", "rd_high", "or", "or_low", "or_high", "p", "statistic"):
        if column in out:
            out.loc[hidden, column] = math.nan
    for arm in arms:
        out.loc[hidden | out[f"{arm}_k"].isna(), f"{arm}_percent"] = math.nan
    if "note" in out:
        out.loc[hidden, "note"] = ""
    return out


def mask_shares(comparison: pd.DataFrame, arms, min_cell: int) -> pd.DataFrame:
    """Counts shown with their totals (adverse events, events per arm): k hidden by rules 1 and 2,
    then no effect or p beside a hidden one."""
    out = comparison.copy()
    for arm in arms:
        k, n = out[f"{arm}_k"].astype(float), out[f"{arm}_n"].astype(float)
        out[f"{arm}_k"] = k.where([not share_hidden(a, b, min_cell) for a, b in zip(k, n)])
        out[f"{arm}_n"] = n.where([not small(b, min_cell) for b in n])
    return mask_comparison(out, arms) if min_cell > 0 else out


# --- groups and their statistics ------------------------------------------------------------------

def hidden_groups(sizes: dict, min_cell: int, total: str | None = "all") -> set:
    """Groups whose statistics are hidden (rules 1 and 3): those of fewer than min_cell patients and,
    when a `total` group holds all the others, enough more that none can be had by subtraction."""
    parts = [g for g in sizes if g != total]
    lines = [Line(tuple(parts), total if total in sizes else None)]
    return protect({g: int(k) for g, k in sizes.items()}, lines, min_cell)


def table_hidden(frame: pd.DataFrame, by: str, categorical: list[str], min_cell: int, total: str = "Overall"):
    """What Table 1 of `frame` by `by` hides: (groups whose every statistic is hidden, hidden cells
    {(column, level, group)} of the categorical columns, columns whose test is not shown). Lines:
    the levels and the missing of a column add up to its group's size; each level adds up over the
    groups to `total`; the group sizes add up to all patients."""
    sizes = {total: len(frame), **frame.groupby(by).size().to_dict()}
    dark = hidden_groups(sizes, min_cell, total)
    cells_hidden, untested = set(), set()
    if min_cell <= 0:
        return dark, cells_hidden, untested
    groups = [g for g in sizes if g != total]
    for column in categorical:
        counts = pd.crosstab(frame[column], frame[by])
        levels = [str(v) for v in counts.index]
        cells, lines = {}, []
        for g in [total, *groups]:
            part = frame if g == total else frame[frame[by] == g]
            values = part[column].dropna().astype(str)
            for level in levels:
                cells[(level, g)] = int((values == level).sum())
            cells[("missing", g)] = len(part) - len(values)
            cells[("n", g)] = len(part)
            lines.append(Line(tuple((lv, g) for lv in [*levels, "missing"]), ("n", g)))
        for level in [*levels, "missing", "n"]:
            lines.append(Line(tuple((level, g) for g in groups), (level, total)))
        start = {(lv, g) for g in dark for lv in [*levels, "missing", "n"]}
        hidden = protect(cells, lines, min_cell, start, unshown={c for c in cells if c[0] in ("missing", "n")})
        cells_hidden |= {(column, lv, g) for lv, g in hidden if lv not in ("missing", "n")}
        if any(c[0] == column for c in cells_hidden) or dark:
            untested.add(column)
    if dark:
        untested |= set(frame.columns)
    return dark, cells_hidden, untested


# --- free text --------------------------------------------------------------------------------------

def fold_rare(cohort, min_cell: int):
    """The cohort with every value of a free-text column (FREE_TEXT) that fewer than min_cell
    patients have replaced by OTHER (rule 5). The cohort itself is left as it is."""
    if min_cell <= 0:
        return cohort
    frames = {"patients": cohort.patients.copy(), "events": cohort.events.copy()}
    for name, columns in FREE_TEXT.items():
        frame = frames[name]
        for column in columns:
            if column not in frame:
                continue
            holders = frame.dropna(subset=[column]).drop_duplicates(["patient_id", column])[column].value_counts()
            rare = set(holders[holders < min_cell].index)
            frame[column] = frame[column].where(~frame[column].isin(rare), OTHER)
    return replace(cohort, patients=frames["patients"], events=frames["events"])


# --- time to event ----------------------------------------------------------------------------------

def km_steps(km_frame: pd.DataFrame, min_cell: int, stop_below: int) -> pd.DataFrame:
    """km_by_group rows a figure may draw (rule 6). Without control: every step while at least
    `stop_below` remain at risk. With it: one step at the end of each STEP_DAYS bin in which, since
    the last step, at least min_cell events gathered, while at least max(stop_below, min_cell)
    remain at risk; no censoring marks (censored 0)."""
    if min_cell <= 0:
        return km_frame[km_frame["at_risk"] >= stop_below]
    floor = max(stop_below, min_cell)
    out = []
    for group, rows in km_frame.groupby("group", sort=False):
        rows = rows.sort_values("time")
        gathered = 0
        for r in rows.itertuples(index=False):
            if r.at_risk < floor:
                break
            gathered += int(r.events)
            if gathered >= min_cell:
                end = math.ceil(max(r.time, 1) / STEP_DAYS) * STEP_DAYS
                out.append({"group": group, "time": float(end), "survival": float(r.survival),
                            "at_risk": int(r.at_risk), "events": gathered, "censored": 0})
                gathered = 0
    frame = pd.DataFrame(out, columns=list(km_frame.columns))
    # several steps in one bin: keep the last (the survival at the bin's end)
    return frame.drop_duplicates(["group", "time"], keep="last").reset_index(drop=True)


def at_risk_shown(counts, min_cell: int) -> list:
    """Numbers at risk at successive times, each shown (int) or hidden (None) by rules 1 and 2:
    shown only when at least min_cell, and the fall since the last shown one is 0 or at least min_cell."""
    shown, last = [], None
    for k in counts:
        k = int(k)
        ok = min_cell <= 0 or (k >= min_cell and (last is None or not small(last - k, min_cell)))
        shown.append(k if ok else None)
        if ok:
            last = k
    return shown


def cells_text(value) -> str:
    """A count for a table: the number, or HIDDEN."""
    return HIDDEN if value is None or (isinstance(value, float) and np.isnan(value)) else str(int(value))
