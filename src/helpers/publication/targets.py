"""Which published numbers the reconstruction aims at, decided here once: the builder reads the counts it
builds from these functions, and the roles (helpers.compare.provenance) call a number a target only when
`aimed` says the builder aims at it. Every other number the rows can give is an independent check.

The builder aims at: the numbers of patients (arms, subgroups, evaluated); the response of each arm (or of
all patients, one arm) at each timepoint, as a count or a percent, CR, PR, overall or no response; the women
of all patients or of an arm; the mean and SD of age and of disease duration of all patients; the means and
SDs of UPCR and eGFR of the groups at baseline and at each timepoint (in any of their units); the patients in
each value of a category (ISN class, induction, maintenance, sediment, serology) when the published single
values add up to all patients; renal flares (one timepoint: after the last visit) and adverse events of all
patients, as patients or events; tacrolimus alone as maintenance (study A, by its assumption).
"""
from __future__ import annotations

import itertools
import math

from helpers.publication import counts, measures, published

CATEGORIES = ("isn_class", "induction", "maintenance", "active_sediment", "active_serology")
FITTED_LABS = ("upcr", "egfr")
# Measures of the format the reconstruction writes no column for, each with why: a number about one is not
# expressible in the reconstructed rows (a real cohort that holds the column is compared with it).
NOT_BUILT = {
    "proteinuria_24h": "The reconstruction writes no 24-hour urine protein (the format's optional column "
                       "proteinuria_g_day): it builds UPCR, and turning a UPCR into g/day would need each patient's "
                       "daily creatinine excretion, which no source gives. A real cohort that holds the column is "
                       "compared with it."}


def not_built(n) -> str | None:
    """Why the reconstructed rows cannot give number `n` although the format can hold it (NOT_BUILT), or None."""
    return NOT_BUILT.get(n.measure)


def total(pub: published.Study) -> int:
    return sum(counts.arm_sizes(pub).values())


def _events_unit(x) -> bool:
    return x.unit is not None and measures.unit_name(x.unit) == "events"


def category_numbers(pub: published.Study, name: str) -> list:
    """The published counts and percents of all patients in one value of category `name`."""
    return [x for x in pub.targets() if x.measure == name and x.group == "all" and len(x.level) == 1
            and x.statistic in counts.PROPORTION and not x.threshold and not x.not_expressible]


def category_counts(pub: published.Study, name: str) -> dict[str, int] | None:
    """{value: patients} of category `name` for all patients, from its published single values when counts
    they allow add up to every patient (the first such, in the order given); None otherwise."""
    numbers = category_numbers(pub, name)
    if not numbers:
        return None
    n = total(pub)
    by_level: dict[str, set] = {}
    for x in numbers:
        allowed = set(counts.allowed_counts(x, n))
        by_level[x.level[0]] = by_level[x.level[0]] & allowed if x.level[0] in by_level else allowed
    levels = list(by_level)
    options = [sorted(by_level[v]) for v in levels]
    if any(not o for o in options):
        return None
    for combo in itertools.product(*options):
        if sum(combo) == n:
            return dict(zip(levels, combo))
    return None


def flare_counts(pub: published.Study) -> tuple[int, int] | None:
    """(patients with a renal flare, renal flares) of all patients, as published (a count of patients and/or
    of events); None when neither is."""
    found = {"patients": None, "events": None}
    for x in pub.targets():
        if x.measure == "renal_flare" and x.group == "all" and x.statistic == "count" and not x.level:
            found["events" if _events_unit(x) else "patients"] = int(x.value)
    if found["patients"] is None and found["events"] is None:
        return None
    patients = found["patients"] if found["patients"] is not None else found["events"]
    return patients, max(found["events"] or patients, patients)


def adverse_event_counts(pub: published.Study) -> dict[str, tuple[int, int]]:
    """{category: (patients, events)} of all patients, from published counts of one category each."""
    found: dict[str, dict] = {}
    for x in pub.targets():
        if x.measure == "adverse_event" and x.group == "all" and x.statistic == "count" and len(x.level) == 1:
            found.setdefault(x.level[0], {})["events" if _events_unit(x) else "patients"] = int(x.value)
    out = {}
    for category, given in found.items():
        patients = given.get("patients", given.get("events"))
        out[category] = (patients, max(given.get("events", patients), patients))
    return out


def _paired(pub: published.Study, x) -> bool:
    """Is a mean published with its SD (or an SD with its mean) for the same measure, group and timepoint? The
    fits need both."""
    other = {"mean": "sd", "sd": "mean"}[x.statistic]
    return any(y.statistic == other and y.measure == x.measure and y.group == x.group and y.timepoint == x.timepoint
               for y in pub.targets())


def _assumed(pub: published.Study) -> set[str]:
    return {a.id for a in pub.assumptions}


def aimed(pub: published.Study) -> dict[str, str]:
    """{number id: how the reconstruction makes it true} for the numbers the builder aims at."""
    out = {}
    assumed = _assumed(pub)
    subgroups = set(pub.subgroups)
    for x in pub.targets():
        if x.not_expressible or x.statistic in ("p_value", "logrank_p") or x.threshold:
            continue
        arm = counts.arm_of(pub, x.group)
        parts = set(x.group.split("+"))
        if x.measure == "n_patients" and x.statistic == "count" and (arm or x.group == "all" or parts <= subgroups):
            out[x.id] = "The reconstruction has this many patients (arm sizes, subgroup sizes, evaluated patients)."
        elif counts.is_proportion(x, "response") and (arm or (x.group in subgroups and
                                                            "responders_by_subgroup" in assumed)):
            out[x.id] = "The counts plan (helpers.reconstruct.plan) gives it."
        elif counts.is_proportion(x, "female") and (arm or x.group == "all"):
            out[x.id] = "The women of the group are drawn to give it."
        elif x.measure in ("age", "disease_duration") and x.statistic in ("mean", "sd") and x.group == "all" and \
                x.timepoint in (None, "baseline") and _paired(pub, x):
            out[x.id] = "The values are fitted to the published mean and SD (helpers.reconstruct.fit)."
        elif (x.measure in FITTED_LABS or x.measure == f"egfr_{pub.reconstruction.egfr_equation}") and \
                x.statistic in ("mean", "sd") and (arm or x.group == "all" or x.group in subgroups) and _paired(pub, x):
            out[x.id] = "The values are fitted to the published mean and SD (helpers.reconstruct.fit)."
        elif x.measure == "tacrolimus_monotherapy":
            out[x.id] = "The reconstruction reproduces it by design (the maintenance assumption)."
        elif x.measure in CATEGORIES and x.measure not in assumed and x in category_numbers(pub, x.measure) \
                and category_counts(pub, x.measure) is not None:
            out[x.id] = "The patients in each value are the published counts (they add up to every patient)."
        elif x.measure == "renal_flare" and x.group == "all" and x.statistic == "count" and not x.level \
                and len(pub.timepoints) < 2:
            out[x.id] = "The flares after the last visit are drawn to give it."
        elif x.measure == "adverse_event" and x.group == "all" and x.statistic == "count" and len(x.level) == 1 \
                and "adverse_events" not in assumed:
            out[x.id] = "The adverse events of the category are drawn to give it."
    return out


def effect_range(pub: published.Study, n: published.Number) -> tuple[float, float, bool, bool] | None:
    """For an odds ratio, risk ratio or risk difference (or a 95% limit of one) between two arms' response, when
    both arms' figures of its outcome and timepoint are published: (lowest, highest) crude value over every
    count pair those figures allow at the reconstruction's numbers of evaluated patients, whether some pair
    and whether every pair rounds to the published value. None otherwise (the counts are not published)."""
    from helpers.methods.proportions import difference, risk_ratio
    base = n.statistic.removesuffix("_low").removesuffix("_high")
    if n.measure != "response" or base not in ("odds_ratio", "risk_ratio", "risk_difference"):
        return None
    arms = n.group.split(" vs ")
    if len(arms) != 2 or not set(arms) <= set(pub.arms):
        return None
    options = _count_options(pub, n, arms)
    if options is None:
        return None
    suffix = n.statistic.removeprefix(base)
    values = []
    for (k1, n1), (k2, n2) in itertools.product(*options):
        if base == "risk_ratio":
            value = risk_ratio(k1, n1, k2, n2)["rr" + suffix]
        else:
            found = difference(k1, n1, k2, n2)
            value = found[("rd" if base == "risk_difference" else "or") + suffix]
            if base == "risk_difference" and measures.unit_name(n.unit or "percentage points") != "fraction":
                value *= 100
        values.append(value)
    agree = [n.agrees(v) for v in values]
    return min(values), max(values), any(agree), all(agree)


def _count_options(pub: published.Study, n: published.Number, arms: list[str]) -> list[list[tuple[int, int]]] | None:
    """For each arm, the (count, evaluated) pairs its published figures of n's outcome and timepoint allow at the
    reconstruction's number of evaluated patients; None when an arm's figure or size is not known."""
    by_cell = counts.percents_by_cell(pub, pub.targets())
    sizes = counts.consistent_denominators(pub)[1]
    options = []
    for arm in arms:
        numbers = by_cell.get((n.timepoint, arm), {}).get(n.outcome)
        if not numbers or (n.timepoint, arm) not in sizes:
            return None
        size = sizes[n.timepoint, arm]
        options.append([(k, size) for k in sorted(set.intersection(*(set(counts.allowed_counts(x, size))
                                                                      for x in numbers)))])
    return options


def arms_p_range(pub: published.Study, n: published.Number) -> tuple[float, float, bool, bool] | None:
    """For a p-value of the response over three or more arms (the book's Pearson chi-square on the arms x 2
    table) when every arm's figure of its outcome and timepoint is published: (lowest, highest) p over every
    count table those figures allow at the reconstruction's numbers of evaluated patients, whether some and
    whether every table gives a p that rounds to the published one. None otherwise."""
    import numpy as np
    from scipy import stats as sps
    arms = n.group.split(" vs ")
    if n.measure != "response" or n.statistic != "p_value" or len(arms) < 3 or arms != list(pub.arms):
        return None
    options = _count_options(pub, n, arms)
    if options is None or not all(options) or math.prod(len(o) for o in options) > 100_000:
        return None
    values = []
    for table in itertools.product(*options):
        observed = np.array([[k, size - k] for k, size in table])
        values.append(math.nan if (observed.sum(axis=0) == 0).any() else
                      float(sps.chi2_contingency(observed, correction=False)[1]))
    agree = [v == v and n.agrees(v) for v in values]
    known = [v for v in values if v == v]
    if not known:
        return None
    return min(known), max(known), any(agree), all(agree)
