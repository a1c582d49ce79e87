"""Can a published p-value be true, and how far do the sources pin a comparison?

A count table is *consistent* with the published numbers of a timepoint when, in each arm, some
number n of evaluated patients (1 up to the arm size) and some CR and PR counts give every response
percentage the p-value's source publishes for that timepoint and arm, at its rounding (GRIM). Follow-up
may rise between timepoints, and a count no source publishes is free (PR where only CR is published,
the CR / PR split where only the overall response is).

The reconstruction adds two stated assumptions (the study file's `denominators` and `unknown_split`):

- denominators: n fits every published percentage of that timepoint and arm (every source, set-aside
  ones included) and never rises over time; the reconstruction takes the largest such n, and a
  p-value may ask for a smaller one;
- neutral splits: a split no source publishes is the same in both arms: PR in the same share of the
  patients not in CR, or CR in the same share of the responders, each arm's count that share of its
  base rounded half up. The reconstruction takes the share pooled at the nearest timepoint where the
  split is known; here any share common to both arms is taken, so a value no neutral split reaches is
  not reached under the reconstruction's either. A split at a timepoint whose overall response is
  published only through its p-value is chosen by the reconstruction from that p, and is left free here.

A published p-value is then *reached* (some table under the stated assumptions gives it under a named
test; the reconstruction's own table may still miss it: that is what an independent check tests), *not
reached under the stated assumptions* (some consistent table gives it, none under the assumptions; the
verdict names the smallest sets of assumptions without which a table reaches it) or *infeasible* (no
consistent table gives it under any named test). The named tests are those of helpers.methods.proportions on
the 2 x 2 table of the p-value's outcome, and Pearson chi-square on the 2 x 3 CR / PR / NR table by arm. A p-value is
taken only when it rounds to the printed value with a margin (consistency.rounds_clearly_to), so a
verdict does not depend on the last bits of a float.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
from scipy import stats as sps

from helpers import labels
from helpers.methods import proportions
from helpers.methods.proportions import PROPORTION_TESTS, compare_proportions
from helpers.paths import REPO_ROOT
from helpers.publication import consistency, counts, published
from helpers.publication.consistency import percent_counts, rounds_clearly_to

RESPONSE_TABLE = "response_table"
TESTS = {**PROPORTION_TESTS, RESPONSE_TABLE: "Pearson chi-square, CR/PR/NR by arm"}
VECTORISED = ("pearson", "yates", "wald", RESPONSE_TABLE)   # computed with numpy on every table at once
EXACT_TABLES = 20000   # distinct 2 x 2 tables beyond which the table-by-table tests run only at the denominators
RISE, SOURCES, SPLIT = 1, 2, 4     # the stated assumptions a table can break (bits)
ASSUMPTIONS = {RISE: "follow-up that never rises", SOURCES: "every source's percentages",
               SPLIT: "the neutral split"}
MARGIN = 1e-9                      # as consistency.rounds_clearly_to


# --- the tables consistent with the published numbers --------------------------------------

@dataclass(frozen=True)
class Cell:
    """One arm at one timepoint: n evaluated, CR and PR counts (the rest not responding), and the
    stated assumptions they break (bits of RISE, SOURCES, SPLIT)."""
    n: int
    cr: int
    pr: int
    breaks: int = 0


@functools.lru_cache(maxsize=4096)
def _grim(value: float, decimals: int, n: int) -> frozenset[int]:
    return frozenset(percent_counts(value, decimals, n))


def _possible(x: published.Number, size: int) -> bool:
    """Can some count of at most `size` patients give this percentage?"""
    return any(_grim(x.value, x.decimals, n) for n in range(1, size + 1))


def percents(pub: published.Study, timepoint: str, arm: str, source: str | None = None,
             targets: bool = False) -> dict[str, list[published.Number]]:
    """{outcome: [percentages]} of a timepoint and arm: of one source, of every source not set aside
    (targets), or of every source; a percentage no count up to the arm size gives is left out (it is
    infeasible itself)."""
    size = counts.arm_sizes(pub)[arm]
    out: dict = {}
    for x in pub.targets() if targets else pub.numbers:
        if (x.measure == "response" and x.statistic == "percent" and x.timepoint == timepoint and x.group == arm
                and source in (None, x.source) and _possible(x, size)):
            out.setdefault(x.outcome, []).append(x)
    return out


def _counts(numbers: list[published.Number], n: int) -> set[int]:
    """The counts (0..n) that give every one of these percentages of n patients."""
    ks = set(range(n + 1))
    for x in numbers:
        ks &= _grim(x.value, x.decimals, n)
    return ks


def _fitting(pub: published.Study, timepoint: str, arm: str) -> set[int]:
    """The n (1 up to the arm size) that fit every published percentage (every source, set-aside ones
    included) and count of evaluated patients of a timepoint and arm."""
    numbers = [x for xs in percents(pub, timepoint, arm).values() for x in xs]
    stated = {int(x.value) for x in pub.targets() if x.measure == "n_patients" and x.timepoint == timepoint
              and x.group == arm}
    return {n for n in range(1, counts.arm_sizes(pub)[arm] + 1)
            if all(_grim(x.value, x.decimals, n) for x in numbers) and stated <= {n}}


def stated_denominators(pub: published.Study) -> dict[tuple[str, str], int]:
    """{(timepoint, arm): n} the reconstruction's denominators (publication.counts.consistent_denominators)."""
    return counts.consistent_denominators(pub)[1]


def _split(pub: published.Study, timepoint: str, known: set[str]) -> str | None:
    """The split the reconstruction assumes neutral where an arm's source publishes only the `known`
    outcomes: 'PR' (PR of those not in CR) or 'CR' (CR of the responders); None where there is nothing
    to split, or where the overall response is published only through a p-value (the reconstruction
    chooses it, and its split, from that p)."""
    if known == {"overall"}:
        return "CR"
    if known == {"CR"} and not any(p.timepoint == timepoint and p.statistic == "p_value" and p.measure == "response"
                                   and p.outcome in ("overall", "PR") for p in pub.targets()):
        return "PR"
    return None


def _split_of(split: str, n, cr, pr) -> tuple:
    """(count, base) of a split: PR of those not in CR, or CR of the responders."""
    return (pr, n - cr) if split == "PR" else (cr, cr + pr)


def neutral(split: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Are two arms' splits the same share, each its arm's count of that share of its base rounded half
    up (rows of n, CR, PR)? Some share q has round(q x base) = count in both arms: [(count - 1/2) / base,
    (count + 1/2) / base) overlap (in integers; a base of 0 takes any share)."""
    (s1, b1), (s2, b2) = _split_of(split, *a.T[:3]), _split_of(split, *b.T[:3])
    overlap = ((2 * s1 - 1) * b2 < (2 * s2 + 1) * b1) & ((2 * s2 - 1) * b1 < (2 * s1 + 1) * b2)
    return overlap | (b1 == 0) | (b2 == 0)


@dataclass(frozen=True)
class Setting:
    """The count tables consistent with the published percentages of a timepoint: per arm, every cell,
    and what the stated assumptions ask there."""
    timepoint: str
    previous: str | None
    arms: tuple[str, ...]
    cells: tuple[tuple[Cell, ...], ...]   # per arm
    ceilings: tuple[int, ...]             # per arm: the most patients follow-up that never rises allows
    split: str | None                     # the split assumed neutral between the arms: 'PR', 'CR' or None
    searched: str                         # which n and which counts, in words

    def why(self, arm: int, cell: Cell) -> list[str]:
        """How a cell breaks the stated denominators, in words."""
        name, out = labels.arm(self.arms[arm]).lower(), []
        if cell.breaks & RISE:
            out.append(f"{cell.n} evaluated {name} patients at {self.timepoint}, more than the "
                       f"{self.ceilings[arm]} at {self.previous}")
        if cell.breaks & SOURCES:
            out.append(f"{cell.n} evaluated {name} patients fit no count of another source's percentage at "
                       f"{self.timepoint}")
        return out

    def why_split(self, a: Cell, b: Cell) -> str:
        (s1, b1), (s2, b2) = (_split_of(self.split, c.n, c.cr, c.pr) for c in (a, b))
        of = "not in CR" if self.split == "PR" else "responders"
        return (f"{self.split} in {s1} of {b1} {of} ({labels.arm(self.arms[0]).lower()}) and {s2} of {b2} "
                f"({labels.arm(self.arms[1]).lower()}): "
                f"no share common to both arms")


FREE = {frozenset({"CR"}): "PR any count from 0 to n - CR",
        frozenset({"overall"}): "CR any count from 0 to the responders",
        frozenset({"PR"}): "CR any count from 0 to n - PR"}


def setting(pub: published.Study, timepoint: str, source: str | None = None) -> Setting | None:
    """Every cell consistent with the published percentages of `source` (None: every source not set
    aside) at a timepoint, per arm, with the stated denominators each breaks; None when an arm has no
    published percentage there (nothing ties its counts down)."""
    sizes, stated = counts.arm_sizes(pub), stated_denominators(pub)
    tps = list(pub.timepoints)
    previous = tps[tps.index(timepoint) - 1] if tps.index(timepoint) else None
    cells, ceilings, splits, words = [], [], [], []
    for arm in pub.arms:
        pcts = percents(pub, timepoint, arm, source, targets=source is None)
        if not pcts:
            return None
        ceiling = max(stated.get((previous, arm), sizes[arm]), stated.get((timepoint, arm), 0))
        fitting = _fitting(pub, timepoint, arm)
        found = []
        for n in range(1, sizes[arm] + 1):
            crs, prs, totals = (_counts(pcts.get(o, []), n) for o in ("CR", "PR", "overall"))
            for cr in sorted(crs):
                for pr in sorted(k for k in prs if k <= n - cr and cr + k in totals):
                    found.append(Cell(n, cr, pr, (RISE if n > ceiling else 0) | (0 if n in fitting else SOURCES)))
        cells.append(tuple(found))
        ceilings.append(ceiling)
        splits.append(_split(pub, timepoint, set(pcts)))
        listed = ", ".join(f"{xs[0].value:.{xs[0].decimals}f}% {o}" for o, xs in pcts.items())
        verb = "is" if len(pcts) == 1 else "are"
        text = f"{labels.arm(arm).lower()} n = {spans(sorted({c.n for c in found}))} (where {listed} {verb} possible)"
        words.append(text + (f", {FREE[frozenset(pcts)]}" if frozenset(pcts) in FREE else ""))
    split = splits[0] if len(set(splits)) == 1 else None
    return Setting(timepoint, previous, tuple(pub.arms), tuple(cells), tuple(ceilings), split, "; ".join(words))


# --- the tests, on many tables at once ------------------------------------------------------

def _chi2(observed: np.ndarray, yates: bool = False) -> np.ndarray:
    """Pearson chi-square p of tables stacked on the first axis (as scipy's chi2_contingency, Yates'
    correction as it applies it); NaN where a row or column is empty."""
    observed = observed.astype(float)
    rows, cols, total = observed.sum(axis=2), observed.sum(axis=1), observed.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = rows[:, :, None] * cols[:, None, :] / total[:, None, None]
        if yates:
            diff = expected - observed
            observed = observed + np.sign(diff) * np.minimum(0.5, np.abs(diff))
        statistic = ((observed - expected) ** 2 / expected).sum(axis=(1, 2))
    dof = (observed.shape[1] - 1) * (observed.shape[2] - 1)
    p = sps.chi2.sf(statistic, dof)
    p[(rows == 0).any(axis=1) | (cols == 0).any(axis=1)] = np.nan
    return p


def _wald(k1, n1, k2, n2) -> np.ndarray:
    """Unpooled z-test p (as statsmodels' test_proportions_2indep, method 'wald'); NaN where nobody or
    everybody has the outcome."""
    p1, p2 = k1 / n1, k2 / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    p = 2 * sps.norm.sf(np.abs(z))
    p[(k1 + k2 == 0) | (k1 + k2 == n1 + n2)] = np.nan
    return p


def p_values(test: str, k1, n1, k2, n2) -> np.ndarray:
    """The p of one named 2 x 2 test on many tables (arrays of counts): Pearson, Yates and the unpooled
    z-test at once with numpy, the others table by table with scipy (helpers.methods.proportions)."""
    k1, n1, k2, n2 = (np.asarray(a, dtype=np.int64) for a in (k1, n1, k2, n2))
    if test in ("pearson", "yates"):
        table = np.stack([np.stack([k1, n1 - k1], -1), np.stack([k2, n2 - k2], -1)], 1)
        return _chi2(table, yates=test == "yates")
    if test == "wald":
        return _wald(k1, n1, k2, n2)
    return np.array([_p(test, *t) for t in zip(k1.tolist(), n1.tolist(), k2.tolist(), n2.tolist())], dtype=float)


@functools.cache
def _p(test: str, k1: int, n1: int, k2: int, n2: int) -> float:
    return compare_proportions(k1, n1, k2, n2, test)["p"]


def response_table_p(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson chi-square p of 2 x 3 CR / PR / NR tables by arm (rows of CR, PR, NR counts per arm);
    NaN where a row or column is empty (helpers.methods.proportions.compare_response_table)."""
    return _chi2(np.stack([a, b], 1))


# --- the verdict ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """A named test's p on one count table."""
    test: str      # a key of TESTS
    counts: str    # '46/61 vs 69/83' (outcome of n) or '46/12/21 vs 56/14/8' (CR/PR/NR)
    p: float
    breaks: int = 0   # the stated assumptions the table breaks (bits)
    why: str = ""     # how it breaks them, in words

    def __str__(self) -> str:
        return f"{TESTS[self.test]} on {self.counts} gives {shown(self.p)}"


@dataclass(frozen=True)
class Verdict:
    """Can a published p-value be true? (feasibility.verdict)"""
    number: str
    published: float
    decimals: int
    kind: str                 # 'reached', 'not_reached' or 'infeasible'
    text: str                 # the verdict with its proof: what was searched, what reaches it or the nearest
    hits: tuple               # reached: the best Hit under the stated assumptions; not_reached: one Hit for
    #                           each smallest set of stated assumptions without which a table reaches it;
    #                           infeasible: ()
    nearest: Hit | None       # not_reached: nearest under the stated assumptions; infeasible: nearest of all
    ranges: dict              # test -> (lowest, highest p) over every consistent table; Barnard and Boschloo
    #                           only where the verdict computed them on every table
    tables: int               # consistent count tables (CR/PR/NR by arm)


def rounds(p: np.ndarray, value: float, decimals: int) -> np.ndarray:
    """consistency.rounds_clearly_to on an array (NaN rounds to nothing): decided in floats where p lies
    well inside or outside the values that print as `value`, in decimals near their edges."""
    low, high = (float(x) for x in interval(value, decimals))
    p = np.asarray(p, dtype=float)
    out = (p >= low * (1 + 1e-6)) & (p < high * (1 - 1e-6))
    edge = np.flatnonzero(~out & (p >= low * (1 - 1e-6)) & (p < high * (1 + 1e-6)))
    out[edge] = [rounds_clearly_to(x, value, decimals) for x in p[edge]]
    return out


def interval(value: float, decimals: int) -> tuple[Decimal, Decimal]:
    """The p-values that print as `value` at `decimals` (half up): [low, high)."""
    v, half = Decimal(repr(float(value))), Decimal(5).scaleb(-decimals - 1)
    return v - half, v + half


def printed(p: float, decimals: int) -> str:
    """p as printed at `decimals`, rounded half up as in consistency.rounds_to."""
    return str(Decimal(repr(float(p))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


WORDS = {0: "no decimals", 1: "one decimal", 2: "two decimals", 3: "three decimals", 4: "four decimals"}


def precision_note(pub: published.Study, n: published.Number, p: float | None) -> str:
    """For a p printed with fewer than three decimals, or fewer than the source's other p-values: the
    values it stands for, and how p would have been printed at the source's usual precision."""
    others = [x.decimals for x in pub.numbers if x.statistic == "p_value" and x.source == n.source
              and x.id != n.id]
    usual = max(set(others), key=lambda d: (others.count(d), d)) if others else n.decimals
    if n.decimals >= max(3, usual):
        return ""
    low, high = interval(n.value, n.decimals)
    text = f"{printed(n.value, n.decimals)} at {WORDS[n.decimals]} means {low} <= p < {high}"
    if usual > n.decimals:
        text += f"; the source prints its other p-values at {WORDS[usual]}"
        if p is not None:
            text += f", where {shown(p)} would have been printed as {printed(p, usual)}"
    return text + "."


def shown(p: float) -> str:
    """A computed p in words: four decimals, or two significant digits below 0.0001."""
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def _tests_words(outcome: str) -> str:
    return (", ".join(TESTS[t] for t in PROPORTION_TESTS) + f" (on the 2 x 2 table of {outcome}) and "
            + TESTS[RESPONSE_TABLE])


def _tables(count: int) -> str:
    return f"{count} count table" + ("" if count == 1 else "s")


class _Search:
    """The named tests on every pair of consistent cells (one cell per arm), each computed once per
    distinct table and only as far as it is asked for."""

    def __init__(self, s: Setting, outcome: str):
        self.s, self.outcome = s, outcome
        a, b = (np.array([(c.n, c.cr, c.pr, c.breaks) for c in cells], dtype=np.int64).reshape(-1, 4)
                for cells in s.cells)
        self.i, self.j = (x.ravel() for x in np.meshgrid(np.arange(len(a)), np.arange(len(b)), indexing="ij"))
        a, b = a[self.i], b[self.j]
        self.breaks = a[:, 3] | b[:, 3]
        if s.split:
            self.breaks |= np.where(neutral(s.split, a, b), 0, SPLIT)
        k = {"CR": lambda t: t[:, 1], "PR": lambda t: t[:, 2], "overall": lambda t: t[:, 1] + t[:, 2]}[outcome]
        self.k1, self.n1, self.k2, self.n2 = k(a), a[:, 0], k(b), b[:, 0]
        self.a3, self.b3 = (np.stack([t[:, 1], t[:, 2], t[:, 0] - t[:, 1] - t[:, 2]], 1) for t in (a, b))
        self.p = {t: np.full(len(a), np.nan) for t in TESTS}
        self.done = {t: np.zeros(len(a), bool) for t in TESTS}

    @property
    def rows(self) -> np.ndarray:
        return np.arange(len(self.i))

    def compute(self, test: str, rows: np.ndarray) -> np.ndarray:
        """The p of `test` on these rows (every row's p, those not asked for NaN)."""
        rows = rows[~self.done[test][rows]]
        if len(rows):
            if test == RESPONSE_TABLE:
                self.p[test][rows] = response_table_p(self.a3[rows], self.b3[rows])
            else:   # each distinct 2 x 2 table once
                tables = np.stack([self.k1[rows], self.n1[rows], self.k2[rows], self.n2[rows]], 1)
                unique, back = np.unique(tables, axis=0, return_inverse=True)
                self.p[test][rows] = p_values(test, *unique.T)[back.ravel()]
            self.done[test][rows] = True
        return self.p[test]

    def counts(self, test: str, r: int) -> str:
        if test == RESPONSE_TABLE:
            return " vs ".join("/".join(str(v) for v in t[r]) for t in (self.a3, self.b3))
        return f"{self.k1[r]}/{self.n1[r]} vs {self.k2[r]}/{self.n2[r]}"

    def hit(self, test: str, r: int) -> Hit:
        cells = (self.s.cells[0][self.i[r]], self.s.cells[1][self.j[r]])
        why = [w for arm, c in enumerate(cells) for w in self.s.why(arm, c)]
        if self.breaks[r] & SPLIT:
            why.append(self.s.why_split(*cells))
        return Hit(test, self.counts(test, r), float(self.p[test][r]), int(self.breaks[r]), "; ".join(why))

    def best(self, rows: np.ndarray, value: float, decimals: int, tests) -> Hit | None:
        """The first of `tests` reaching the value on these rows: on the most patients, then the nearest."""
        for test in tests:
            ok = rounds(self.compute(test, rows)[rows], value, decimals)
            if ok.any():
                hits = rows[ok]
                order = np.lexsort((_distance(self.p[test][hits], value), -(self.n1[hits] + self.n2[hits])))
                return self.hit(test, int(hits[order[0]]))
        return None

    def nearest(self, rows: np.ndarray, value: float, tests=tuple(TESTS)) -> Hit | None:
        """The p nearest the value on these rows, among the tests computed on all of them."""
        found = None
        for test in tests:
            p = self.p[test][rows]
            if not self.done[test][rows].all() or np.isnan(p).all():
                continue
            r = int(rows[np.nanargmin(_distance(p, value))])
            if found is None or _distance(self.p[test][r], value) < _distance(found.p, value):
                found = self.hit(test, r)
        return found


def _distance(p, value: float):
    """How far p lies from the value, to 12 decimals: a near tie is decided the same on every machine
    (the earlier test, then the earlier table)."""
    return np.round(np.abs(np.asarray(p, dtype=float) - value), 12)


def _search(pub: published.Study, n: published.Number) -> Verdict | None:
    s = setting(pub, n.timepoint, n.source)
    if s is None or len(pub.arms) != 2:
        return None
    search = _Search(s, n.outcome)
    every = search.rows
    # Pearson, Yates, z and the CR/PR/NR table at once on every table; the tests computed table by table on
    # every distinct 2 x 2 table where the outcome is published in both arms (a few per n), elsewhere (its
    # counts free) only on the tables a verdict needs
    by_table = [t for t in TESTS if t not in VECTORISED]
    published_outcome = all(n.outcome in percents(pub, n.timepoint, arm, n.source) for arm in pub.arms)
    distinct = len(np.unique(np.stack([search.k1, search.n1, search.k2, search.n2], 1), axis=0))
    exact_rows, capped = every, ""
    if distinct > EXACT_TABLES:   # percentages printed coarsely fit too many tables for the table-by-table tests
        sizes = stated_denominators(pub)
        d1, d2 = (sizes[n.timepoint, arm] for arm in pub.arms)
        exact_rows = np.flatnonzero((search.n1 == d1) & (search.n2 == d2))
        capped = (f"; {', '.join(TESTS[t] for t in by_table)} only on the tables with the reconstruction's numbers of "
                  f"evaluated patients ({d1} and {d2}): the {distinct:,} distinct 2 x 2 tables are too many for them")
    for t in VECTORISED:
        search.compute(t, every)
    if published_outcome:
        for t in by_table:
            search.compute(t, exact_rows)
    found: dict[int, Hit] = {}    # smallest sets of broken assumptions that let a table reach the value -> a hit
    for mask in sorted(set(search.breaks.tolist()), key=lambda m: (bin(m).count("1"), m)):
        if any(m & mask == m for m in found):
            continue              # a smaller set already reaches it
        rows = np.flatnonzero(search.breaks == mask)
        hit = search.best(rows, n.value, n.decimals, [t for t in TESTS if search.done[t].all()]) \
            or search.best(np.intersect1d(rows, exact_rows), n.value, n.decimals, by_table)
        if hit:
            found[mask] = hit
            if mask == 0:
                break
    ranges = {t: (float(np.nanmin(search.p[t])), float(np.nanmax(search.p[t]))) for t in TESTS
              if search.done[t].all() and not np.isnan(search.p[t]).all()}
    stated = np.flatnonzero(search.breaks == 0)
    value = f"p = {printed(n.value, n.decimals)}"
    nearest = None
    if 0 in found:
        kind, hits = "reached", (found[0],)
        text = f"Reached under the stated assumptions: {found[0]}."
    elif found:
        kind, hits = "not_reached", tuple(found.values())
        nearest = search.nearest(stated, n.value) if len(stated) else None
        text = f"Not reached under the stated assumptions: no table under them gives {value}"
        if nearest:
            text += f" (the nearest is {shown(nearest.p)}, {TESTS[nearest.test]} on {nearest.counts})"
        text += "; consistent tables reach it without " + "; or without ".join(
            f"{' and '.join(ASSUMPTIONS[b] for b in ASSUMPTIONS if mask & b)} ({hit}: {hit.why})"
            for mask, hit in found.items()) + "."
        two_by_two = [t for t in PROPORTION_TESTS if search.done[t].all()]
        if len(two_by_two) == len(PROPORTION_TESTS) and not any(
                rounds(search.p[t], n.value, n.decimals).any() for t in two_by_two):
            closest = search.nearest(every, n.value, two_by_two)
            text += (f" No 2 x 2 test reaches it on any consistent table (the nearest is {shown(closest.p)}, "
                     f"{TESTS[closest.test]} on {closest.counts}).")
    else:
        kind, hits = "infeasible", ()
        nearest = search.nearest(every, n.value)
        text = (f"Infeasible: no count table consistent with the published numbers gives {value} under any of the "
                f"named tests; the nearest is {shown(nearest.p)} ({TESTS[nearest.test]} on {nearest.counts}).")
    note = precision_note(pub, n, hits[0].p if hits else nearest.p if nearest else None)
    searched = f"Searched: {s.searched}; {_tables(len(every))}; tests: {_tests_words(n.outcome)}{capped}."
    return Verdict(n.id, n.value, n.decimals, kind, " ".join(x for x in (text, note, searched) if x), hits, nearest,
                   ranges, len(every))


CACHE_DIR = REPO_ROOT / "_build" / "cache" / "feasibility"
_VERDICTS: dict = {}   # study file as JSON -> {number id: Verdict}: the exact tests take seconds


RANGES_DIR = CACHE_DIR / "ranges"   # _stored: one JSON file per range (CheckRange, DifferenceRange) asked for
_STORED: dict = {}     # (study file as JSON, what, arguments) -> a CheckRange or DifferenceRange read or computed


@functools.lru_cache(maxsize=64)
def _cache_key_of(pub_json: str) -> str:
    digest = hashlib.sha256(pub_json.encode())
    for module in (counts, consistency, proportions, labels):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:32]


def _cache_key(pub: published.Study) -> str:
    """The study file's content and the code that decides a verdict: a verdict cached under this key is
    the one this code would compute for this file."""
    return _cache_key_of(pub.model_dump_json())


def _stored(pub: published.Study, kind: type, arguments: tuple, compute):
    """`compute()` (a CheckRange, a DifferenceRange or None), computed once per study file and arguments: kept in
    memory and in the build folder's cache (RANGES_DIR, under the verdicts' key), so the chapters and the
    scorecard that ask for the same range read it instead of searching the count tables again."""
    memo = (pub.model_dump_json(), kind.__name__, arguments)
    if memo in _STORED:
        return _STORED[memo]
    name = hashlib.sha256(json.dumps([kind.__name__, *arguments]).encode()).hexdigest()[:16]
    path = RANGES_DIR / f"{pub.study}-{_cache_key(pub)}-{kind.__name__}-{name}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        found = None if raw is None else kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    except (OSError, ValueError, TypeError):
        found = compute()
        _write(path, None if found is None else dataclasses.asdict(found))
    _STORED[memo] = found
    return found


def _to_json(found: Verdict | None) -> dict | None:
    return None if found is None else dataclasses.asdict(found)


def _from_json(raw: dict | None) -> Verdict | None:
    if raw is None:
        return None
    hit = lambda h: None if h is None else Hit(**h)  # noqa: E731
    return Verdict(**{**raw, "hits": tuple(hit(h) for h in raw["hits"]), "nearest": hit(raw["nearest"]),
                      "ranges": {t: tuple(r) for t, r in raw["ranges"].items()}})


def verdicts(pub: published.Study) -> dict[str, Verdict | None]:
    """The verdict of every published p-value of `pub`, computed once per study file: kept in memory and
    in the build folder's cache (CACHE_DIR, one JSON file per study file's content and this code), which
    the book build fills before its chapters run, so no chapter runs the search."""
    memo = pub.model_dump_json()
    if memo in _VERDICTS:
        return _VERDICTS[memo]
    path = CACHE_DIR / f"{pub.study}-{_cache_key(pub)}.json"
    try:
        found = {k: _from_json(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError, TypeError, KeyError):
        found = {n.id: _search(pub, n) for n in pub.numbers if _is_response_p(pub, n)}
        _write(path, {k: _to_json(v) for k, v in found.items()})
    _VERDICTS[memo] = found
    return found


def _write(path: Path, content: dict) -> None:
    """Write the cache file in one step (a reader never sees half of it); a cache that cannot be written
    is only not kept."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(content, out)
        os.replace(tmp, path)
    except OSError:
        pass


def _is_response_p(pub: published.Study, n: published.Number) -> bool:
    return n.statistic == "p_value" and n.measure == "response" and n.outcome is not None and \
        n.timepoint in pub.timepoints


def verdict(pub: published.Study, number: published.Number | str) -> Verdict | None:
    """Can this published p-value (of a comparison of two arms' response) be true? None when it is not
    such a p-value, or an arm has no published percentage at its timepoint."""
    n = pub.number(number) if isinstance(number, str) else number
    return verdicts(pub).get(n.id) if _is_response_p(pub, n) else None


# --- could a check have failed? -------------------------------------------------------------

@dataclass(frozen=True)
class CheckRange:
    """The p of one named test over the count tables consistent with the published numbers, and over
    those under the stated assumptions: could the published p (an independent check) have failed?"""
    number: str
    test: str
    published: float
    decimals: int
    low: float
    high: float
    could_fail: bool          # some consistent table's p does not round to the published value
    stated_low: float
    stated_high: float
    stated_could_fail: bool
    tables: int
    stated_tables: int

    def text(self) -> str:
        value, test = printed(self.published, self.decimals), TESTS[self.test]

        def part(low, high, fail, tables):
            return (f"{test} gives {low:.3f}–{high:.3f} on {_tables(tables)}: "
                    + (f"some would not print as {value}, so the check could have failed" if fail else
                       f"every one prints as {value}, so the check could not have failed"))
        every = part(self.low, self.high, self.could_fail, self.tables)
        stated = part(self.stated_low, self.stated_high, self.stated_could_fail, self.stated_tables)
        return f"On the tables consistent with the published numbers, {every}; under the stated assumptions, {stated}."


def check_range(pub: published.Study, number: published.Number | str, test: str = "pearson") -> CheckRange | None:
    """The range of a published p-value under `test` over every count table consistent with the
    published numbers (splits free), and over those under the stated assumptions; None where
    feasibility.verdict gives None. A table on which the test is not estimable counts as one on which the
    check fails. Computed once per study file (_stored)."""
    n = pub.number(number) if isinstance(number, str) else number
    return _stored(pub, CheckRange, (n.id, test), lambda: _check_range(pub, n, test))


def _check_range(pub: published.Study, n: published.Number, test: str) -> CheckRange | None:
    s = setting(pub, n.timepoint, n.source) if verdict(pub, n) is not None else None
    if s is None or len(pub.arms) != 2:
        return None
    search = _Search(s, n.outcome)
    p = search.compute(test, search.rows)

    def span(rows):
        values, fail = p[rows], not rounds(p[rows], n.value, n.decimals).all()
        if np.isnan(values).all():
            return math.nan, math.nan, fail, 0
        tables = len(rows) if test == RESPONSE_TABLE else len(np.unique(
            np.stack([search.k1[rows], search.n1[rows], search.k2[rows], search.n2[rows]], 1), axis=0))
        return float(np.nanmin(values)), float(np.nanmax(values)), fail, tables
    low, high, fail, tables = span(search.rows)
    stated = span(np.flatnonzero(search.breaks == 0))
    return CheckRange(n.id, test, n.value, n.decimals, low, high, fail, *stated[:3], tables, stated[3])


# --- how far the sources pin a comparison ----------------------------------------------------

@dataclass(frozen=True)
class DifferenceRange:
    """The risk difference (arm 1 minus arm 2, as proportions) over the count tables a condition allows."""
    what: str
    arms: tuple[str, str]
    low: float            # NaN when no table is allowed
    high: float
    low_counts: str       # a table at each end ('3/65 vs 0/26')
    high_counts: str
    tables: int           # distinct 2 x 2 tables allowed

    @property
    def forced(self) -> int:
        """+1: the first arm higher in every table; -1: the second; 0: the sources leave it open."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    def text(self) -> str:
        if not self.tables:
            return f"{self.what}: no count table allows it."
        direction = f"forced: higher in {self.arms[0] if self.forced > 0 else self.arms[1]}" if self.forced else \
            "not forced"
        return (f"{self.what}: {100 * self.low:+.1f} to {100 * self.high:+.1f} percentage points "
                f"({self.low_counts} to {self.high_counts}; {_tables(self.tables)}); the direction is {direction}.")


def _range(what: str, arms, k1, n1, k2, n2) -> DifferenceRange:
    if not len(k1):
        return DifferenceRange(what, tuple(arms), math.nan, math.nan, "", "", 0)
    rd = k1 / n1 - k2 / n2
    lo, hi = int(np.argmin(rd)), int(np.argmax(rd))
    return DifferenceRange(what, tuple(arms), float(rd[lo]), float(rd[hi]), f"{k1[lo]}/{n1[lo]} vs {k2[lo]}/{n2[lo]}",
                           f"{k1[hi]}/{n1[hi]} vs {k2[hi]}/{n2[hi]}", len(rd))


def difference_range(pub: published.Study, outcome: str, timepoint: str, p_value: str | None = None,
                     test: str = "pearson") -> DifferenceRange | None:
    """The risk difference of `outcome` at `timepoint` (first arm minus second) over every count table
    consistent with the published percentages there (of every source not set aside; follow-up free,
    unpublished counts free); with `p_value`, only the tables on which `test` gives that published p-value
    (of the same timepoint) at its rounding. Computed once per study file (_stored)."""
    return _stored(pub, DifferenceRange, (outcome, timepoint, p_value, test),
                   lambda: _difference_range(pub, outcome, timepoint, p_value, test))


def _difference_range(pub: published.Study, outcome: str, timepoint: str, p_value: str | None,
                      test: str) -> DifferenceRange | None:
    s = setting(pub, timepoint)
    if s is None or len(pub.arms) != 2:
        return None
    search = _Search(s, outcome)
    rows = search.rows
    what = f"{outcome} at {timepoint}, {pub.arms[0]} minus {pub.arms[1]}"
    if p_value:
        p = pub.number(p_value)
        if p.timepoint != timepoint:
            raise ValueError(f"{p_value} is a p-value of {p.timepoint}, not {timepoint}")
        condition = _Search(s, p.outcome)
        values = condition.compute(test, rows)
        rows = rows[rounds(values, p.value, p.decimals)]
        what += f", where {TESTS[test]} gives p = {printed(p.value, p.decimals)} ({p.id})"
    tables = np.unique(np.stack([search.k1[rows], search.n1[rows], search.k2[rows], search.n2[rows]], 1), axis=0)
    return _range(what, pub.arms, *tables.T)


def fisher_all(n1: int, n2: int) -> np.ndarray:
    """Two-sided Fisher exact p of every table k1 of n1 vs k2 of n2, as an (n1 + 1) x (n2 + 1) array: one
    hypergeometric distribution (scipy) per total k1 + k2, the p of each table the probability of the
    tables of that total no more likely than it (scipy's fisher_exact's relative tolerance of 1e-7)."""
    from scipy.stats import hypergeom
    out = np.full((n1 + 1, n2 + 1), np.nan)
    for total in range(n1 + n2 + 1):
        k1 = np.arange(max(0, total - n2), min(total, n1) + 1)
        pmf = hypergeom.pmf(k1, n1 + n2, total, n1)
        p = np.array([pmf[pmf <= q * (1 + 1e-7)].sum() for q in pmf])
        out[k1, total - k1] = np.minimum(p, 1.0)
    return out


def no_difference_range(n1: int, n2: int, test: str = "fisher", alpha: float = 0.05,
                        arms: tuple[str, str] = ("the first group", "the second group")) -> DifferenceRange:
    """A source says 'no significant difference' between k1 of n1 and k2 of n2 patients and publishes
    neither count: the risk difference over every (k1, k2) with p >= alpha under a 2 x 2 `test` (a p
    within a relative 1e-9 of alpha, or not estimable, is not taken)."""
    k1, k2 = (x.ravel() for x in np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij"))
    n1s, n2s = np.full_like(k1, n1), np.full_like(k2, n2)
    p = fisher_all(n1, n2).ravel() if test == "fisher" else p_values(test, k1, n1s, k2, n2s)
    keep = p * (1 - MARGIN) >= alpha
    what = f"{arms[0]} minus {arms[1]} ({n1} vs {n2} patients), no significant difference ({TESTS[test]}, " \
           f"p >= {alpha:g})"
    return _range(what, arms, k1[keep], n1s[keep], k2[keep], n2s[keep])


def spans(values: list[int]) -> str:
    """[3, 4, 5, 9] -> '3–5, 9'."""
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append(f"{start}" if start == v else f"{start}–{v}")
            start = None
    return ", ".join(out)
