"""Which counts the published numbers allow, and which published numbers no patient-level data can give.

GRIM over a study's arms and timepoints: the number of patients of each arm, the numbers of evaluated
patients at which every published percentage of a timepoint is possible (the largest of them, never
rising over time, are the reconstruction's denominators), and the percentages, means and SDs no data
can give, each with its proof in words. One of the two halves of "can this published number be true?";
helpers.publication.feasibility answers it for p-values.
"""
from __future__ import annotations

import itertools
import math

from helpers.publication import published
from helpers.publication.consistency import grimmer, percent_counts


def arm_sizes(pub: published.Study) -> dict[str, int]:
    """Patients per arm at baseline: each arm's published number; a study with one arm and no such
    number takes the number of all its patients."""
    sizes = {n.group: int(n.value) for n in pub.targets()
             if n.measure == "n_patients" and n.group in pub.arms and n.timepoint in (None, "baseline")}
    if len(pub.arms) == 1 and pub.arms[0] not in sizes:
        total = [int(n.value) for n in pub.targets()
                 if n.measure == "n_patients" and n.group == "all" and n.timepoint in (None, "baseline")]
        if total:
            sizes[pub.arms[0]] = total[0]
    missing = [a for a in pub.arms if a not in sizes]
    if missing:
        raise ValueError(f"{pub.study}.yaml: no number of patients (a number with measure n_patients and no "
                         f"timepoint) for {', '.join(missing)}: the reconstruction needs the size of every arm")
    return sizes


def allowed_counts(number, n: int) -> list[int]:
    """The counts of n patients a published proportion allows: its count itself (a count), or every count
    that rounds to it (a percent, GRIM); [] when none does."""
    if number.statistic == "count":
        k = int(number.value)
        return [k] if 0 <= k <= n else []
    return percent_counts(number.value, number.decimals, n)


PROPORTION = ("count", "percent")


def is_proportion(x, measure: str) -> bool:
    """A count or percent of patients of `measure` (not events, not a share below a threshold, not a class set)."""
    return (x.measure == measure and x.statistic in PROPORTION and not x.threshold and not x.level
            and not x.not_expressible and (x.unit is None or x.unit in ("%", "patients")))


def arm_of(pub: published.Study, group: str) -> str | None:
    """The arm a published number's group is about: the arm itself, or the only arm for 'all'."""
    if group in pub.arms:
        return group
    return pub.arms[0] if group == "all" and len(pub.arms) == 1 else None


def infeasible_percentages(pub: published.Study) -> dict[str, str]:
    """Published response and sex percentages no count of at most the group's patients rounds to, and
    counts larger than the group, each with the proof in words (and, for an overall response, whether it is
    a sum of rounded parts)."""
    sizes = arm_sizes(pub)
    out = {}
    for x in pub.numbers:
        if not (is_proportion(x, "response") or is_proportion(x, "female")):
            continue
        arm = arm_of(pub, x.group)
        size = sizes[arm] if arm else sum(sizes.values()) if x.group == "all" else None
        if size is not None and x.statistic == "count":
            if x.value > size:
                out[x.id] = f"{x.value:.0f} patients of a group of {size}: more than there are."
            continue
        if size is None or any(percent_counts(x.value, x.decimals, n) for n in range(1, size + 1)):
            continue
        first = next(n for n in range(size + 1, 100 * size + 100) if percent_counts(x.value, x.decimals, n))
        text = (f"{x.value:.{x.decimals}f}% fits no n <= {size}: no count of at most {size} patients rounds to "
                f"it (the smallest n that fits is {first}).")
        if x.measure == "response" and x.outcome == "overall":
            parts = {y.outcome: y for y in pub.numbers if y.measure == "response" and y.statistic == "percent"
                     and y.timepoint == x.timepoint and y.group == x.group and y.outcome in ("CR", "PR")}
            if set(parts) == {"CR", "PR"} and round(parts["CR"].value + parts["PR"].value, x.decimals) == x.value:
                text += (f" It equals {parts['CR'].value:.{x.decimals}f}% + {parts['PR'].value:.{x.decimals}f}%, "
                         f"a sum of rounded parts: the rows give CR + PR, rounded once.")
        out[x.id] = text
    return out


WHOLE_NUMBERS = ("age",)   # measures published as means of whole numbers (years)


def _stated_n(pub: published.Study, group: str, timepoint: str | None) -> int | None:
    """How many patients a published mean and SD rest on: the count published for that group and
    timepoint, else (at baseline) the size of the arm or of all patients; None when unknown."""
    at = (None, "baseline") if timepoint in (None, "baseline") else (timepoint,)
    for x in pub.numbers:
        if x.measure == "n_patients" and x.statistic == "count" and x.group == group and x.timepoint in at:
            return int(x.value)
    if timepoint not in (None, "baseline"):
        return None
    sizes = arm_sizes(pub)
    return sizes.get(group, sum(sizes.values()) if group == "all" else None)


def infeasible_moments(pub: published.Study) -> dict[str, str]:
    """Published means and SDs no data can give, each (mean and SD alike) with the proof in words:
    an SD of fewer than 2 patients; an SD larger than values of at least 0 with that mean allow
    (at most mean x sqrt(n), all of the sum on one patient); for whole numbers (age), no sum and sum
    of squares that round to both (GRIMMER)."""
    pairs: dict = {}
    for x in pub.numbers:
        if x.statistic in ("mean", "sd"):
            pairs.setdefault((x.measure, x.group, x.timepoint), {})[x.statistic] = x
    out = {}
    for (measure, group, timepoint), pair in pairs.items():
        if set(pair) != {"mean", "sd"}:
            continue
        mean, sd = pair["mean"], pair["sd"]
        n = _stated_n(pub, group, timepoint)
        if n is None:
            continue
        shown = f"{mean.value:.{mean.decimals}f} ± {sd.value:.{sd.decimals}f}"
        half = 0.5 * 10 ** -sd.decimals
        if n < 2:
            proof = f"{shown} of {n} patient: an SD needs at least 2 patients."
        elif sd.value - half > (mean.value + 0.5 * 10 ** -mean.decimals) * math.sqrt(n):
            proof = (f"{shown} of {n} patients: values of at least 0 with this mean have an SD of at most "
                     f"mean x sqrt(n) = {(mean.value + 0.5 * 10 ** -mean.decimals) * math.sqrt(n):.2f}.")
        elif measure in WHOLE_NUMBERS and not grimmer(mean.value, sd.value, sd.decimals, n):
            proof = (f"{shown} of {n} whole numbers: no sum and sum of squares of {n} whole numbers round to "
                     f"both (GRIMMER).")
        else:
            continue
        out[mean.id] = out[sd.id] = proof
    return out


def infeasible(pub: published.Study) -> dict[str, str]:
    """Every published number no data can give (percentages, means and SDs), with its proof."""
    return {**infeasible_percentages(pub), **infeasible_moments(pub)}


def percents_by_cell(pub: published.Study, numbers) -> dict:
    """{(timepoint, arm): {outcome: [Number, ...]}} for the response percentages and counts some data can give."""
    impossible = infeasible_percentages(pub)
    out: dict = {}
    for n in numbers:
        arm = arm_of(pub, n.group)
        if is_proportion(n, "response") and arm and n.id not in impossible:
            out.setdefault((n.timepoint, arm), {}).setdefault(n.outcome, []).append(n)
    return out


def evaluated_counts(pub: published.Study) -> dict:
    """{(timepoint, arm): n} published numbers of patients evaluated at a timepoint."""
    return {(n.timepoint, arm_of(pub, n.group)): int(n.value) for n in pub.targets()
            if n.measure == "n_patients" and n.timepoint in pub.timepoints and arm_of(pub, n.group)}


def first_count(number, n: int) -> int | None:
    """The smallest count of n patients that gives this published percentage, or the count itself (None if
    none does)."""
    ks = allowed_counts(number, n)
    return ks[0] if ks else None


def consistent_denominators(pub: published.Study) -> tuple[dict, dict]:
    """({(tp, arm): [n, ...]} every number of evaluated patients, largest first, at which every
    published percentage of that timepoint and arm is possible; {(tp, arm): n} the largest such
    numbers that never rise over time, which bound every sequence that does not rise either)."""
    sizes, tps = arm_sizes(pub), list(pub.timepoints)
    every = percents_by_cell(pub, pub.numbers)
    stated = evaluated_counts(pub)
    options = {}
    kept = percents_by_cell(pub, pub.targets())

    def fitting(numbers) -> list[int]:
        return [n for n in range(sizes[arm], 0, -1) if all(allowed_counts(x, n) for x in numbers)]

    for tp, arm in itertools.product(tps, pub.arms):
        numbers = [x for xs in every.get((tp, arm), {}).values() for x in xs]
        options[tp, arm] = [stated[tp, arm]] if (tp, arm) in stated else \
            fitting(numbers) or fitting([x for xs in kept.get((tp, arm), {}).values() for x in xs])
        if not options[tp, arm]:
            raise ValueError(f"{pub.study}.yaml: no number of evaluated patients at {tp} in {arm} (at most "
                             f"{sizes[arm]}) fits all of {', '.join(x.id for x in numbers)} at once")
    largest = {}
    for arm in pub.arms:   # never rising, unless a published count of evaluated patients says so
        ceiling = sizes[arm]
        for tp in tps:
            fits = [n for n in options[tp, arm] if n <= ceiling] or options[tp, arm]
            largest[tp, arm] = ceiling = fits[0]
    return options, largest
