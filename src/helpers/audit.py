"""Internal consistency of the published numbers themselves (no patient data needed).

Each function returns a table with a `verdict` column. These tables read the
published values on purpose: they audit the sources, they are not results.
"""
from __future__ import annotations

import itertools

import pandas as pd

from . import published
from .consistency import grim_mean, mixture_splits, percent_counts, rounds_to
from .stats import PROPORTION_TESTS, compare_proportions


def _stated_sizes(pub: published.Study) -> dict[str, int]:
    """Group sizes as stated by the main source (the first n_patients number of each group)."""
    sizes: dict[str, int] = {}
    for n in pub.numbers:
        if n.measure == "n_patients":
            sizes.setdefault(n.group, int(n.value))
    return sizes


def p_value_reachable(pub: published.Study, n: published.Number) -> list[str] | None:
    """Which standard tests, on which counts consistent with the published percentages
    (GRIM; between half the arm size and the arm size), give the published p-value at its
    rounding, closest first.
    None when the percentages behind the p-value are not published."""
    sizes = {x.group: int(x.value) for x in pub.numbers if x.measure == "n_patients" and x.group in pub.arms}
    percents = [{x.source: x for x in pub.numbers if x.measure == "response" and x.statistic == "percent"
                 and x.timepoint == n.timepoint and x.outcome == n.outcome and x.group == arm}.get(n.source)
                for arm in pub.arms]
    if None in percents:
        return None
    options = [[(k, m) for m in range(sizes[arm] // 2, sizes[arm] + 1) for k in percent_counts(x.value, x.decimals, m)]
               for arm, x in zip(pub.arms, percents)]
    hits = []
    for (k1, n1), (k2, n2) in itertools.product(*options):
        for test in PROPORTION_TESTS:
            p = compare_proportions(k1, n1, k2, n2, test)["p"]
            if rounds_to(p, n.value, n.decimals):
                hits.append((abs(p - n.value), f"{PROPORTION_TESTS[test]} on {k1}/{n1} vs {k2}/{n2} (p = {p:.4f})"))
    return [text for _, text in sorted(hits)]


def grim_percentages(pub: published.Study, n_min: int = 1) -> pd.DataFrame:
    """Each published percentage: the sample sizes (up to the stated group size) that can give it."""
    sizes = _stated_sizes(pub)
    rows = []
    for n in pub.numbers:
        if n.statistic != "percent":
            continue
        stated = sizes.get(n.group, sizes.get("all"))
        possible = [m for m in range(n_min, stated + 1) if percent_counts(n.value, n.decimals, m)]
        at_stated = percent_counts(n.value, n.decimals, stated)
        near = [m for m in possible if m >= stated // 2]
        first_fit = next((m for m in range(n_min, 10 * stated) if percent_counts(n.value, n.decimals, m)), None)
        if at_stated:
            verdict = f"consistent with the stated n = {stated} ({at_stated[0]}/{stated})"
        elif near:
            verdict = f"consistent with fewer evaluated patients: n in {_ranges(near)}"
        else:
            verdict = f"INCONSISTENT with n <= {stated}; the smallest n that fits is {first_fit}"
        rows.append({"id": n.id, "source": n.source, "group": n.group, "timepoint": n.timepoint,
                     "published %": f"{n.value:.{n.decimals}f}", "stated n": stated, "verdict": verdict})
    return pd.DataFrame(rows)


def grim_means(pub: published.Study, resolution: float = 1.0) -> pd.DataFrame:
    """Means of integer-valued data (age in whole years): possible for the stated n?"""
    sizes = _stated_sizes(pub)
    rows = []
    for n in pub.numbers:
        if n.measure != "age" or n.statistic != "mean":
            continue
        stated = sizes.get(n.group, sizes.get("all"))
        ok = grim_mean(n.value, n.decimals, stated, resolution)
        rows.append({"id": n.id, "published mean": n.value, "stated n": stated,
                     "verdict": f"{'possible' if ok else 'IMPOSSIBLE'} for {stated} whole-year ages"})
    return pd.DataFrame(rows)


def p_values(pub: published.Study) -> pd.DataFrame:
    """Each published p-value of a two-arm comparison of percentages, recomputed with Pearson,
    Yates-corrected and Fisher tests on every count pair consistent with the percentages."""
    sizes = _stated_sizes(pub)
    rows = []
    for n in pub.numbers:
        if n.statistic != "p_value":
            continue
        percents = [next((x for x in pub.numbers if x.statistic == "percent" and x.measure == n.measure
                          and x.outcome == n.outcome and x.timepoint == n.timepoint and x.group == arm
                          and x.source == n.source), None) for arm in pub.arms]
        if None in percents:
            rows.append({"id": n.id, "published p": n.value, "candidate count pairs": 0, "p range": "",
                         "verdict": "the percentages behind it are not published"})
            continue
        options = [[(k, m) for m in range(sizes[arm] // 2, sizes[arm] + 1) for k in
                    percent_counts(x.value, x.decimals, m)] for arm, x in zip(pub.arms, percents)]
        ps = {test: [compare_proportions(k1, n1, k2, n2, test)["p"]
                     for (k1, n1), (k2, n2) in itertools.product(*options)] for test in PROPORTION_TESTS}
        reached = p_value_reachable(pub, n) or []
        span = "; ".join(f"{PROPORTION_TESTS[t]} {min(v):.3f}–{max(v):.3f}" for t, v in ps.items())
        rows.append({"id": n.id, "published p": n.value,
                     "candidate count pairs": len(options[0]) * len(options[1]), "p range": span,
                     "verdict": f"reproducible: {reached[0]}" if reached else "NOT reproducible by these tests"})
    return pd.DataFrame(rows)


def sample_sizes(pub: published.Study) -> pd.DataFrame:
    """Stated sample sizes against each other and against the arm sizes."""
    counts = [n for n in pub.numbers if n.measure == "n_patients"]
    arms = {n.group: int(n.value) for n in counts if n.group in pub.arms and n.source == counts[0].source}
    rows = []
    for n in counts:
        if n.group != "all":
            continue
        if not arms:
            verdict = "no arm sizes to compare with (single-arm study); see the GRIM table for the percentages"
        elif int(n.value) == sum(arms.values()):
            verdict = "agrees with the sum of the arms"
        else:
            verdict = f"DISAGREES with the sum of the arms ({' + '.join(map(str, arms.values()))} = {sum(arms.values())})"
        rows.append({"id": n.id, "source": n.source, "stated n": int(n.value), "verdict": verdict})
    return pd.DataFrame(rows)


def subgroup_mixtures(pub: published.Study, n_range=range(15, 41)) -> pd.DataFrame:
    """Can the subgroup means mix into the overall mean? Splits that work, for each total n."""
    rows = []
    for overall in pub.numbers:
        if overall.statistic != "mean" or overall.group != "all" or not pub.subgroups:
            continue
        parts = [next((x for x in pub.numbers if x.measure == overall.measure and x.timepoint == overall.timepoint
                       and x.statistic == "mean" and x.group == g), None) for g in pub.subgroups]
        if None in parts:
            continue
        fits = {m: mixture_splits(overall.value, parts[0].value, parts[1].value, overall.decimals, m) for m in n_range}
        fitting = [f"{m} ({k}/{m - k})" for m, ks in fits.items() for k in ks]
        rows.append({"measure": overall.measure, "timepoint": overall.timepoint, "overall": overall.value,
                     **{g: p.value for g, p in zip(pub.subgroups, parts)},
                     "totals that fit (split)": ", ".join(fitting[:6]) or "none",
                     "verdict": "the subgroup means CANNOT mix into the overall mean for "
                                f"{n_range.start}–{n_range.stop - 1} patients" if not fitting else
                                "possible for some totals"})
    return pd.DataFrame(rows)


def _ranges(values: list[int]) -> str:
    """[3, 4, 5, 9] -> '3–5, 9'."""
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append(f"{start}" if start == v else f"{start}–{v}")
            start = None
    return ", ".join(out)


def related_figures(pub: published.Study) -> pd.DataFrame:
    """The same quantity reported with different values by different sources."""
    rows = []
    keyed = {}
    for n in pub.numbers:
        keyed.setdefault((n.measure, n.outcome, n.timepoint, n.group, n.statistic), []).append(n)
    for key, numbers in keyed.items():
        values = {n.value for n in numbers}
        if len(numbers) > 1 and len(values) > 1:
            a, b = numbers[0], numbers[1]
            detail = ""
            if a.statistic == "percent":
                sizes = [m for m in range(1, 200) if percent_counts(a.value, a.decimals, m)
                         and percent_counts(b.value, b.decimals, m)]
                if sizes:
                    m = sizes[0]
                    detail = (f"at n = {m}: {percent_counts(a.value, a.decimals, m)[0]}/{m} vs "
                              f"{percent_counts(b.value, b.decimals, m)[0]}/{m}")
            rows.append({"quantity": " ".join(str(k) for k in key if k), "values": " vs ".join(
                f"{n.value:g} ({n.source})" for n in numbers), "verdict": "DIFFER" + (f"; {detail}" if detail else "")})
    return pd.DataFrame(rows)


__all__ = ["grim_percentages", "grim_means", "p_values", "sample_sizes", "subgroup_mixtures", "related_figures",
           "rounds_to"]
