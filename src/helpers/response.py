"""Renal response (CR / PR / non-response) derived from lab values.

The response is never stored in the data: it is classified here, from UPCR,
serum creatinine and eGFR, at nominal timepoints, by the criteria published for
study A's cohort (Lupus Sci Med 2022;9(Suppl 2):A84.1):

- CR: UPCR < `cr_upcr_max` and serum creatinine normal or, if normal at
  baseline, not increased by >= `cr_creatinine_rise_max`.
  Read as: baseline creatinine normal -> rise below the limit; baseline
  creatinine above normal -> creatinine back to normal.
- PR (not CR): UPCR reduced by >= `pr_upcr_reduction_min` from baseline to a
  sub-nephrotic level (< `pr_upcr_max`), with normal or near-normal GFR
  (eGFR >= `pr_egfr_min`, or not more than `pr_egfr_drop_max` below baseline).
- NR: evaluated and neither.
A lab value missing at the visit counts as not meeting the condition that needs
it; a patient without a UPCR at the visit is not evaluated at that timepoint.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import pandas as pd

RESPONSES = ("CR", "PR", "NR")
MISSING_RULES = ("complete_case", "nonresponder")


@dataclass(frozen=True)
class Criteria:
    cr_upcr_max: float = 0.5               # g/g
    cr_creatinine_rise_max: float = 0.15   # fraction of baseline creatinine
    creatinine_uln_female: float = 1.0     # mg/dL, upper limit of normal
    creatinine_uln_male: float = 1.2       # mg/dL
    pr_upcr_reduction_min: float = 0.5     # fraction of baseline UPCR
    pr_upcr_max: float = 3.0               # g/g, nephrotic threshold
    pr_egfr_min: float = 60.0              # mL/min/1.73 m², "normal or near-normal"
    pr_egfr_drop_max: float = 0.10         # or within this fraction of baseline eGFR

    @classmethod
    def from_params(cls, params: dict | None = None) -> "Criteria":
        """Criteria with the named fields overridden; unknown names are an error."""
        params = dict(params or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown response criteria: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return replace(cls(), **{k: float(v) for k, v in params.items()})

    def as_dict(self) -> dict:
        return asdict(self)


def baseline_labs(labs: pd.DataFrame, window: int) -> pd.DataFrame:
    """Each patient's earliest visit within `window` days of baseline (day 0)."""
    early = labs[labs["day"] <= window].sort_values(["patient_id", "day"], kind="stable")
    return early.drop_duplicates("patient_id").set_index("patient_id")


def visits_at(labs: pd.DataFrame, timepoints: dict[str, int], window: int) -> pd.DataFrame:
    """For each patient and nominal timepoint, the visit with a UPCR closest to it
    (within +/- `window` days; the earlier visit on a tie)."""
    with_upcr = labs[labs["upcr_g_g"].notna()]
    parts = []
    for name, day in timepoints.items():
        near = with_upcr[(with_upcr["day"] - day).abs() <= window].copy()
        near["timepoint"] = name
        near["nominal_day"] = day
        near["distance"] = (near["day"] - day).abs()
        parts.append(near)
    visits = pd.concat(parts, ignore_index=True) if parts else with_upcr.iloc[0:0]
    visits = visits.sort_values(["patient_id", "timepoint", "distance", "day"], kind="stable")
    return visits.drop_duplicates(["patient_id", "timepoint"]).drop(columns="distance")


def classify(cohort, timepoints: dict[str, int], window: int = 45, criteria: Criteria | None = None,
             missing: str = "complete_case") -> pd.DataFrame:
    """One row per patient and timepoint: the visit used, its labs, the baseline
    labs, and `response` (CR / PR / NR; <NA> when not evaluated).

    `missing="nonresponder"` counts a patient without an evaluable visit as NR.
    """
    criteria = criteria or Criteria()
    if missing not in MISSING_RULES:
        raise ValueError(f"missing must be one of {MISSING_RULES}, not {missing!r}")
    patients = cohort.patients[["patient_id", "arm", "sex", "prior_response"]]
    base = baseline_labs(cohort.labs, window)[["upcr_g_g", "creatinine_mg_dl", "egfr"]].add_prefix("baseline_")
    visits = visits_at(cohort.labs, timepoints, window)

    grid = pd.MultiIndex.from_product([patients["patient_id"], list(timepoints)], names=["patient_id", "timepoint"])
    out = (pd.DataFrame(index=grid).reset_index()
           .merge(patients, on="patient_id", how="left")
           .merge(visits.drop(columns=["nominal_day"]).rename(columns={"day": "visit_day"}),
                  on=["patient_id", "timepoint"], how="left")
           .merge(base, left_on="patient_id", right_index=True, how="left"))
    out.insert(2, "nominal_day", out["timepoint"].map(timepoints).astype("Int64"))

    uln = np.where(out["sex"] == "M", criteria.creatinine_uln_male, criteria.creatinine_uln_female)
    creat, base_creat = out["creatinine_mg_dl"], out["baseline_creatinine_mg_dl"]
    baseline_normal = base_creat <= uln
    creatinine_ok = np.where(baseline_normal,
                             creat < base_creat * (1 + criteria.cr_creatinine_rise_max),
                             creat <= uln)
    upcr, base_upcr = out["upcr_g_g"], out["baseline_upcr_g_g"]
    is_cr = (upcr < criteria.cr_upcr_max) & creatinine_ok
    gfr_ok = (out["egfr"] >= criteria.pr_egfr_min) | \
             (out["egfr"] >= out["baseline_egfr"] * (1 - criteria.pr_egfr_drop_max))
    is_pr = (upcr <= base_upcr * (1 - criteria.pr_upcr_reduction_min)) & (upcr < criteria.pr_upcr_max) & gfr_ok

    evaluated = upcr.notna() & base_upcr.notna()
    response = np.select([is_cr, is_pr], ["CR", "PR"], default="NR").astype(object)
    response[~evaluated.to_numpy()] = None
    out["response"] = pd.Categorical(response, categories=list(RESPONSES))
    if missing == "nonresponder":
        out["response"] = out["response"].fillna("NR")
    out["timepoint"] = pd.Categorical(out["timepoint"], categories=list(timepoints), ordered=True)
    return out.sort_values(["timepoint", "patient_id"], kind="stable").reset_index(drop=True)


def summarise(classified: pd.DataFrame, by: str | list[str] = "arm") -> pd.DataFrame:
    """Counts per timepoint and group: N evaluated, CR, PR, overall (CR + PR), NR."""
    by = [by] if isinstance(by, str) else list(by)
    evaluated = classified[classified["response"].notna()]
    counts = (pd.crosstab([evaluated["timepoint"]] + [evaluated[b] for b in by], evaluated["response"],
                          dropna=False)
              .reindex(columns=list(RESPONSES), fill_value=0))
    counts["overall"] = counts["CR"] + counts["PR"]
    counts.insert(0, "n", counts[list(RESPONSES)].sum(axis=1))
    return counts.reset_index().rename_axis(columns=None)
