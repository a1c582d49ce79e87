"""A synthetic registry-sized cohort, for performance work.

`synthetic_registry(n_patients)` builds a cohort in the project's format
(helpers.cohort.schema) with fully vectorized numpy: no loop over patients or visits.
Patients are drawn independently; each has a baseline visit on day 0 and
visits near study A's timepoints (6 months to 5 years) and in between, cut at
the patient's last follow-up day. It is not a model of any real cohort.

Memory: strings are categoricals (except patients.patient_id, which stays
plain text so that patients.csv keeps the loader's types), the lab columns the
response criteria read (UPCR, creatinine, eGFR) are float64 holding values
rounded to the decimals a CSV would carry, so a classification on this frame
equals the one on the same cohort written to CSV and read back; the other labs
and age are float32; days are int32. `to_schema_dtypes` converts a cohort to the
loader's types (object text, Int64 days, float64) for schema validation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.cohort import renal, schema
from helpers.cohort.data import Cohort

STUDY = "registry"
TIMEPOINTS = {"6m": 182, "1y": 365, "2y": 730, "3y": 1095, "5y": 1826}
_ARMS = ("tacrolimus", "no_tacrolimus")
_ISN = ("III", "IV", "V", "III+V", "IV+V")
_ISN_P = (0.17, 0.51, 0.17, 0.06, 0.09)
_INDUCTION = ("cyclophosphamide", "mycophenolate", "other")
_MAINTENANCE = {  # by arm
    "tacrolimus": (("tacrolimus+mycophenolate", "tacrolimus", "tacrolimus+azathioprine"), (0.67, 0.21, 0.12)),
    "no_tacrolimus": (("mycophenolate", "azathioprine", "mycophenolate+azathioprine"), (0.67, 0.24, 0.09)),
}
_JITTER = 40  # days either side of a visit's anchor day


def visit_anchors(labs_per_patient: int) -> tuple[np.ndarray, np.ndarray]:
    """Anchor day and jitter (+/- days) of each visit slot.

    Day 0 (baseline, no jitter), then study A's timepoints, then extra visits
    spread over the follow-up. Slots never overlap, so (patient, day) is unique.
    """
    anchors = [0, *TIMEPOINTS.values()][:max(labs_per_patient, 1)]
    extra = labs_per_patient - len(anchors)
    if extra > 0:
        anchors += list(np.linspace(60, 2200, extra).round().astype(int))
    anchors = np.unique(np.asarray(anchors, dtype=np.int64))
    gaps = np.diff(anchors)
    room = np.minimum(np.r_[gaps, 10**6], np.r_[10**6, gaps])  # distance to the nearest other anchor
    jitter = np.minimum(_JITTER, (room - 1) // 2)
    jitter[anchors == 0] = 0
    return anchors, np.maximum(jitter, 0)


def _ids(n: int) -> np.ndarray:
    """'R0000000', 'R0000001', ... (zero-padded, so text order is numeric order)."""
    width = max(7, len(str(max(n - 1, 0))))
    digits = np.strings.zfill(np.arange(n).astype(np.str_), width)
    return np.strings.add("R", digits).astype(object)


def _categorical(codes: np.ndarray, categories) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(categories))


def synthetic_registry(n_patients: int, labs_per_patient: int = 10, seed: int = 0) -> Cohort:
    """A cohort of `n_patients` with about `labs_per_patient` lab rows each (deterministic for `seed`)."""
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    if labs_per_patient < 1:
        raise ValueError("labs_per_patient must be at least 1")
    rng = np.random.default_rng(seed)
    n = int(n_patients)

    # --- patients ----------------------------------------------------------
    ids = _ids(n)
    arm = (rng.random(n) < 0.5).astype(np.int8)  # 0 tacrolimus, 1 no_tacrolimus
    male = rng.random(n) < 0.10
    age = np.clip(rng.normal(34, 11, n), 16, 75).round(1).astype(np.float32)
    isn = rng.choice(len(_ISN), size=n, p=_ISN_P)
    isn[rng.random(n) < 0.02] = -1  # biopsy class not recorded
    induction = rng.choice(len(_INDUCTION), size=n, p=(0.5, 0.44, 0.06))
    maintenance_levels = [m for a in _ARMS for m in _MAINTENANCE[a][0]]
    maintenance = np.empty(n, dtype=np.int8)
    for a, name in enumerate(_ARMS):  # two arms, not a loop over patients
        levels, p = _MAINTENANCE[name]
        where = arm == a
        maintenance[where] = rng.choice(len(levels), size=int(where.sum()), p=p) + 3 * a
    # most patients are followed beyond 5 years, some leave earlier (censoring)
    followup = np.where(rng.random(n) < 0.8, rng.integers(1900, 3650, n), rng.integers(365, 1900, n)).astype(np.int32)
    patients = pd.DataFrame({
        "patient_id": ids,
        "study": pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[STUDY]),
        "arm": _categorical(arm, _ARMS),
        "sex": _categorical(male.astype(np.int8), schema.SEXES),
        "age": age,
        "isn_class": _categorical(isn, _ISN),
        "induction": _categorical(induction, _INDUCTION),
        "maintenance": _categorical(maintenance, maintenance_levels),
        "prior_response": _categorical(np.full(n, -1), ["partial", "none", "flare"]),
        "last_followup_day": followup,
    }, copy=False)

    # --- labs: one row per (patient, visit slot), kept if observed ----------
    anchors, jitter = visit_anchors(labs_per_patient)
    slots = len(anchors)
    day = (anchors[None, :] + rng.integers(-jitter, jitter + 1, size=(n, slots))).astype(np.int32)
    keep = (day <= followup[:, None]) & (rng.random((n, slots)) >= 0.03)  # 3% of visits missed
    keep[:, 0] = True  # every patient has a baseline visit on day 0
    patient = np.broadcast_to(np.arange(n, dtype=np.int32)[:, None], (n, slots))[keep]
    day = day[keep]
    years = day.astype(np.float64) / 365.25
    rows = len(day)

    # UPCR falls towards a patient's own floor at a patient-specific rate; tacrolimus a little faster
    base_upcr = np.exp(rng.normal(np.log(2.3), 0.45, n))
    floor = np.exp(rng.normal(np.log(0.35), 0.8, n))
    rate = rng.gamma(2.0, 1.0, n) * np.where(arm == 0, 1.25, 1.0)
    upcr = floor[patient] + (base_upcr[patient] - floor[patient]) * np.exp(-rate[patient] * years)
    upcr *= np.exp(rng.normal(0, 0.25, rows))
    upcr = np.clip(upcr, 0.02, 45).round(2)
    upcr[rng.random(rows) < 0.03] = np.nan  # UPCR not measured at the visit
    upcr[day == 0] = base_upcr[patient[day == 0]].clip(0.05, 45).round(2)

    base_creat = np.clip(rng.normal(0.84, 0.2, n), 0.4, 3.0)
    drift = rng.normal(0, 0.08, n)  # change per year, as a fraction
    creat = base_creat[patient] * (1 + drift[patient] * years) * np.exp(rng.normal(0, 0.06, rows))
    creat = np.clip(creat, 0.3, 15).round(2)
    egfr = renal.ckd_epi_2009_female(creat, age.astype(np.float64)[patient], ~male[patient])
    egfr = np.clip(egfr, 5, 180).round(1)

    recovery = 1 - np.exp(-rate[patient] * years)
    albumin = np.clip(rng.normal(3.1, 0.4, rows) + 0.8 * recovery, 1.0, 5.5).round(1)
    c3 = np.clip(rng.normal(66, 18, rows) + 25 * recovery, 10, 250).round(0)
    c4 = np.clip(rng.normal(12.4, 4.3, rows) + 6 * recovery, 1, 80).round(0)
    dsdna = np.clip(np.exp(rng.normal(np.log(52), 0.8, rows)) * (1 - 0.6 * recovery), 1, 5000).round(1)

    labs = pd.DataFrame({
        "patient_id": pd.Categorical.from_codes(patient, dtype=pd.CategoricalDtype(pd.Index(ids))),
        "day": day,
        "upcr_g_g": upcr,
        "creatinine_mg_dl": creat,
        "egfr": egfr,
        "albumin_g_dl": albumin.astype(np.float32),
        "c3_mg_dl": c3.astype(np.float32),
        "c4_mg_dl": c4.astype(np.float32),
        "anti_dsdna_iu_ml": dsdna.astype(np.float32),
    }, copy=False)  # one block per column: no 2-D copy of the whole table
    events = pd.DataFrame({
        "patient_id": pd.Series(dtype=object), "day": pd.Series(dtype="Int64"),
        "event": pd.Series(dtype=object), "category": pd.Series(dtype=object),
    })
    return Cohort(patients, labs, events)


def to_schema_dtypes(cohort: Cohort) -> Cohort:
    """The same cohort with the loader's column types (object text with None, Int64, float64)."""
    frames = []
    for name, frame in (("patients.csv", cohort.patients), ("labs.csv", cohort.labs), ("events.csv", cohort.events)):
        out = {}
        for f in schema.FILES[name]:
            if f.may_be_absent and f.name not in frame:   # a column the format lets a table leave out
                continue
            column = frame[f.name]
            if f.kind == "str":
                values = column.astype(object).to_numpy()
                values[pd.isna(values)] = None
                out[f.name] = pd.Series(values, dtype=object)
            elif f.kind == "int":
                out[f.name] = column.astype("Int64").reset_index(drop=True)
            elif column.dtype == np.float32:  # via text, so 3.3f becomes 3.3 and not 3.2999999523
                out[f.name] = column.astype(str).astype(np.float64).reset_index(drop=True)
            else:
                out[f.name] = column.astype(np.float64).reset_index(drop=True)
        frames.append(pd.DataFrame(out))
    return Cohort(*frames)


def write(cohort: Cohort, folder) -> None:
    """Write the cohort as patients.csv, labs.csv, events.csv (the loader's format)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plain = to_schema_dtypes(cohort)
    for name, frame in (("patients.csv", plain.patients), ("labs.csv", plain.labs), ("events.csv", plain.events)):
        frame.to_csv(folder / name, index=False, lineterminator="\n")
