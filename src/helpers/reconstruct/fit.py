"""Fitting groups of patients' values to published means and SDs (on top of helpers.reconstruct.moments).

A measure at a timepoint may be published for some groups (subgroups or arms) and for all patients.
The groups with their own mean and SD are fitted to them first; the patients of the groups without
one are then fitted together to the overall mean and SD, with the others held fixed. Each fit
starts from the best of several plausible draws, so the values stay typical of their group.
"""
from __future__ import annotations

import bisect
import math
from fractions import Fraction

from helpers.publication import measures, published
from helpers.publication.counts import infeasible_moments
from helpers.reconstruct.draw import Draws, lognormal_parameters
from helpers.reconstruct.moments import Target, best_start, solve

CANDIDATES = 40     # plausible draws tried as the start of each fit


def targets(pub: published.Study, measure: str, timepoint: str) -> dict[str, tuple]:
    """{group: (mean Number, sd Number)} of the published means and SDs of `measure` at `timepoint`
    (those no data can give left out: counts.infeasible_moments)."""
    found: dict[str, dict] = {}
    impossible = infeasible_moments(pub)
    names = {measure, f"egfr_{pub.reconstruction.egfr_equation}"} if measure == "egfr" else {measure}
    for x in pub.targets():
        if x.id in impossible or x.statistic not in ("mean", "sd"):
            continue
        if x.measure in names and x.timepoint == timepoint:
            found.setdefault(x.group, {})[x.statistic] = x
    return {g: (v["mean"], v["sd"]) for g, v in found.items() if {"mean", "sd"} <= set(v)}


def published_values(pub: published.Study, measure: str, timepoint: str, group: str = "all") -> dict | None:
    """{'mean', 'sd'} as published for `group`, feasible or not (a drawing spec, never a target)."""
    found = {x.statistic: x.value for x in pub.numbers if x.measure == measure and x.timepoint == timepoint
             and x.group == group and x.statistic in ("mean", "sd")}
    return found if set(found) == {"mean", "sd"} else None


def target(pair: tuple, n: int, unit: str, label: str) -> Target:
    """The published mean and SD as a target on the grid of `unit` (the stored unit), in the unit the source
    printed them in: the grid step is then `unit` x the conversion factor (50 mg/mmol of UPCR: steps of 0.01 g/g
    are 1.1312 mg/mmol), so the windows are exact in the published unit."""
    mean, sd = pair
    factor = measures.factor(mean.measure, mean.unit) or Fraction(1)
    step = Fraction(unit) * factor
    text = unit if factor == 1 else f"{step.numerator}/{step.denominator}"
    return Target(mean.value, sd.value, mean.decimals, text, n, label=label, ids=(mean.id, sd.id))


def stored(number) -> float:
    """A published value in the stored unit of its measure (g/g for a UPCR printed in mg/mmol)."""
    factor = measures.factor(number.measure, number.unit) or Fraction(1)
    return float(Fraction(repr(number.value)) / factor)


def fit(draws: Draws, ladders: list[list[int]], draw_position, goal: Target,
        fixed: list[int] = (), first: list[int] | None = None) -> list[int]:
    """Positions (one per ladder) whose values reproduce `goal` together with `fixed`, from the best
    of CANDIDATES plausible draws (`draw_position(i)` proposes a position on ladder i) and the
    positions `first`, if given."""
    fixed_sum, fixed_squares = sum(fixed), sum(v * v for v in fixed)
    starts = ([first] if first else []) + [[draw_position(i) for i in range(len(ladders))]
                                          for _ in range(CANDIDATES)]
    values = [[ladders[i][p] for i, p in enumerate(start)] for start in starts]
    start = starts[best_start(values, goal, fixed_sum, fixed_squares)]
    return solve(ladders, start, goal, draws, fixed_sum, fixed_squares)


def implied(goal: Target, fixed: list[int], n_free: int) -> tuple[float, float]:
    """Mean and SD (in units) the free values need for the overall mean and SD to hold."""
    unit = float(Fraction(goal.unit))
    total, sd = goal.mean / unit * goal.n, goal.sd / unit
    squares = sd * sd * (goal.n - 1) + total * total / goal.n
    rest_total, rest_squares = total - sum(fixed), squares - sum(v * v for v in fixed)
    mean = rest_total / n_free
    variance = max((rest_squares - n_free * mean * mean) / max(n_free - 1, 1), 0.09 * mean * mean)
    return mean, math.sqrt(variance)


def lognormal_position(draws: Draws, ladder: list[int], mean: float, sd: float) -> int:
    """A position on an integer ladder (consecutive units) from a lognormal with this mean and SD."""
    mu, sigma = lognormal_parameters(max(mean, 1.0), max(sd, 1.0))
    return draws.lognormal_units(mu, sigma, ladder[0], ladder[-1], 1) - ladder[0]


def nearest(ladder: list[int], value: int) -> int:
    """The position on an ascending ladder whose value is nearest `value` (the lower on a tie)."""
    i = bisect.bisect_left(ladder, value)
    return min((p for p in (i - 1, i) if 0 <= p < len(ladder)), key=lambda p: (abs(ladder[p] - value), p))


def fit_groups(draws: Draws, pub: published.Study, measure: str, timepoint: str, unit: str,
               members: dict[str, list[int]], ladders: dict[int, list[int]], propose,
               draft: dict[int, int] | None = None) -> dict[int, int] | None:
    """Values (units) per patient of `measure` at `timepoint`, each on its ladder: every group of
    `members` with a published mean and SD fitted to it, then the others together to the mean and
    SD of all patients with the fitted ones held fixed (with no such figure, they keep their draft,
    or a uniform draw). `propose(i, mean, sd)` gives a plausible position for patient i from a
    target's mean and SD in units; `draft` values, brought onto their ladders, are one of the starts.
    None when nothing about this measure and timepoint is published."""
    published_pairs = targets(pub, measure, timepoint)
    reported = [g for g in members if g in published_pairs]
    rest = [i for g in members if g not in reported for i in members[g]]
    if not reported and "all" not in published_pairs:
        return None
    out, fixed = {}, []
    blocks = [(g, members[g]) for g in reported] + ([("all", rest)] if rest else [])
    for g, idx in blocks:
        if g == "all" and "all" not in published_pairs:   # no overall figure to fit the rest to: drafts
            out.update({i: ladders[i][nearest(ladders[i], draft[i]) if draft else
                                      draws.integer(0, len(ladders[i]) - 1)] for i in idx})
            continue
        if g == "all":
            goal = target(published_pairs["all"], sum(len(v) for v in members.values()), unit,
                          f"{measure} of all patients at {timepoint}")
            mean, sd = implied(goal, fixed, len(idx))
        else:
            goal = target(published_pairs[g], len(idx), unit, f"{measure} of {g} at {timepoint}")
            scale = 1 / float(Fraction(goal.unit))
            mean, sd = goal.mean * scale, goal.sd * scale
        group_ladders = [ladders[i] for i in idx]
        first = [nearest(ladder, draft[i]) for ladder, i in zip(group_ladders, idx)] if draft else None
        positions = fit(draws, group_ladders, lambda k, idx=idx, mean=mean, sd=sd: propose(idx[k], mean, sd), goal,
                        fixed if g == "all" else (), first)
        fitted = [ladder[p] for ladder, p in zip(group_ladders, positions)]
        out.update(zip(idx, fitted))
        fixed += fitted
    return out

