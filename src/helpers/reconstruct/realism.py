"""Do the reconstructed patients behave like patients? Measures of a cohort's rows, for tests and notes.

Each function reads the three tables of a cohort (patients, labs, events) and returns plain
numbers, so a test can hold them to what lupus nephritis cohorts show:

- `baseline_correlations`: Spearman correlations of the baseline labs (albumin falls as
  proteinuria rises; C3 moves with C4; complement against anti-dsDNA), and how many nephrotic
  patients (UPCR >= 3.5 g/g) have a normal albumin;
- `esrd_courses`: for every patient with ESRD, the eGFR path before it (a decline through the
  CKD stages, not a fall from normal within weeks) and the response at the last scheduled visit;
- `reversals`: patients whose UPCR reverses a two-fold move twice or more;
- `lab_flares`: proteinuric flares seen in the labs (UPCR < 0.5, then >= 1.0 g/g at a later
  visit), and how many of them have no renal-flare event between the two labs;
- `threshold_density`: how many values fall just inside and just outside a threshold, beside
  the neighbouring bands of the same width (a gap or a pile shows as a band far from its
  neighbours).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

NEPHROTIC = 3.5   # g/g; albumin below 3.5 g/dL is expected with it


def baseline_correlations(patients: pd.DataFrame, labs: pd.DataFrame) -> dict:
    """Spearman rho of baseline (day 0) pairs, and nephrotic patients with albumin >= 3.5 g/dL."""
    base = labs[labs["day"] == 0].drop_duplicates("patient_id")
    out = {}
    for a, b in (("albumin_g_dl", "upcr_g_g"), ("c3_mg_dl", "c4_mg_dl"), ("c3_mg_dl", "anti_dsdna_iu_ml"),
                 ("egfr", "creatinine_mg_dl")):
        pair = base[[a, b]].dropna()
        out[f"{a} ~ {b}"] = float(spearmanr(pair[a], pair[b]).statistic) if len(pair) > 2 else float("nan")
    nephrotic = base[base["upcr_g_g"] >= NEPHROTIC]
    out["nephrotic"] = int(len(nephrotic))
    out["nephrotic with albumin >= 3.5"] = int((nephrotic["albumin_g_dl"] >= 3.5).sum())
    return out


def esrd_courses(labs: pd.DataFrame, events: pd.DataFrame, visits: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per ESRD: baseline and highest eGFR, the last eGFR >= 60 and how many days before the
    ESRD it was, the eGFR values of the last year, and (given the classified visits) the response
    at the last scheduled visit."""
    rows = []
    for _, e in events[events["event"] == "esrd"].iterrows():
        own = labs[(labs["patient_id"] == e["patient_id"]) & (labs["day"] <= e["day"])].sort_values("day")
        normal = own[own["egfr"] >= 60]
        last_normal = int(normal["day"].max()) if len(normal) else None
        row = {"patient_id": e["patient_id"], "esrd_day": int(e["day"]), "baseline_egfr": float(own["egfr"].iloc[0]),
               "last_egfr": float(own["egfr"].iloc[-1]),
               "days_from_egfr_60": None if last_normal is None else int(e["day"]) - last_normal,
               "last_year": [float(v) for v in own.loc[own["day"] >= e["day"] - 365, "egfr"]]}
        if visits is not None:
            seen = visits[(visits["patient_id"] == e["patient_id"]) & visits["response"].notna()]
            row["last_response"] = str(seen.sort_values("visit_day")["response"].iloc[-1]) if len(seen) else ""
        rows.append(row)
    return pd.DataFrame(rows)


def reversals(labs: pd.DataFrame, fold: float = 2.0) -> pd.Series:
    """Per patient, how many times the UPCR reverses a `fold`-fold move (up then down, or down then
    up, each move at least `fold`-fold between consecutive labs)."""
    log_fold = np.log(fold)

    def count(values: pd.Series) -> int:
        steps = np.diff(np.log(np.maximum(values.to_numpy(float), 0.01)))
        big = np.sign(steps[np.abs(steps) >= log_fold])
        return int((big[1:] != big[:-1]).sum()) if len(big) > 1 else 0

    ordered = labs.dropna(subset=["upcr_g_g"]).sort_values(["patient_id", "day"])
    return ordered.groupby("patient_id")["upcr_g_g"].apply(count)


def lab_flares(labs: pd.DataFrame, events: pd.DataFrame, low: float = 0.5, high: float = 1.0) -> dict:
    """Proteinuric flares in the labs: a UPCR below `low`, then at a later lab at least `high`
    (counted once per rise); how many have a renal_flare event after the low lab and no later
    than the high one."""
    flares = events[events["event"] == "renal_flare"]
    found = without = 0
    for pid, own in labs.dropna(subset=["upcr_g_g"]).sort_values("day").groupby("patient_id"):
        last_low = None
        for day, value in zip(own["day"], own["upcr_g_g"]):
            if value < low:
                last_low = day
            elif value >= high and last_low is not None:
                found += 1
                mine = flares[(flares["patient_id"] == pid) & (flares["day"] > last_low) & (flares["day"] <= day)]
                without += mine.empty
                last_low = None
    return {"lab flares": found, "without an event": without, "renal_flare events": int(len(flares))}


def threshold_density(values, threshold: float, width: float) -> dict:
    """Counts in three bands of `width`: the one centred on the threshold and its two neighbours,
    and the centred band's halves just inside and just outside the threshold."""
    v = np.asarray(values, float)
    t, half = threshold, width / 2

    def between(lo, hi):
        return int(((v >= lo) & (v < hi)).sum())

    return {"below": between(t - 3 * half, t - half), "across": between(t - half, t + half),
            "above": between(t + half, t + 3 * half), "just below": between(t - half, t),
            "just above": between(t, t + half)}


def followup_values(labs: pd.DataFrame) -> pd.DataFrame:
    """Lab rows after baseline, with each value's ratio to the patient's baseline (UPCR, creatinine)."""
    base = labs[labs["day"] == 0].drop_duplicates("patient_id").set_index("patient_id")
    later = labs[labs["day"] > 0].copy()
    later["upcr_ratio"] = later["upcr_g_g"] / later["patient_id"].map(base["upcr_g_g"])
    later["creatinine_ratio"] = later["creatinine_mg_dl"] / later["patient_id"].map(base["creatinine_mg_dl"])
    later["egfr_ratio"] = later["egfr"] / later["patient_id"].map(base["egfr"])
    return later


def densities(labs: pd.DataFrame) -> dict:
    """`threshold_density` around every response threshold of the default criteria."""
    later = followup_values(labs)
    return {
        "UPCR 0.5 g/g (CR)": threshold_density(later["upcr_g_g"], 0.5, 0.1),
        "UPCR 3.0 g/g (PR)": threshold_density(later["upcr_g_g"], 3.0, 0.6),
        "UPCR / baseline 0.5 (PR)": threshold_density(later["upcr_ratio"], 0.5, 0.1),
        "creatinine / baseline 1.15 (CR)": threshold_density(later["creatinine_ratio"], 1.15, 0.1),
        "eGFR 60 (PR)": threshold_density(later["egfr"], 60, 10),
        "eGFR / baseline 0.9 (PR)": threshold_density(later["egfr_ratio"], 0.9, 0.1),
    }
