"""Study B: one arm, three subgroups (two reported by the abstract, one only by the full paper),
response, UPCR and eGFR at baseline and 24 weeks, every published mean and SD met exactly.

Each group's values start from plausible draws (the best of several) and are settled by the
integer search of helpers.reconstruct.moments: the subgroups the abstract reports are fitted to
their own means and SDs, the flare group (which it does not report) to the overall ones with
the others held fixed. A draw that leaves no solution is drawn again (a fixed, seeded sequence).
"""
from __future__ import annotations

import bisect
import math

import pandas as pd

from .. import published
from ..consistency import percent_counts
from ..renal import egfr_tenths
from ..response import WINDOW, Criteria
from . import labs
from .draw import Draws, lognormal_parameters
from .moments import SolveError, Target, best_start, solve
from .study_a import JITTER

CANDIDATES = 40     # plausible draws tried as the start of each fit
ATTEMPTS = 60       # fresh draws before the reconstruction gives up
UPCR_BASELINE_MIN, UPCR_BASELINE_MAX = 60, 1500   # not in CR at the switch; 0.6 to 15 g/g
PR_BASELINE_MIN = 150     # a partial response needs room to halve the UPCR and stay above CR
STATUS_RANK = {"NR": 0, "PR": 1, "": 1.5, "CR": 2}
EGFR_MIN, EGFR_MAX = 150, 1600                     # 15 to 160 mL/min/1.73 m² (tenths)
PARTIAL_EGFR_MIN = 660    # prior partial responders: normal or near-normal GFR, with slack above 60
BASELINE_CREATININE = (35, 400)


def _target(pub: published.Study, measure: str, timepoint: str, group: str, n: int, unit: str) -> Target:
    numbers = {(x.measure, x.timepoint, x.group, x.statistic): x for x in pub.targets()}
    mean, sd = numbers[measure, timepoint, group, "mean"], numbers[measure, timepoint, group, "sd"]
    return Target(mean.value, sd.value, mean.decimals, unit, n, label=f"{measure} {group} at {timepoint}")


def _fit(draws: Draws, ladders: list[list[int]], draw_position, target: Target,
         fixed: list[int] = (), first: list[int] | None = None) -> list[int]:
    """Positions (one per ladder) whose values reproduce `target` together with `fixed`, from the best
    of CANDIDATES plausible draws (`draw_position(i)` proposes a position on ladder i) and the
    positions `first`, if given."""
    fixed_sum, fixed_squares = sum(fixed), sum(v * v for v in fixed)
    starts = ([first] if first else []) + [[draw_position(i) for i in range(len(ladders))]
                                          for _ in range(CANDIDATES)]
    values = [[ladders[i][p] for i, p in enumerate(start)] for start in starts]
    start = starts[best_start(values, target, fixed_sum, fixed_squares)]
    return solve(ladders, start, target, draws, fixed_sum, fixed_squares)


def _implied(target: Target, fixed: list[int], n_free: int) -> tuple[float, float]:
    """Mean and SD (in units) the free values need for the published overall ones to hold."""
    unit = float(target.unit)
    total, sd = target.mean / unit * target.n, target.sd / unit
    squares = sd * sd * (target.n - 1) + total * total / target.n
    rest_total, rest_squares = total - sum(fixed), squares - sum(v * v for v in fixed)
    mean = rest_total / n_free
    variance = max((rest_squares - n_free * mean * mean) / max(n_free - 1, 1), 0.09 * mean * mean)
    return mean, math.sqrt(variance)


def _lognormal_position(draws: Draws, ladder: list[int], mean: float, sd: float) -> int:
    """A position on an integer ladder (consecutive units) from a lognormal with this mean and SD."""
    mu, sigma = lognormal_parameters(max(mean, 1.0), max(sd, 1.0))
    return draws.lognormal_units(mu, sigma, ladder[0], ladder[-1], 1) - ladder[0]


def _nearest(ladder: list[int], value: int) -> int:
    """The position on an ascending ladder whose value is nearest `value` (the lower on a tie)."""
    i = bisect.bisect_left(ladder, value)
    return min((p for p in (i - 1, i) if 0 <= p < len(ladder)), key=lambda p: (abs(ladder[p] - value), p))


def _fit_groups(draws: Draws, pub: published.Study, timepoint: str, reported: list[str], unreported: list[str],
                members: dict[str, list[int]], bands: dict[int, tuple[int, int]], n_all: int,
                draft: dict[int, int] | None = None) -> dict[int, int]:
    """UPCR (units) per patient at `timepoint`: each reported subgroup fitted to its published mean and
    SD, then the unreported one to the overall mean and SD with the others held fixed. `draft` values,
    brought into their bands, are one of the starts tried."""
    out, fixed = {}, []
    for g in reported + unreported:
        idx = members[g]
        ladders = [list(range(bands[i][0], bands[i][1] + 1)) for i in idx]
        if g in reported:
            target = _target(pub, "upcr", timepoint, g, len(idx), "0.01")
            mean, sd = target.mean * 100, target.sd * 100
        else:
            target = _target(pub, "upcr", timepoint, "all", n_all, "0.01")
            mean, sd = _implied(target, fixed, len(idx))
        first = [_nearest(ladder, draft[i]) for ladder, i in zip(ladders, idx)] if draft else None
        positions = _fit(draws, ladders, lambda k: _lognormal_position(draws, ladders[k], mean, sd), target,
                         fixed if g not in reported else (), first)
        fitted = [ladder[p] for ladder, p in zip(ladders, positions)]
        out.update(zip(idx, fitted))
        fixed += fitted
    return out


def build(pub: published.Study, seed: int) -> dict[str, pd.DataFrame]:
    criteria = Criteria()
    values = {a.id: a.value for a in pub.assumptions}
    numbers = {n.id: n for n in pub.targets()}
    sizes, responders = values["subgroup_sizes"], values["responders_by_subgroup"]
    tp = next(iter(pub.timepoints))
    tp_day = pub.timepoints[tp]
    groups = list(sizes["baseline"])
    reported = [g for g in groups if any(x.group == g and x.statistic == "mean" for x in pub.targets())]
    unreported = [g for g in groups if g not in reported]
    if len(unreported) > 1:
        raise ValueError(f"{pub.study}: at most one subgroup may lack published means ({unreported})")

    # patients in group-major order; each group's evaluated patients first
    group, status = [], []
    for g in groups:
        planned = [s for s in ("CR", "PR", "NR") for _ in range(responders[g][s])]
        if len(planned) != sizes[tp][g]:
            raise ValueError(f"{pub.study}.yaml: responders_by_subgroup for {g} add up to {len(planned)}, "
                             f"not {sizes[tp][g]}")
        group += [g] * sizes["baseline"][g]
        status += planned + [""] * (sizes["baseline"][g] - len(planned))
    n = len(group)

    for attempt in range(ATTEMPTS):
        draws = Draws(seed + attempt)
        try:
            return _build(pub, draws, criteria, numbers, values, groups, reported, unreported,
                          group, status, n, tp, tp_day)
        except SolveError:
            continue
    raise SolveError(f"{pub.study}: no reconstruction found in {ATTEMPTS} attempts")


def _build(pub, draws, criteria, numbers, values, groups, reported, unreported, group, status, n, tp, tp_day):
    members = {g: [i for i in range(n) if group[i] == g] for g in groups}
    evaluated = [i for i in range(n) if status[i]]

    female = percent_counts(numbers["female_pct"].value, numbers["female_pct"].decimals, n)[0]
    sex = [(["F"] * female + ["M"] * (n - female))[i] for i in draws.permutation(n)]
    age_target = _target(pub, "age", "baseline", "all", n, "1")
    ages = [16 + p for p in _fit(draws, [list(range(16, 61))] * n,
                                 lambda i: draws.normal_units(age_target.mean, age_target.sd, 16, 60, 1) - 16,
                                 age_target)]

    # --- UPCR (0.01 g/g). Plausible baselines are drawn first; the 24-week values are fitted within
    # the bands those baselines allow for each planned response, then the baselines are fitted within
    # the bands the 24-week values allow (so every pair stays the planned response). In each fit the
    # reported subgroups come first, then the unreported one against the overall mean and SD.
    draft = {}
    for g in groups:  # the higher baselines mostly go to the non-responders, the lower to CR
        target = _target(pub, "upcr", "baseline", g if g in reported else "all", n, "0.01")
        mean, sd = target.mean * 100, target.sd * 100
        ladder = list(range(PR_BASELINE_MIN, UPCR_BASELINE_MAX + 1))
        drawn = sorted((_lognormal_position(draws, ladder, mean, sd) + ladder[0] for _ in members[g]), reverse=True)
        order = sorted(members[g], key=lambda i: (STATUS_RANK[status[i]] + 1.2 * draws.uniform(), i))
        draft.update(zip(order, drawn))
    week_upcr = _fit_groups(
        draws, pub, tp, reported, unreported, {g: [i for i in members[g] if status[i]] for g in groups},
        {i: labs.upcr_band(draws, status[i], draft[i], criteria) for i in evaluated}, len(evaluated))
    bands = {i: labs.baseline_upcr_band(draws, status[i], week_upcr[i], criteria, UPCR_BASELINE_MIN,
                                        UPCR_BASELINE_MAX) if status[i] else (UPCR_BASELINE_MIN, UPCR_BASELINE_MAX)
             for i in range(n)}
    base_upcr = _fit_groups(draws, pub, "baseline", reported, unreported, members, bands, n, draft)

    # --- eGFR (0.1 mL/min/1.73 m²) through creatinine (0.01 mg/dL), CKD-EPI 2009 exactly ----------
    ladders, creatinine_of = [], []
    for i in range(n):
        egfr, creat = labs.egfr_ladder(ages[i], sex[i], *BASELINE_CREATININE)
        low = PARTIAL_EGFR_MIN if group[i] == "partial" else EGFR_MIN
        keep = [k for k, e in enumerate(egfr) if low <= e <= EGFR_MAX]
        ladders.append([egfr[k] for k in keep])
        creatinine_of.append([creat[k] for k in keep])
    target = _target(pub, "egfr", "baseline", "all", n, "0.1")
    positions = _fit(draws, ladders, lambda i: _nearest(ladders[i], draws.normal_units(
        target.mean, target.sd, ladders[i][0], ladders[i][-1], 0.1)), target)
    base_creat = [creatinine_of[i][p] for i, p in enumerate(positions)]

    ladders, creatinine_of = [], []
    for i in evaluated:
        lo, hi = labs.creatinine_band(draws, status[i], base_creat[i], sex[i], criteria)
        egfr, creat = labs.egfr_ladder(ages[i], sex[i], lo, hi)
        keep = [k for k, e in enumerate(egfr) if e >= EGFR_MIN] or [len(egfr) - 1]
        ladders.append([egfr[k] for k in keep])
        creatinine_of.append([creat[k] for k in keep])
    target = _target(pub, "egfr", tp, "all", len(evaluated), "0.1")
    baseline_egfr = [egfr_tenths(base_creat[i], ages[i], sex[i]) for i in evaluated]
    positions = _fit(draws, ladders, lambda k: _nearest(ladders[k], baseline_egfr[k] * (
        0.55 + 0.6 * draws.uniform() if status[evaluated[k]] == "NR" else 0.97 + 0.06 * draws.uniform())), target)
    week_creat = {i: creatinine_of[k][p] for k, (i, p) in enumerate(zip(evaluated, positions))}

    # --- rows --------------------------------------------------------------------------------------
    ids = [f"B{k + 1:03d}" for k in draws.permutation(n)]   # ids in no order of group or response
    isn_labels = [c for c, k in values["isn_class"].items() for _ in range(k)]
    induction_labels = [c for c, k in values["prior_induction"].items() for _ in range(k)]
    isn = [isn_labels[k] for k in draws.permutation(n)]
    induction = [induction_labels[k] for k in draws.permutation(n)]
    patients = pd.DataFrame({
        "patient_id": ids, "study": pub.study, "arm": pub.arms[0], "sex": sex, "age": ages,
        "isn_class": isn, "induction": induction, "maintenance": "mycophenolate+tacrolimus",
        "prior_response": group,
        "last_followup_day": [tp_day + WINDOW + draws.integer(1, 360) if status[i] else
                              draws.integer(WINDOW + 1, tp_day - WINDOW - 1) for i in range(n)],
    })
    rows = []
    for i in range(n):
        rows.append({"patient_id": ids[i], "day": 0, "upcr": base_upcr[i], "creatinine": base_creat[i],
                     **labs.other_labs(draws, False)})
        if status[i]:
            rows.append({"patient_id": ids[i], "day": tp_day + draws.integer(-JITTER, JITTER),
                         "upcr": week_upcr[i], "creatinine": week_creat[i],
                         **labs.other_labs(draws, status[i] != "NR")})
    lab_frame = labs.lab_frame(rows, dict(zip(ids, ages)), dict(zip(ids, sex)))
    events = pd.DataFrame(columns=["patient_id", "day", "event", "category"])
    return {"patients.csv": patients.sort_values("patient_id").reset_index(drop=True), "labs.csv": lab_frame,
            "events.csv": events}
