"""Laboratory values for a planned response status, with interior slack.

A visit planned as CR, PR or NR gets a UPCR and a creatinine from a band that meets the
response criteria (helpers.response) with room to spare: never just inside a threshold,
and each patient's band edges are drawn (so even values at an edge do not pile up on one
number). eGFR is always CKD-EPI 2009 of the stored creatinine, age and sex, decided in
decimal arithmetic (helpers.renal.egfr_tenths).

Units are whole numbers on the stored grid: UPCR in 0.01 g/g, creatinine in 0.01 mg/dL,
eGFR in 0.1 mL/min/1.73 m².
"""
from __future__ import annotations

import math

import pandas as pd

from ..renal import egfr_tenths
from ..response import Criteria
from .draw import Draws, ln

UPCR_MIN, UPCR_MAX = 3, 2000          # 0.03 to 20 g/g
CREATININE_MIN, CREATININE_MAX = 30, 1500
BASELINE_CREATININE_MIN = 40          # 0.4 mg/dL
CR_UPCR = (0.75, 0.90)        # CR: UPCR below cr_upcr_max times this
PR_UPCR_LOW = (1.10, 1.20)    # PR: UPCR above cr_upcr_max times this ...
PR_KEEP = (0.80, 0.90)        # ... and at most (1 - reduction) x baseline times this ...
NEPHROTIC = 0.90              # ... and below pr_upcr_max times this
NR_KEEP = (1.15, 1.35)        # NR: UPCR at least (1 - reduction) x baseline times this ...
NR_RISE = 3.0                 # ... and at most this times the baseline


def _between(draws: Draws, bounds: tuple[float, float]) -> float:
    lo, hi = bounds
    return lo + (hi - lo) * draws.uniform()


def upcr_band(draws: Draws, status: str, baseline: int, criteria: Criteria) -> tuple[int, int]:
    """UPCR band (0.01 g/g) of a visit planned as `status`, for a baseline UPCR of `baseline` units."""
    cut_cr = 100 * criteria.cr_upcr_max
    keep = 1 - criteria.pr_upcr_reduction_min
    if status == "CR":
        lo, hi = UPCR_MIN, math.floor(cut_cr * _between(draws, CR_UPCR))
    elif status == "PR":
        lo = math.ceil(cut_cr * _between(draws, PR_UPCR_LOW))
        hi = math.floor(min(keep * baseline * _between(draws, PR_KEEP), 100 * criteria.pr_upcr_max * NEPHROTIC))
    elif status == "NR":
        lo = math.ceil(max(keep * baseline * _between(draws, NR_KEEP), cut_cr * PR_UPCR_LOW[1]))
        hi = min(max(lo + 60, math.floor(NR_RISE * baseline)), UPCR_MAX)
    else:
        raise ValueError(f"status must be CR, PR or NR, not {status!r}")
    if lo > hi:
        raise ValueError(f"no UPCR fits {status} with a baseline of {baseline / 100:.2f} g/g")
    return lo, hi


def visit_upcr_band(draws: Draws, status: str, criteria: Criteria) -> tuple[int, int]:
    """UPCR band (0.01 g/g) of a visit planned as `status` before the baseline is known; the
    baseline then comes from `baseline_upcr_band`, which keeps the pair consistent."""
    cut_cr = 100 * criteria.cr_upcr_max
    if status == "CR":
        return UPCR_MIN, math.floor(cut_cr * _between(draws, CR_UPCR))
    if status == "PR":
        return math.ceil(cut_cr * _between(draws, PR_UPCR_LOW)), math.floor(100 * criteria.pr_upcr_max * NEPHROTIC)
    if status == "NR":
        return math.ceil(cut_cr * PR_UPCR_LOW[1]), UPCR_MAX
    raise ValueError(f"status must be CR, PR or NR, not {status!r}")


def baseline_upcr_band(draws: Draws, status: str, visit: int, criteria: Criteria,
                       lo: int, hi: int) -> tuple[int, int]:
    """Baseline UPCR band (0.01 g/g, within [lo, hi]) for a later visit of `visit` units planned as
    `status`: a PR has at least halved it (with slack), an NR has not (with slack) and stays within
    NR_RISE times it."""
    keep = 1 - criteria.pr_upcr_reduction_min
    if status == "PR":
        lo = max(lo, math.ceil(visit / (keep * _between(draws, PR_KEEP))))
    elif status == "NR":
        lo = max(lo, math.ceil(visit / NR_RISE))
        hi = min(hi, math.floor(visit / (keep * _between(draws, NR_KEEP))))
    elif status != "CR":
        raise ValueError(f"status must be CR, PR or NR, not {status!r}")
    if lo > hi:
        raise ValueError(f"no baseline UPCR fits {status} with a later UPCR of {visit / 100:.2f} g/g")
    return lo, hi


def creatinine_band(draws: Draws, status: str, baseline: int, sex: str, criteria: Criteria) -> tuple[int, int]:
    """Creatinine band (0.01 mg/dL) of a visit planned as `status`, for a baseline of `baseline` units:
    CR keeps creatinine normal (or below the allowed rise), PR keeps the GFR near its baseline."""
    uln = 100 * (criteria.creatinine_uln_male if sex == "M" else criteria.creatinine_uln_female)
    if status == "CR":
        if baseline <= uln:
            lo, hi = math.ceil(0.84 * baseline), math.floor(baseline * (1 + criteria.cr_creatinine_rise_max)
                                                           * _between(draws, (0.88, 0.94)))
        else:
            lo, hi = math.ceil(0.65 * uln), math.floor(uln * _between(draws, (0.84, 0.95)))
    elif status == "PR":
        lo, hi = math.ceil(0.90 * baseline), math.floor(baseline * _between(draws, (1.0, 1.05)))
    elif status == "NR":
        lo, hi = math.ceil(0.95 * baseline), math.floor(baseline * _between(draws, (2.0, 3.0)))
    else:
        raise ValueError(f"status must be CR, PR or NR, not {status!r}")
    return max(lo, CREATININE_MIN), min(max(hi, lo), CREATININE_MAX)


def creatinine_for_egfr(egfr: int, age: int, sex: str) -> int:
    """The creatinine (0.01 mg/dL) whose exact eGFR is nearest `egfr` (0.1 units); the lower on a tie."""
    lo, hi = CREATININE_MIN, CREATININE_MAX   # eGFR falls as creatinine rises
    while lo < hi:
        mid = (lo + hi) // 2
        if egfr_tenths(mid, age, sex) > egfr:
            lo = mid + 1
        else:
            hi = mid
    candidates = [c for c in (lo - 1, lo) if CREATININE_MIN <= c <= CREATININE_MAX]
    return min(candidates, key=lambda c: (abs(egfr_tenths(c, age, sex) - egfr), c))


def baseline_creatinine(draws: Draws, egfr: int, age: int, sex: str, mean: float, sd: float, lo: int) -> int:
    """The creatinine (0.01 mg/dL, at least `lo`) whose exact eGFR is nearest `egfr` (0.1 units); an
    eGFR this patient cannot have with such a creatinine is drawn again from normal(mean, sd) below
    the highest one possible (never set to that highest one)."""
    highest = egfr_tenths(lo, age, sex)
    while egfr > highest:
        egfr = draws.normal_units(mean, sd, 0, highest, 0.1)
    return max(creatinine_for_egfr(egfr, age, sex), lo)


def egfr_ladder(age: int, sex: str, lo: int, hi: int) -> tuple[list[int], list[int]]:
    """The eGFR values (0.1 units, ascending) a patient can have for creatinine in [lo, hi]
    (0.01 mg/dL), and the creatinine of each."""
    creatinine = list(range(hi, lo - 1, -1))
    return [egfr_tenths(c, age, sex) for c in creatinine], creatinine


def visit_upcr(draws: Draws, status: str, lo: int, hi: int, baseline: int) -> int:
    """A UPCR inside its band, from a distribution typical of the status."""
    if status == "CR":
        return draws.lognormal_units(ln(0.15), 0.55, lo, hi, 0.01)
    if status == "PR":
        return draws.uniform_units(lo, hi)
    return draws.lognormal_units(ln(baseline / 100), 0.3, lo, hi, 0.01)


def visit_creatinine(draws: Draws, status: str, lo: int, hi: int, baseline: int) -> int:
    if status == "NR":
        return draws.lognormal_units(ln(baseline * 1.1 / 100), 0.15, lo, hi, 0.01)
    return draws.uniform_units(lo, hi)


def lab_frame(rows: list[dict], age_of: dict, sex_of: dict) -> pd.DataFrame:
    """labs.csv from rows holding UPCR and creatinine in units: values in g/g and mg/dL, eGFR from
    the creatinine (CKD-EPI 2009, exactly), sorted by patient and day."""
    frame = pd.DataFrame(rows)
    frame["egfr"] = [egfr_tenths(c, age_of[p], sex_of[p]) / 10
                     for p, c in zip(frame["patient_id"], frame["creatinine"])]
    frame = frame.assign(upcr_g_g=frame["upcr"] / 100, creatinine_mg_dl=frame["creatinine"] / 100)
    return frame.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)


def other_labs(draws: Draws, responding: bool) -> dict:
    """Albumin, complements and anti-dsDNA, typical of a responding or an active patient
    (normal or lognormal distributions, truncated by drawing again)."""
    albumin, c3, c4, dsdna = ((4.0, 0.35), (100, 18), (2.95, 0.3), (2.5, 0.8)) if responding else \
        ((3.1, 0.45), (65, 18), (2.4, 0.45), (4.0, 0.9))
    return {"albumin_g_dl": draws.normal_units(*albumin, 15, 55, 0.1) / 10,
            "c3_mg_dl": draws.normal_units(*c3, 20, 200, 1),
            "c4_mg_dl": draws.lognormal_units(*c4, 1, 80, 1),
            "anti_dsdna_iu_ml": draws.lognormal_units(*dsdna, 10, 99990, 0.1) / 10}
