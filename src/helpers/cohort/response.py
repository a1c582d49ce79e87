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

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

RESPONSES = ("CR", "PR", "NR")
WINDOW = 45   # days either side of a nominal timepoint: the default visit window
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
    def from_params(cls, params: dict | None = None) -> Criteria:
        """Criteria with the named fields overridden; unknown names are an error."""
        params = dict(params or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown response criteria: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return replace(cls(), **{k: float(v) for k, v in params.items()})

def baseline_labs(labs: pd.DataFrame, window: int) -> pd.DataFrame:
    """Each patient's earliest visit within `window` days of baseline (day 0)."""
    early = labs[labs["day"] <= window].sort_values(["patient_id", "day"], kind="stable")
    return early.drop_duplicates("patient_id").set_index("patient_id")


def followed_to(cohort, timepoints: dict[str, int], window: int = WINDOW) -> dict[str, int]:
    """The timepoints some patient of `cohort` was followed to: one whose last follow-up comes no earlier than
    `window` days before the nominal day (a visit in the window is possible). The others have no patient to
    evaluate, under any missing-data rule."""
    last = cohort.patients["last_followup_day"].max()
    return {name: day for name, day in timepoints.items() if last == last and day - window <= last}


def classify(cohort, timepoints: dict[str, int], window: int = WINDOW, criteria: Criteria | None = None,
             missing: str = "complete_case") -> pd.DataFrame:
    """One row per patient and timepoint: the visit used, its labs, the baseline
    labs, and `response` (CR / PR / NR; <NA> when not evaluated).

    `missing="nonresponder"` counts a patient without an evaluable visit as NR.
    Rows are ordered by timepoint, then patient_id.
    """
    criteria = criteria or Criteria()
    if missing not in MISSING_RULES:
        raise ValueError(f"missing must be one of {MISSING_RULES}, not {missing!r}")
    patients = cohort.patients[["patient_id", "arm", "sex", "prior_response"]]
    out = _grid_by_positions(patients, cohort.labs, timepoints, window)
    if out is None:
        raise ValueError("classify needs timepoints and a cohort as helpers.cohort.data.load gives it: unique patient "
                         "ids of one type in both tables, whole days without gaps, the lab columns of the schema")

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
    # codes into RESPONSES: CR first, then PR, else NR; -1 (<NA>) when not evaluated
    codes = np.where(np.asarray(is_cr, dtype=bool), 0, np.where(np.asarray(is_pr, dtype=bool), 1, 2))
    codes[~evaluated.to_numpy()] = -1
    out["response"] = pd.Categorical.from_codes(codes.astype(np.int8), categories=list(RESPONSES))
    if missing == "nonresponder":
        out["response"] = out["response"].fillna("NR")
    return out


_GRID_COLUMNS = {"patient_id", "timepoint", "nominal_day", "arm", "sex", "prior_response", "visit_day",
                 "distance", "response", "baseline_upcr_g_g", "baseline_creatinine_mg_dl", "baseline_egfr"}


def _grid_by_positions(patients: pd.DataFrame, labs: pd.DataFrame, timepoints: dict[str, int],
                       window: int) -> pd.DataFrame | None:
    """Patient x timepoint grid with the visit and baseline labs, built from integer positions with
    numpy (tests/grid_oracle.py builds the same frame by merges, as a test oracle).

    Each lab row gets its patient's position in `patients`; rows sorted by
    (patient, day) make "the first row of each patient" a comparison with the
    previous row, so there is no merge, no MultiIndex and no sort of text.
    Returns None when the inputs fall outside what this path reproduces exactly
    (duplicate or missing patient ids, clashing column names, nullable days with
    missing values, key types a merge would treat differently).
    """
    ids = patients["patient_id"]
    lab_ids = labs["patient_id"] if "patient_id" in labs else None
    needed = {"day", "upcr_g_g", "creatinine_mg_dl", "egfr"}
    if (not timepoints or lab_ids is None or not needed <= set(labs.columns)
            or set(labs.columns) & (_GRID_COLUMNS - {"patient_id"}) or labs.columns.duplicated().any()
            or _key_kind(ids) is None or _key_kind(ids) != _key_kind(lab_ids)):
        return None
    index = pd.Index(ids)
    if index.hasnans or not index.is_unique:
        return None
    day = _day_values(labs["day"])
    if day is None:
        return None
    n_patients, names, nominal = len(ids), list(timepoints), list(timepoints.values())

    # lab rows of known patients, sorted by (patient, day); ties keep the file order
    position = _positions(lab_ids, index)
    rows = np.flatnonzero(position >= 0)
    if len(rows) == len(position):
        rows = None
    else:
        position, day = position[rows], day[rows]
    has_upcr = labs["upcr_g_g"].notna().to_numpy()
    if rows is not None:
        has_upcr = has_upcr[rows]
    sort_day = np.where(np.isnan(day), np.inf, day) if day.dtype.kind == "f" else day
    if not _is_sorted(position, sort_day):
        order = np.lexsort((sort_day, position))
        position, day, has_upcr = position[order], day[order], has_upcr[order]
        rows = order if rows is None else rows[order]
    del sort_day

    def lab_row(selected: np.ndarray) -> np.ndarray:  # sorted position -> row of `labs`
        return selected if rows is None else rows[selected]

    # baseline: the earliest visit within `window` days of day 0
    baseline = np.full(n_patients, -1, dtype=np.int64)
    patient, first = _first_per_patient(position, np.flatnonzero(day <= window))
    baseline[patient] = lab_row(first)

    # each timepoint: the visit with a UPCR closest to it, the earlier on a tie
    visit = np.full((len(names), n_patients), -1, dtype=np.int64)
    for k, target in enumerate(nominal):
        near = np.flatnonzero(has_upcr & (np.abs(day - target) <= window))
        if not len(near):
            continue
        distance = np.abs(day[near] - target)
        patient_of = position[near]
        starts = np.flatnonzero(np.r_[True, patient_of[1:] != patient_of[:-1]])
        closest = np.repeat(np.minimum.reduceat(distance, starts), np.diff(np.r_[starts, len(near)]))
        patient, first = _first_per_patient(position, near[distance == closest])
        visit[k, patient] = lab_row(first)
    del position, day, has_upcr

    # rows ordered by timepoint, then patient_id
    order = _sort_order(ids)
    n_rows = len(names) * n_patients
    which_patient = np.tile(order, len(names))
    which_visit = visit[:, order].reshape(-1)
    which_baseline = baseline[order]
    del visit, baseline

    columns = {
        "patient_id": _take(ids, which_patient),
        "timepoint": pd.Categorical.from_codes(np.repeat(np.arange(len(names)), n_patients),
                                               categories=names, ordered=True),
        "nominal_day": pd.Series(np.repeat(np.asarray(nominal), n_patients)).astype("Int64").array,
    }
    for name in ("arm", "sex", "prior_response"):
        columns[name] = _take(patients[name], which_patient)
    for name in labs.columns:
        if name != "patient_id":
            columns["visit_day" if name == "day" else name] = _take(labs[name], which_visit, fill=True)
    for name in ("upcr_g_g", "creatinine_mg_dl", "egfr"):
        columns["baseline_" + name] = _take(labs[name], np.tile(which_baseline, len(names)), fill=True)
    return pd.DataFrame(columns, index=pd.RangeIndex(n_rows), copy=False)


def _key_kind(keys: pd.Series):
    """The value type patient ids are matched on (categories' type for a categorical)."""
    if isinstance(keys.dtype, pd.CategoricalDtype):
        keys = keys.cat.categories
    dtype = keys.dtype
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return "text" if pd.api.types.infer_dtype(keys, skipna=True) in ("string", "empty") else None
    if pd.api.types.is_integer_dtype(dtype) and not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        return "int"
    return None


def _positions(keys: pd.Series, index: pd.Index) -> np.ndarray:
    """Position in `index` of each key (-1 when absent)."""
    if isinstance(keys.dtype, pd.CategoricalDtype):
        codes = keys.cat.codes.to_numpy()
        of_category = np.append(index.get_indexer(keys.cat.categories), -1)  # code -1 (missing) -> -1
        return of_category[codes]
    return index.get_indexer(keys)


def _day_values(day: pd.Series) -> np.ndarray | None:
    """Days as a numpy array (None when they are not plain numbers)."""
    if isinstance(day.dtype, pd.api.extensions.ExtensionDtype):
        if not pd.api.types.is_integer_dtype(day.dtype) or day.isna().any():
            return None
        return day.to_numpy(dtype=np.int64)
    if day.dtype.kind not in "if":  # unsigned days would wrap around in day - timepoint
        return None
    return day.to_numpy()


def _is_sorted(position: np.ndarray, day: np.ndarray) -> bool:
    """Whether rows are ordered by (position, day)."""
    if len(position) < 2:
        return True
    step = np.diff(position)
    if (step < 0).any():
        return False
    return not ((step == 0) & (day[1:] < day[:-1])).any()


def _first_per_patient(position: np.ndarray, selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Among the sorted rows `selected` (ascending), the first of each patient: (patient, row)."""
    patient = position[selected]
    first = np.ones(len(selected), dtype=bool)
    first[1:] = patient[1:] != patient[:-1]
    return patient[first], selected[first]


def _sort_order(ids: pd.Series) -> np.ndarray:
    """Positions of `ids` in the order of a stable sort_values."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return np.argsort(ids.cat.codes.to_numpy(), kind="stable")
    if pd.Index(ids).is_monotonic_increasing:
        return np.arange(len(ids))
    return np.asarray(ids.reset_index(drop=True).sort_values(kind="stable").index)


def _take(column: pd.Series, positions: np.ndarray, fill: bool = False):
    """column[positions] as an array of the column's type; with `fill`, -1 gives a missing value
    (int becomes float, as a left merge does)."""
    values = column.array if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) else column.to_numpy()
    return pd.api.extensions.take(values, positions, allow_fill=fill)


def summarise(classified: pd.DataFrame, by: str | list[str] = "arm") -> pd.DataFrame:
    """Counts per timepoint and group: N evaluated, CR, PR, overall (CR + PR), NR."""
    by = [by] if isinstance(by, str) else list(by)
    evaluated = classified[classified["response"].notna()]
    if evaluated.empty:   # nobody evaluated: zeros for every timepoint and group (crosstab needs rows)
        times = classified["timepoint"]
        index = pd.MultiIndex.from_product(
            [times.cat.categories if isinstance(times.dtype, pd.CategoricalDtype) else pd.unique(times),
             *[pd.unique(classified[b].dropna()) for b in by]], names=["timepoint", *by])
        counts = pd.DataFrame(0, index=index, columns=list(RESPONSES))
    else:
        counts = (pd.crosstab([evaluated["timepoint"]] + [evaluated[b] for b in by], evaluated["response"],
                              dropna=False)
                  .reindex(columns=list(RESPONSES), fill_value=0))
    counts["overall"] = counts["CR"] + counts["PR"]
    counts.insert(0, "n", counts[list(RESPONSES)].sum(axis=1))
    return counts.reset_index().rename_axis(columns=None)
