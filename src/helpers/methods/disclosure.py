"""Statistical disclosure control: the one policy every table, figure, result file and page follows.

With a threshold `min_cell` = m > 0 (0 switches control off; the book on the reconstructed cohort
runs with 0), nothing about fewer than m patients can be read back from what the build writes:

1. Threshold (primary suppression). A count k of patients with 0 < k < m is hidden, and so is
   every statistic of a group of fewer than m patients (its n, mean, SD, median, quartiles and
   percentages), and every statistic computed over fewer than m values (a lab measured in 2 of 92:
   summary_hidden counts the values that enter it, not the patients of the group).
2. Complements. A count shown beside its total also tells the rest: k/N is shown only when k and
   N - k are each 0 or at least m (3/40 hides itself; 38/40 hides itself too, since 2 did not).
3. Complementary suppression, over the whole book. Where counts add up to a total that is shown or
   can be derived (CR + PR + NR = evaluated; CR + PR = overall; evaluated + not evaluated = the group;
   the levels of a variable in a column of Table 1; the groups of a grouping and everyone), no hidden
   cell is left alone in such a line, and the hidden cells of a line never add up to fewer than m:
   the next smallest cell is hidden too, until that holds in every line; then linear programming over
   every line at once (`ranges`) must leave each hidden count below m a range at least m wide and
   every other hidden count more than one value, or the next smallest cell of its lines is hidden.
   The decision is the book's, not a chapter's: each decision is a function of the cohort alone, made
   over every group any chapter shows, and every chapter asks the same function (dark_groups: the
   groups hidden everywhere, from the patients table; table_hidden: Table 1's counts, which the
   cohort's female and monotherapy counts elsewhere follow; responses: the response counts at each
   timepoint over the arms, the groups before baseline and everyone at once, the numbers evaluated
   decided first so that a chapter classifying under other criteria hides the same ones;
   summary_hidden / values_hidden: the statistics of a variable over the groups and everyone).
   A chapter may hide more (a superset never gives away what another hides), never less.
4. No test beside a hidden cell. A comparison that involves a hidden count shows no effect size,
   no test statistic and no p-value (a p-value can be inverted to the count behind it).
5. Rare labels folded. Values of a free-text column (induction and maintenance regimens, ISN/RPS
   class, adverse-event category) and of a grouping (an arm, a group before baseline) that fewer than
   m patients have are shown as "other": a group's name is not published beside nothing else.
6. Time to event. Kaplan-Meier curves step only where at least m events have gathered, on a
   grid of STEP_DAYS, at their survival rounded to SURVIVAL_STEP (the exact product over the risk sets,
   with the numbers at risk, gives back how the events and exits fell inside a step), stop where fewer
   than max(m, 10) remain at risk, and show no censoring marks;
   a number at risk is shown only when it is at least m and fewer than m left since the last one
   shown is not readable from it; a group hidden in the book (dark_groups) shows no curve and no
   number at risk, not even at month 0 (its size).
7. No patient's own line (trajectories) and no per-patient value anywhere; a figure draws exactly
   what its table shows (the same values, hidden where the table hides them).
8. Dominance. No statistic of a group that one patient dominates: more than DOMINANCE of the total a
   mean publishes or of the sum of squared deviations an SD publishes (the (1, k) dominance rule of
   Hundepool et al. 2012, sec. 4.2, with k = 50%, applied to both sums); such a statistic is hidden as
   a primary cell, with its complements (rule 3). A median and quartiles rest on at least QUARTILES *
   m values: beside a mean and an SD (another chapter's), those five numbers give back every value of
   a group of five. A mean and SD of n >= m values still bound the largest value to
   [mean + SD / sqrt(n), mean + SD (n - 1) / sqrt(n)]: what any published mean and SD tell.

Hidden cells all read the same (HIDDEN), first and second suppressions alike, so a reader cannot
tell a small hidden count from a large one. These are the usual rules of statistical disclosure
control for tables (threshold rule, primary and secondary suppression, dominance: Hundepool et al.,
Statistical Disclosure Control, Wiley 2012, ch. 4 and 5; DataSHIELD's output checks, whose
nfilter.tab refuses a table cell or a statistic over fewer than nfilter.tab values). What they cannot
protect against (two books of nearly the same cohort, differenced) is said in book/own_cohort.md;
result files round their numbers (compare.results.rounded) to make that harder, not impossible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from helpers.cohort.response import RESPONSES, summarise

HIDDEN = "suppressed"
OTHER = "other"
FREE_TEXT = {"patients": ("induction", "maintenance", "isn_class", "arm", "prior_response"), "events": ("category",)}
GROUPINGS = ("arm", "prior_response")   # the columns a book splits its patients by
UNSET = "(no group)"                    # patients a grouping leaves out: a part of the whole nobody sees
STEP_DAYS = 91                 # Kaplan-Meier steps gather on a grid of 3 months
SURVIVAL_STEP = Decimal("0.01")   # a gathered step is drawn at its survival to the percentage point
DOMINANCE = 0.5                # rule 8: no patient more than half of a total or of a spread
QUARTILES = 2                  # rule 8: a median and quartiles rest on at least QUARTILES * min_cell values


ZERO_SHOWN = "a count of 0 is shown: it describes no patient"   # said wherever the threshold is stated


def hidden_note(min_cell: int, more: str = "") -> str:
    """The note under a table that shows HIDDEN: what it stands for (`more` adds what else it hides), and that a
    0 is shown (rules 1 and 2 let it through: it is about nobody)."""
    return (f"{HIDDEN}: fewer than {min_cell} patients, or hidden so that such a count cannot be worked out from the "
            f"others{more} (see Methods); {ZERO_SHOWN}.")


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


def _members(line: Line) -> list:
    return [*line.parts, *([line.whole] if line.whole is not None else [])]


def _next(cells: dict, members, out: set, unshown) -> object | None:
    """The cell to hide next among `members`: the smallest shown one (a 0 last), or None."""
    candidates = [c for c in members if c not in out and c not in unshown]
    return min(candidates, key=lambda c: (cells[c] == 0, cells[c], str(c))) if candidates else None


def protect(cells: dict, lines: list[Line], min_cell: int, hidden: set | None = None,
            unshown: set = frozenset(), fixed: set = frozenset(), counts: bool = True) -> set:
    """The cells to hide (rule 1 and rule 3): those below the threshold (and `hidden`), then, until
    every line is safe, the smallest visible cell of any line with a lone hidden cell or whose hidden
    cells add up to fewer than min_cell; then, until `ranges` (linear programming over every line at
    once) finds every hidden cell protected, the smallest visible cell of a line of one that is not.
    Cells in `unshown` (never printed, only derivable, such as the patients not evaluated) can be the
    small ones but are never chosen to hide another; nor are those in `fixed` (shown, as an earlier
    decision of the book made them). With `counts` False the cells stand for the statistics of groups
    (numbers of values): only those below min_cell must keep a range; another hidden statistic (a
    dominated one) is protected by its line, whether or not its number of values can be worked out."""
    if min_cell <= 0:
        return set(hidden or ())
    out = {c for c, k in cells.items() if small(k, min_cell)} | set(hidden or ())
    while True:
        changed = True
        while changed:
            changed = False
            for line in lines:
                members = _members(line)
                unknown = [c for c in members if c in out]
                if not unknown:
                    continue
                derived = sum(cells[c] for c in line.parts if c in out) if line.whole not in out else None
                if len(unknown) >= 2 and not (derived is not None and small(derived, min_cell)):
                    continue
                cell = _next(cells, members, out, {*unshown, *fixed})
                if cell is not None:
                    out.add(cell)
                    changed = True
        exposed = unprotected(cells, lines, out | set(unshown), min_cell,
                              out if counts else {c for c in out if small(cells[c], min_cell)})
        more = {_next(cells, _members(line), out, {*unshown, *fixed}) for c in exposed for line in lines
                if c in _members(line)}
        more.discard(None)
        if not more:
            return out
        out |= {min(more, key=lambda c: (cells[c] == 0, cells[c], str(c)))}


def ranges(cells: dict, lines: list[Line], unknown, which=None) -> dict:
    """For each cell in `which` (default: every cell in `unknown`), the smallest and largest value it can take
    (linear programming, every count >= 0) given every line, the cells in `unknown` not known and the others
    known: what a reader can work out."""
    from scipy.optimize import linprog  # only where something is hidden: not at every chapter's start
    unknown = sorted(unknown, key=str)
    index = {c: i for i, c in enumerate(unknown)}
    rows, rhs = [], []
    for line in lines:
        row, total = np.zeros(len(unknown)), 0.0
        for c in line.parts:
            if c in index:
                row[index[c]] += 1
            else:
                total -= cells[c]
        if line.whole is None:
            total += sum(cells[c] for c in line.parts)          # a total that is shown
        elif line.whole in index:
            row[index[line.whole]] -= 1
        else:
            total += cells[line.whole]
        if row.any():
            rows.append(row)
            rhs.append(total)
    found = {}
    for c in sorted(unknown if which is None else which, key=str):
        cost = np.zeros(len(unknown))
        cost[index[c]] = 1
        low = linprog(cost, A_eq=rows or None, b_eq=rhs or None, bounds=(0, None), method="highs")
        high = linprog(-cost, A_eq=rows or None, b_eq=rhs or None, bounds=(0, None), method="highs")
        found[c] = (low.fun if low.status == 0 else -math.inf, -high.fun if high.status == 0 else math.inf)
    return found


def unprotected(cells: dict, lines: list[Line], unknown, min_cell: int, check=None) -> set:
    """The cells of `check` (default: every unknown) a reader can work out too closely from the others: a
    count below min_cell to within fewer than min_cell values, any other to one value."""
    in_lines = {c for line in lines for c in _members(line)}
    check = set(unknown if check is None else check) & in_lines    # a cell in no line is no one's sum
    if not check:
        return set()
    found = ranges(cells, lines, unknown, check)
    need = {c: min_cell if small(cells[c], min_cell) else 1 for c in check}
    return {c for c in check if found[c][1] - found[c][0] < need[c] - 1e-6}


# --- response by timepoint and group, decided for the whole book ----------------------------------

def responses(classified: pd.DataFrame, by: str, min_cell: int, with_all: bool = False) -> pd.DataFrame:
    """response.summarise(classified, by) (and, `with_all`, a row per timepoint for everyone, group 'all'), every
    count hidden by the book's decision NaN. The decision is made over every group the book shows at each
    timepoint, whichever chapter asks (GROUPINGS: the arms of chapters 01 and 02, the groups before baseline of
    chapter 04, and everyone): so a count hidden in one chapter is never given away by another. In two steps, so
    that a chapter that classifies under other criteria (chapter 01's follow-up figure) hides the same numbers
    evaluated: first the numbers evaluated (lines: evaluated + not evaluated = the group; the groups of a grouping
    add up to everyone), then the outcomes with those fixed (CR + PR + NR = evaluated; CR + PR = overall; the
    groups add up to everyone). Groups hidden in the whole book (dark_groups) have every count hidden."""
    present = [g for g in GROUPINGS if g in classified and classified[g].notna().any()]
    if by not in present:
        present.append(by)
    used = classified[["patient_id", "timepoint", *present, "response"]]
    key = (int(pd.util.hash_pandas_object(used.astype(str), index=False).sum()), len(used), by, min_cell, with_all)
    if key not in _DECIDED:   # the same rows come back (a table, its result rows, its figure): decided once
        _DECIDED[key] = _responses(classified, by, min_cell, with_all, present)
    return _DECIDED[key].copy()


_DECIDED: dict = {}


def _responses(classified: pd.DataFrame, by: str, min_cell: int, with_all: bool, present: list) -> pd.DataFrame:
    counts = {g: summarise(classified, by=g).rename(columns={g: "group"}) for g in present}
    every = summarise(classified.assign(_all="all"), by="_all").rename(columns={"_all": "group"})
    columns = ("n", *RESPONSES, "overall")
    out = pd.concat([every, counts[by]] if with_all else [counts[by]], ignore_index=True)
    out = out[out["timepoint"].isin(set(classified["timepoint"]))].reset_index(drop=True)
    for column in columns:
        out[column] = out[column].astype(float)
    if min_cell <= 0 or out.empty:
        return out.rename(columns={"group": by}) if not with_all else out
    patients = classified.drop_duplicates("patient_id")
    dark = {g: dark_groups(patients, g, min_cell) for g in present}
    for tp in pd.unique(out["timepoint"]):
        cells, first, second, start, unset = {}, [], [], set(), set()
        sizes_all = int((classified["timepoint"] == tp).sum())
        rows_all = every[every["timepoint"] == tp].iloc[0]
        for c in columns:
            cells[("all", "all", c)] = int(rows_all[c])
        cells[("all", "all", "missing")] = sizes_all - int(rows_all["n"])
        cells[("all", "all", "size")] = sizes_all
        second += [Line(tuple(("all", "all", o) for o in RESPONSES), ("all", "all", "n")),
                   Line((("all", "all", "CR"), ("all", "all", "PR")), ("all", "all", "overall"))]
        first.append(Line((("all", "all", "n"), ("all", "all", "missing")), ("all", "all", "size")))
        at = classified[classified["timepoint"] == tp]
        for grouping in present:
            rows = counts[grouping][counts[grouping]["timepoint"] == tp]
            sizes = at[grouping].value_counts()
            keys = []
            for r in rows.to_dict("records"):
                key = (grouping, r["group"])
                keys.append(key)
                for c in columns:
                    cells[(*key, c)] = int(r[c])
                cells[(*key, "missing")] = int(sizes.get(r["group"], 0)) - int(r["n"])
                cells[(*key, "size")] = int(sizes.get(r["group"], 0))
                first.append(Line(((*key, "n"), (*key, "missing")), (*key, "size")))
                second += [Line(tuple((*key, o) for o in RESPONSES), (*key, "n")),
                           Line(((*key, "CR"), (*key, "PR")), (*key, "overall"))]
                if r["group"] in dark[grouping] or "all" in dark[grouping]:
                    start |= {(*key, c) for c in (*columns, "missing", "size")}
            unknown = at[grouping].isna()          # patients in no group of this grouping: a part nobody sees
            if unknown.any():
                key = (grouping, UNSET)
                done = at[unknown & at["response"].notna()]["response"].value_counts()
                for c in RESPONSES:
                    cells[(*key, c)] = int(done.get(c, 0))
                cells[(*key, "overall")] = cells[(*key, "CR")] + cells[(*key, "PR")]
                cells[(*key, "n")] = sum(cells[(*key, c)] for c in RESPONSES)
                cells[(*key, "missing")] = int(unknown.sum()) - cells[(*key, "n")]
                cells[(*key, "size")] = int(unknown.sum())
                first.append(Line(((*key, "n"), (*key, "missing")), (*key, "size")))
                keys.append(key)
                unset |= {(*key, c) for c in (*columns, "missing", "size")}
            for c in (*columns, "missing", "size"):
                (first if c in ("n", "missing", "size") else second).append(
                    Line(tuple((*k, c) for k in keys), ("all", "all", c)))
        if "all" in set().union(*dark.values()):
            start |= {("all", "all", c) for c in (*columns, "missing", "size")}
        missing = {c for c in cells if c[2] == "missing"} | {c for c in start if c[2] == "size"}
        sizes_shown = {c for c in cells if c[2] == "size" and c not in start | unset}   # Table 1 shows them
        counted = {c: k for c, k in cells.items() if c[2] in ("n", "missing", "size")}
        evaluated = protect(counted, first, min_cell, start & set(counted), unshown=missing | unset, fixed=sizes_shown)
        shown_n = {c for c in cells if c[2] == "n" and c not in evaluated} | sizes_shown
        hidden = protect(cells, first + second, min_cell, evaluated | start, unshown=missing | unset, fixed=shown_n)
        for grouping, group, c in hidden:
            if c in columns and (grouping == by or (grouping == "all" and with_all)):
                out.loc[(out["timepoint"] == tp) & (out["group"] == group), c] = math.nan
    return out.rename(columns={"group": by}) if not with_all else out


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


def mask_shares(comparison: pd.DataFrame, arms, min_cell: int, dark=frozenset()) -> pd.DataFrame:
    """Counts shown with their totals (adverse events, events per arm): k hidden by rules 1 and 2, k and
    n of a `dark` arm (dark_groups) hidden, then no effect or p beside a hidden one."""
    out = comparison.copy()
    for arm in arms:
        k, n = out[f"{arm}_k"].astype(float), out[f"{arm}_n"].astype(float)
        out[f"{arm}_k"] = k.where([not share_hidden(a, b, min_cell) and arm not in dark for a, b in zip(k, n)])
        out[f"{arm}_n"] = n.where([not small(b, min_cell) and arm not in dark for b in n])
    return mask_comparison(out, arms) if min_cell > 0 else out


# --- groups and their statistics ------------------------------------------------------------------

def hidden_groups(sizes: dict, min_cell: int, total: str | None = "all", unshown=frozenset()) -> set:
    """Groups whose statistics are hidden (rules 1 and 3): those of fewer than min_cell patients and,
    when a `total` group holds all the others, enough more that none can be had by subtraction
    (`unshown`: parts no page names, such as the patients in no group)."""
    parts = [g for g in sizes if g != total]
    lines = [Line(tuple(parts), total if total in sizes else None)]
    return protect({g: int(k) for g, k in sizes.items()}, lines, min_cell, unshown=set(unshown))


def dark_groups(patients: pd.DataFrame, by: str, min_cell: int, total: str = "all") -> set:
    """The groups of column `by` (and `total`, everyone) whose every statistic the whole book hides: hidden_groups
    on the patients table alone, so that every chapter that shows the groups of `by` (Table 1, the events per
    arm, the numbers at risk, the response by group) hides the same ones."""
    sizes = {total: len(patients), **patients.groupby(by).size().to_dict()}
    unset = int(patients[by].isna().sum())
    if unset:
        sizes[UNSET] = unset
    return hidden_groups(sizes, min_cell, total, unshown={UNSET}) - {UNSET}


def dominated(values) -> bool:
    """Rule 8: does one patient dominate the statistics of `values`? More than DOMINANCE of the total a mean
    publishes (sum of the absolute values) or of the sum of squared deviations an SD publishes: the (1, k)
    dominance rule of Hundepool et al. (2012, sec. 4.2) applied to both sums, with k = DOMINANCE."""
    v = np.asarray(pd.Series(values, dtype=float).dropna(), dtype=float)
    if len(v) < 2:
        return False
    size, spread = np.abs(v), (v - v.mean()) ** 2
    return bool((size.sum() > 0 and size.max() > DOMINANCE * size.sum()) or
                (spread.sum() > 0 and spread.max() > DOMINANCE * spread.sum()))


def summary_hidden(values: dict, min_cell: int, total: str = "all", dark=frozenset()) -> set:
    """The groups (keys of `values`: each group's values of one variable, `total` everyone's) whose mean, SD,
    median and quartiles are hidden: the `dark` ones, those with fewer than min_cell values (rule 1: a statistic
    rests on the values that enter it, not on the group's size), those a patient dominates (rule 8), and
    enough more that none can be had from the others (rule 3, over the numbers of values)."""
    if min_cell <= 0:
        return set()
    counts = {g: int(pd.Series(v, dtype=float).notna().sum()) for g, v in values.items()}
    start = set(dark) | {g for g, v in values.items() if dominated(v)}
    parts = [g for g in counts if g != total]
    return protect(counts, [Line(tuple(parts), total if total in counts else None)], min_cell, start, counts=False)


def quartiles_hidden(values, min_cell: int) -> bool:
    """Rule 8: a median and quartiles rest on at least QUARTILES * min_cell values. With a mean and an SD beside
    them (another table, another chapter) the five numbers give back every value of a group of five."""
    return min_cell > 0 and pd.Series(values, dtype=float).notna().sum() < QUARTILES * min_cell


def values_hidden(at_tp: pd.DataFrame, by: str, column: str, min_cell: int) -> dict[str, set]:
    """The groups of `by` (and 'all') whose statistics of lab `column` a timepoint's table and figure hide, for
    each set of values: 'baseline', 'later' (at the timepoint) and 'change' (the paired changes; rows: one per
    patient, with `baseline_<column>` and `column` at the timepoint). The table shows each statistic with its
    number of values, a count of patients beside the group's size, so each set is hidden by rules 1, 2 and 8
    (fewer than min_cell values, or fewer than min_cell of the group without one; a dominant patient), then
    rule 3 over the counts, from a start that holds the book's other decisions about the same numbers: the dark
    groups; for the baseline, Table 1's statistics of it (summary_hidden); later and for the changes, the groups
    whose number evaluated the response tables hide (the patients with a UPCR at baseline and then)."""
    names = ["all", *pd.unique(at_tp[by].dropna())]
    if min_cell <= 0:
        return {"baseline": set(), "later": set(), "change": set()}
    patients = at_tp.drop_duplicates("patient_id")
    dark = dark_groups(patients, by, min_cell)
    parts = {g: at_tp.index if g == "all" else at_tp.index[at_tp[by] == g] for g in names}
    before, after = at_tp[f"baseline_{column}"], at_tp[column]
    evaluated = set()
    if "response" in at_tp:   # classified rows (helpers.cohort.response.classify)
        paired = at_tp["upcr_g_g"].notna() & at_tp["baseline_upcr_g_g"].notna()
        counts = responses(at_tp.assign(response=at_tp["response"].where(paired)), by, min_cell, with_all=True)
        evaluated = set(counts.loc[counts["n"].isna(), "group"])
    starts = {"baseline": dark | summary_hidden({g: before[i] for g, i in parts.items()}, min_cell, dark=dark),
              "later": dark | evaluated, "change": dark | evaluated}
    out = {}
    for which, values in (("baseline", before), ("later", after), ("change", after - before)):
        cells, lines, first = {}, [], set(starts[which])
        for g, index in parts.items():
            count = int(values[index].notna().sum())
            cells[(g, "n")], cells[(g, "without")], cells[(g, "size")] = count, len(index) - count, len(index)
            lines.append(Line(((g, "n"), (g, "without")), (g, "size")))
            if dominated(values[index]) or share_hidden(count, len(index), min_cell):
                first.add(g)
        others = [g for g in names if g != "all"]
        lines += [Line(tuple((g, c) for g in others), ("all", c)) for c in ("n", "without", "size")]
        unseen = {c for c in cells if c[1] == "without" or (c[1] == "size" and c[0] in dark)}
        chosen = protect(cells, lines, min_cell, {(g, "n") for g in first}, unshown=unseen,
                         fixed={c for c in cells if c[1] == "size"} - unseen, counts=False)
        out[which] = {g for g, c in chosen if c == "n"}
    return out


def table_hidden(frame: pd.DataFrame, by: str, categorical: list[str], min_cell: int, total: str = "Overall"):
    """What Table 1 of `frame` by `by` hides: (groups whose every statistic is hidden, hidden cells
    {(column, level, group)} of the categorical columns, columns whose test is not shown). Lines:
    the levels and the missing of a column add up to its group's size; each level adds up over the
    groups to `total`; the group sizes add up to all patients."""
    sizes = {total: len(frame), **frame.groupby(by).size().to_dict()}
    dark = dark_groups(frame, by, min_cell, total)
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
    remain at risk, drawn at its survival rounded to SURVIVAL_STEP; no censoring marks (censored 0)."""
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
                survival = Decimal(repr(float(r.survival))).quantize(SURVIVAL_STEP, ROUND_HALF_UP)
                out.append({"group": group, "time": float(end), "survival": float(survival),
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


def count_text(n: int, min_cell: int) -> str:
    """A number of patients in words: the number, or 'fewer than <min_cell>' below the threshold."""
    return f"fewer than {min_cell}" if small(n, min_cell) else str(n)


def cells_text(value) -> str:
    """A count for a table: the number, or HIDDEN."""
    return HIDDEN if value is None or (isinstance(value, float) and np.isnan(value)) else str(int(value))
