"""The patient x timepoint grid built by merges: the plain-pandas statement of what
helpers.cohort.response builds with numpy positions, kept as a test oracle (tests/chapters/test_registry_smoke.py)."""
import pandas as pd

from helpers.cohort.response import baseline_labs


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


def grid_by_merges(patients: pd.DataFrame, labs: pd.DataFrame, timepoints: dict[str, int],
                    window: int) -> pd.DataFrame:
    """Patient x timepoint grid with the visit and baseline labs, by merges (any input)."""
    base = baseline_labs(labs, window)[["upcr_g_g", "creatinine_mg_dl", "egfr"]].add_prefix("baseline_")
    visits = visits_at(labs, timepoints, window)

    grid = pd.MultiIndex.from_product([patients["patient_id"], list(timepoints)], names=["patient_id", "timepoint"])
    out = (pd.DataFrame(index=grid).reset_index()
           .merge(patients, on="patient_id", how="left")
           .merge(visits.drop(columns=["nominal_day"]).rename(columns={"day": "visit_day"}),
                  on=["patient_id", "timepoint"], how="left")
           .merge(base, left_on="patient_id", right_index=True, how="left"))
    out.insert(2, "nominal_day", out["timepoint"].map(timepoints).astype("Int64"))
    out["timepoint"] = pd.Categorical(out["timepoint"], categories=list(timepoints), ordered=True)
    return out.sort_values(["timepoint", "patient_id"], kind="stable").reset_index(drop=True)
