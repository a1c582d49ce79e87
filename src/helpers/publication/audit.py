"""Internal consistency of the published numbers themselves (no patient data needed).

Each function returns a table with a `verdict` column. These tables read the
published values on purpose: they audit the sources, they are not results.
"""
from __future__ import annotations

import pandas as pd

from helpers import labels
from helpers.publication import counts, feasibility, published
from helpers.publication.consistency import grim_mean, mixture_splits, percent_counts, rounds_to


def _stated_sizes(pub: published.Study) -> dict[str, int]:
    """Group sizes as stated by the main source (the first n_patients number of each group)."""
    sizes: dict[str, int] = {}
    for n in pub.numbers:
        if n.measure == "n_patients":
            sizes.setdefault(n.group, int(n.value))
    return sizes


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
            verdict = f"consistent with fewer evaluated patients: n in {feasibility.spans(near)}"
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
    """Each published p-value of a two-arm comparison of response: can it be true? Every named test on
    every count table consistent with the published percentages (helpers.publication.feasibility.verdict), and the
    range of the Pearson p, on those tables and under the stated assumptions (feasibility.check_range)."""
    rows = []
    for n in pub.numbers:
        if n.statistic != "p_value":
            continue
        found = feasibility.verdict(pub, n)
        if found is None:
            rows.append({"id": n.id, "published p": n.value, "count tables": 0, "p range by test": "",
                         "Pearson p: consistent tables; stated assumptions": "",
                         "verdict": "the percentages behind it are not published"})
            continue
        span = "; ".join(f"{feasibility.TESTS[t]} {lo:.3f}–{hi:.3f}" for t, (lo, hi) in found.ranges.items())
        check = feasibility.check_range(pub, n)
        rows.append({"id": n.id, "published p": n.value, "count tables": found.tables, "p range by test": span,
                     "Pearson p: consistent tables; stated assumptions":
                         f"{check.low:.3f}–{check.high:.3f}; {check.stated_low:.3f}–{check.stated_high:.3f}"
                         + (" (not all print as published)" if check.stated_could_fail else
                            " (all print as published: the check could not have failed)"),
                     "verdict": found.text})
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
            parts = " + ".join(map(str, arms.values()))
            verdict = f"DISAGREES with the sum of the arms ({parts} = {sum(arms.values())})"
        rows.append({"id": n.id, "source": n.source, "stated n": int(n.value), "verdict": verdict})
    return pd.DataFrame(rows)


def subgroup_mixtures(pub: published.Study, n_range=range(15, 41)) -> pd.DataFrame:
    """Can the reported subgroup means alone mix into the overall mean? Splits that work, for each total n."""
    rows = []
    for overall in pub.numbers:
        if overall.statistic != "mean" or overall.group != "all" or not pub.subgroups:
            continue
        parts = [x for g in pub.subgroups for x in pub.numbers if x.measure == overall.measure
                 and x.timepoint == overall.timepoint and x.statistic == "mean" and x.group == g]
        if len(parts) != 2:
            continue
        fits = {m: mixture_splits(overall.value, parts[0].value, parts[1].value, overall.decimals, m) for m in n_range}
        fitting = [f"{m} ({k}/{m - k})" for m, ks in fits.items() for k in ks]
        both = " and ".join(labels.group(p.group).lower() for p in parts)
        rows.append({"measure": overall.measure, "timepoint": overall.timepoint, "overall": overall.value,
                     **{p.group: p.value for p in parts},
                     "totals that fit (split)": ", ".join(fitting[:6]) or "none",
                     "verdict": f"the {both} means CANNOT mix into the overall mean "
                                f"for {n_range.start}–{n_range.stop - 1} patients" if not fitting else
                                "possible for some totals"})
    return pd.DataFrame(rows)


def unreported_group(pub: published.Study, sizes: dict[str, int] | None = None) -> pd.DataFrame:
    """With a subgroup the abstract never reports (published only as a count, by another source):
    for each split of the reported subgroups, the mean and SD that group must have for every
    published overall mean and SD to hold (from the published values' midpoints).

    `sizes` gives the patients per timepoint ({'baseline': 29, '24w': 27}); by default the study's
    patients at baseline and, at a timepoint, the fewest patients at which every percentage of that
    timepoint is possible (GRIM). The unreported group takes whatever the reported subgroups leave."""
    numbers = {(x.measure, x.timepoint, x.group, x.statistic): x for x in pub.numbers if x.id not in pub.set_aside}
    reported = [g for g in pub.subgroups if any(k[2] == g and k[3] == "mean" for k in numbers)]
    hidden = [g for g in pub.subgroups if g not in reported]
    counts = {x.group: int(x.value) for x in pub.numbers if x.measure == "n_patients" and x.id not in pub.set_aside}
    joined = "+".join(reported)
    if len(hidden) != 1 or len(reported) != 2 or joined not in counts:
        return pd.DataFrame()
    together = counts[joined]
    sizes = sizes or _sizes_by_timepoint(pub, counts.get("all"))
    rows = []
    for (measure, timepoint, group, statistic), overall in numbers.items():
        if group != "all" or statistic != "mean" or (measure, timepoint, reported[0], "mean") not in numbers:
            continue
        total = (sizes or {}).get(timepoint, counts.get("all"))
        sd_all = numbers[measure, timepoint, "all", "sd"].value
        for first in range(2, together - 1):
            split = {reported[0]: first, reported[1]: together - first}
            rest = total - together
            s_all = total * overall.value
            q_all = (total - 1) * sd_all ** 2 + s_all ** 2 / total
            s_rest, q_rest = s_all, q_all
            for g, m in split.items():
                mean, sd = numbers[measure, timepoint, g, "mean"].value, numbers[measure, timepoint, g, "sd"].value
                s_rest -= m * mean
                q_rest -= (m - 1) * sd ** 2 + m * mean ** 2
            mean = s_rest / rest
            variance = (q_rest - rest * mean ** 2) / (rest - 1)
            possible = mean > 0 and variance > 0
            rows.append({"measure": measure, "timepoint": timepoint,
                         **{g: m for g, m in split.items()}, hidden[0]: rest,
                         f"{hidden[0]} mean ± SD needed": f"{mean:.2f} ± {variance ** 0.5:.2f}" if possible else
                         f"{mean:.2f} ± (none: variance {variance:.2f})",
                         "verdict": "possible" if possible else "IMPOSSIBLE"})
    return pd.DataFrame(rows)


def _sizes_by_timepoint(pub: published.Study, total: int | None) -> dict:
    """{'baseline': total, timepoint: the fewest patients (up to total) fitting every percentage there}."""
    impossible = counts.infeasible_percentages(pub)
    sizes = {"baseline": total}
    for tp in pub.timepoints:
        percents = [x for x in pub.targets() if x.statistic == "percent" and x.timepoint == tp and x.group == "all"
                    and x.id not in impossible]
        fits = [m for m in range(1, (total or 0) + 1) if all(percent_counts(x.value, x.decimals, m) for x in percents)]
        if percents and fits:
            sizes[tp] = fits[0]
    return sizes


def related_figures(pub: published.Study) -> pd.DataFrame:
    """The same quantity reported with different values by different sources."""
    rows = []
    keyed = {}
    for n in pub.numbers:
        keyed.setdefault((n.measure, n.outcome, n.timepoint, n.group, n.statistic), []).append(n)
    for numbers in keyed.values():
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
            rows.append({"quantity": number_words(pub, a), "values": " vs ".join(
                f"{n.value:g} ({_source(pub, n.source)})" for n in numbers),
                "verdict": "DIFFER" + (f"; {detail}" if detail else "")})
    return pd.DataFrame(rows)


STATISTICS = {"percent": "%", "mean": "mean", "sd": "SD", "count": "n", "median": "median",
              "p_value": "p", "logrank_p": "log-rank p"}


def _when(pub: published.Study, timepoint: str | None) -> str:
    if not timepoint:
        return ""
    if timepoint in pub.timepoints:
        return labels.timepoint(timepoint, pub.timepoints[timepoint])
    return str(timepoint).replace("_", " ")


def _source(pub: published.Study, source: str) -> str:
    return pub.sources[source].short if source in pub.sources else source


def number_words(pub: published.Study, n: published.Number) -> str:
    """A published number in clinical words, as the audit's tables name it:
    'Complete response at 6 months, tacrolimus (%)', 'Overall response (CR or PR) at 5 years (p)'."""
    what = labels.OUTCOMES.get(n.outcome, n.outcome) if n.outcome else (
        "Patients" if n.measure == "n_patients" else labels.measure(n.measure))
    when = _when(pub, n.timepoint)
    group = "" if n.group == "all" or " vs " in n.group else labels.group(n.group).lower()
    words = what + (f" at {when}" if when else "") + (f", {group}" if group else "")
    return f"{words} ({STATISTICS.get(n.statistic, n.statistic.replace('_', ' '))})"


def in_words(pub: published.Study, table: pd.DataFrame) -> pd.DataFrame:
    """An audit table as a reader reads it: each number named in clinical words (not by its id), each
    source by its citation, groups, timepoints and measures in words. The tables above keep the codes
    (tests and code read them); the book shows this."""
    if table.empty:
        return table
    table = table.copy()
    if "id" in table:
        table.insert(0, "published number", [number_words(pub, pub.number(i)) for i in table.pop("id")])
        table = table.drop(columns=[c for c in ("group", "timepoint") if c in table])
    if "source" in table:
        table["source"] = [_source(pub, s) for s in table["source"]]
    if "timepoint" in table:
        table["timepoint"] = [_when(pub, t) or "" for t in table["timepoint"]]
    if "measure" in table:
        table["measure"] = [labels.measure(m) for m in table["measure"]]
    groups = {g: labels.group(g) for g in pub.subgroups}
    return table.rename(columns=lambda c: next((groups[g] + c[len(g):] for g in groups
                                                if c == g or c.startswith(g + " ")), c))


__all__ = ["grim_percentages", "grim_means", "p_values", "sample_sizes", "subgroup_mixtures", "unreported_group",
           "related_figures", "rounds_to", "number_words", "in_words"]
