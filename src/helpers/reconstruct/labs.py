"""Creatinine and eGFR on the stored grid, and the labs table of a reconstructed cohort.

eGFR is the study's equation (CKD-EPI 2009 unless its study file says 2021: `reconstruction: egfr_equation`)
of the stored creatinine, age and sex, decided in decimal arithmetic (helpers.cohort.renal.egfr_tenths). Units
are whole numbers on the stored grid: creatinine in 0.01 mg/dL, eGFR in 0.1 mL/min/1.73 m². The values themselves
come from the patient model (helpers.reconstruct.course).
"""
from __future__ import annotations

import pandas as pd

from helpers.cohort.renal import egfr_tenths
from helpers.reconstruct.course import CREATININE_MAX, CREATININE_MIN, age_at
from helpers.reconstruct.draw import Draws


def creatinine_for_egfr(egfr: int, age: int, sex: str, equation: str = "ckd_epi_2009") -> int:
    """The creatinine (0.01 mg/dL) whose exact eGFR is nearest `egfr` (0.1 units); the lower on a tie."""
    lo, hi = CREATININE_MIN, CREATININE_MAX   # eGFR falls as creatinine rises
    while lo < hi:
        mid = (lo + hi) // 2
        if egfr_tenths(mid, age, sex, equation) > egfr:
            lo = mid + 1
        else:
            hi = mid
    candidates = [c for c in (lo - 1, lo) if CREATININE_MIN <= c <= CREATININE_MAX]
    return min(candidates, key=lambda c: (abs(egfr_tenths(c, age, sex, equation) - egfr), c))


def baseline_creatinine(draws: Draws, egfr: int, age: int, sex: str, mean: float, sd: float, lo: int,
                        equation: str = "ckd_epi_2009") -> int:
    """The creatinine (0.01 mg/dL, at least `lo`) whose exact eGFR is nearest `egfr` (0.1 units); an
    eGFR this patient cannot have with such a creatinine is drawn again from normal(mean, sd) below
    the highest one possible (never set to that highest one)."""
    highest = egfr_tenths(lo, age, sex, equation)
    while egfr > highest:
        egfr = draws.normal_units(mean, sd, 0, highest, 0.1)
    return max(creatinine_for_egfr(egfr, age, sex, equation), lo)


def egfr_ladder(age: int, sex: str, lo: int, hi: int, equation: str = "ckd_epi_2009") -> tuple[list[int], list[int]]:
    """The eGFR values (0.1 units, ascending) a patient can have for creatinine in [lo, hi]
    (0.01 mg/dL), and the creatinine of each."""
    creatinine = list(range(hi, lo - 1, -1))
    return [egfr_tenths(c, age, sex, equation) for c in creatinine], creatinine


def lab_frame(rows: list[dict], age_of: dict, sex_of: dict, equation: str = "ckd_epi_2009") -> pd.DataFrame:
    """labs.csv from rows holding UPCR and creatinine in units: values in g/g and mg/dL, eGFR from
    the creatinine at the age on the day of the visit (CKD-EPI 2009, exactly; `age_of`: patient ->
    (age on day 0, days since the last birthday on day 0)), sorted by patient and day."""
    frame = pd.DataFrame(rows)
    frame["egfr"] = [egfr_tenths(c, age_at(*age_of[p], day), sex_of[p], equation) / 10
                     for p, c, day in zip(frame["patient_id"], frame["creatinine"], frame["day"])]
    frame = frame.assign(upcr_g_g=frame["upcr"] / 100, creatinine_mg_dl=frame["creatinine"] / 100)
    return frame.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
