"""Renal response (CR / PR / non-response) derived from lab values.

The response is never stored in the data: it is classified here, from UPCR,
serum creatinine and eGFR, at nominal timepoints, by criteria that are all parameters
(`Criteria`). The defaults are the criteria published for study A's cohort (Lupus Sci Med
2022;9(Suppl 2):A84.1); a study file names its own (a preset of PRESETS and thresholds), and
a params file may choose another preset (`criteria: {preset: kdigo_2024}`):

- CR: UPCR < `cr_upcr_max` (<= with `cr_upcr_inclusive`) and, by `cr_creatinine`, serum
  creatinine normal or, if normal at baseline, not increased by >= `cr_creatinine_rise_max`
  ('normal_or_no_rise': baseline creatinine normal -> rise below the limit; above normal ->
  back to normal), or not more than `cr_creatinine_rise_max` above baseline ('no_rise'), or no
  creatinine condition ('none'); and, where set, eGFR >= `cr_egfr_min` or not more than
  `cr_egfr_drop_max` below baseline.
- PR (not CR; only where the definition has one, `partial_response`): UPCR reduced by >=
  `pr_upcr_reduction_min` from baseline (0: no reduction asked) to below `pr_upcr_max` (<= with
  `pr_upcr_inclusive`), with eGFR >= `pr_egfr_min` or not more than `pr_egfr_drop_max` below
  baseline (either may be None, both None: no condition), and, where set, creatinine not more
  than `pr_creatinine_rise_max` above baseline.
- NR: evaluated and neither.
A lab value missing at the visit counts as not meeting the condition that needs
it; a patient without a UPCR at the visit is not evaluated at that timepoint.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd

RESPONSES = ("CR", "PR", "NR")
WINDOW = 45   # days either side of a nominal timepoint: the default visit window
MISSING_RULES = ("complete_case", "nonresponder")


CREATININE_RULES = ("normal_or_no_rise", "no_rise", "none")

# the unit of each threshold of Criteria, as a page of the book writes it beside the value
CRITERIA_UNITS = {
    "cr_upcr_max": "g/g", "cr_creatinine_rise_max": "fraction of baseline creatinine",
    "creatinine_uln_female": "mg/dL", "creatinine_uln_male": "mg/dL",
    "pr_upcr_reduction_min": "fraction of baseline UPCR", "pr_upcr_max": "g/g",
    "pr_egfr_min": "mL/min/1.73 m²", "pr_egfr_drop_max": "fraction of baseline eGFR",
    "cr_upcr_inclusive": "yes/no", "cr_creatinine": "rule", "cr_egfr_min": "mL/min/1.73 m²",
    "cr_egfr_drop_max": "fraction of baseline eGFR", "partial_response": "yes/no", "pr_upcr_inclusive": "yes/no",
    "pr_creatinine_rise_max": "fraction of baseline creatinine",
}


@dataclass(frozen=True)
class Criteria:
    cr_upcr_max: float = 0.5               # g/g
    cr_creatinine_rise_max: float = 0.15   # fraction of baseline creatinine
    creatinine_uln_female: float = 1.0     # mg/dL, upper limit of normal
    creatinine_uln_male: float = 1.2       # mg/dL
    pr_upcr_reduction_min: float = 0.5     # fraction of baseline UPCR (0: no reduction asked)
    pr_upcr_max: float = 3.0               # g/g, nephrotic threshold
    pr_egfr_min: float | None = 60.0       # mL/min/1.73 m², "normal or near-normal" (None: not a way to pass)
    pr_egfr_drop_max: float | None = 0.10  # or within this fraction of baseline eGFR (None: not a way to pass)
    cr_upcr_inclusive: bool = False        # CR: UPCR <= cr_upcr_max (True) or < (False)
    cr_creatinine: str = "normal_or_no_rise"   # CREATININE_RULES
    cr_egfr_min: float | None = None       # CR also needs eGFR >= this ...
    cr_egfr_drop_max: float | None = None  # ... or not more than this fraction below baseline (both None: nothing)
    partial_response: bool = True          # the definition has a partial response
    pr_upcr_inclusive: bool = False        # PR: UPCR <= pr_upcr_max (True) or < (False)
    pr_creatinine_rise_max: float | None = None   # PR also needs creatinine <= (1 + this) x baseline

    @classmethod
    def from_params(cls, params: dict | None = None) -> Criteria:
        """Criteria with the named fields overridden, after the fields of `preset` if one is named
        (PRESETS); unknown names are an error."""
        params = dict(params or {})
        base = cls()
        preset = params.pop("preset", None)
        if preset is not None:
            if preset not in PRESETS:
                raise ValueError(f"unknown response criteria preset {preset!r}; known: {', '.join(PRESETS)}")
            base = replace(base, **PRESETS[preset].values)
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"unknown response criteria: {', '.join(unknown)}; known: preset, {', '.join(known)}")
        return replace(base, **{k: _typed(k, v) for k, v in params.items()})


def _typed(name: str, value):
    """A criterion's value in its field's type (a number as float; None, flags and the creatinine rule as given)."""
    if name in ("cr_upcr_inclusive", "pr_upcr_inclusive", "partial_response"):
        return bool(value)
    if name == "cr_creatinine":
        if value not in CREATININE_RULES:
            raise ValueError(f"cr_creatinine must be one of {', '.join(CREATININE_RULES)}, not {value!r}")
        return value
    return None if value is None else float(value)


@dataclass(frozen=True)
class Preset:
    """A published response definition as Criteria fields, with the words it comes from and how they are read."""
    title: str
    citation: str
    url: str
    quote: str
    values: dict = field(default_factory=dict)
    reading: str = ""


PRESETS = {
    "ajou_2022": Preset(
        "The Ajou lupus cohort's criteria (study A; the default)",
        "Lupus Sci Med 2022;9(Suppl 2):A84.1, poster PO.5.107.", "lupus.bmj.com/content/9/Suppl_2/A84.1",
        "Complete renal response was defined as urine protein to creatinine ratio (UPCR) <0.5, normal serum "
        "creatinine or, if normal at baseline, not increased by ≥15%, and partial renal response was defined as a "
        "normal or near-normal GFR with a ≥ 50% reduction in proteinuria to sub-nephrotic levels.",
        {}, "'Sub-nephrotic' read as UPCR < 3.0 g/g; 'normal or near-normal GFR' as eGFR >= 60 or not more than 10% "
            "below baseline."),
    "kdigo_2024": Preset(
        "KDIGO 2024 lupus nephritis guideline",
        "KDIGO 2024 Clinical Practice Guideline for the Management of Lupus Nephritis. Kidney Int 2024;105(1S):S1-S69 "
        "(worded as in a secondary summary: the guideline's own figure is not among the stored sources).",
        "www.droracle.ai/articles/642182/what-are-the-classifications-of-response-in-lupus-nephritis",
        "Complete response is defined as proteinuria <0.5 g/g (50 mg/mmol) measured as the protein-creatinine ratio "
        "(PCR) from a 24-hour urine collection, with stabilization or improvement in kidney function (±10%–15% of "
        "baseline) ... Partial response requires at least 50% reduction in proteinuria to <3 g/g (300 mg/mmol) "
        "measured as PCR from a 24-hour urine collection, with stabilization or improvement in kidney function "
        "(±10%–15% of baseline)",
        {"cr_creatinine": "none", "cr_egfr_drop_max": 0.15, "pr_egfr_min": None, "pr_egfr_drop_max": 0.15},
        "The PCR of a 24-hour collection read as the UPCR of the visit; 'stabilization ... (±10%–15% of baseline)' "
        "as eGFR not more than 15% below baseline."),
    "eular_2019": Preset(
        "EULAR/ERA-EDTA 2019 recommendations: complete response",
        "Fanouriakis A, et al. 2019 Update of the Joint EULAR/ERA-EDTA recommendations for the management of lupus "
        "nephritis. Ann Rheum Dis 2020;79:713-723.", "ard.bmj.com/content/79/6/713",
        "The target of therapy is complete response (proteinuria <0.5–0.7 g/24 hours with (near-)normal glomerular "
        "filtration rate) by 12 months",
        {"cr_creatinine": "none", "cr_egfr_min": 60.0, "cr_egfr_drop_max": 0.10, "partial_response": False},
        "The lower limit of 0.5–0.7 g/24 hours taken, read as the UPCR of the visit (g/g); '(near-)normal GFR' read "
        "as eGFR >= 60 or not more than 10% below baseline. The quoted words define a complete response only: no "
        "partial response."),
    "bliss_ln": Preset(
        "BLISS-LN's primary endpoint (primary efficacy renal response) and complete renal response",
        "Furie R, et al. Two-Year, Randomized, Controlled Trial of Belimumab in Lupus Nephritis. N Engl J Med "
        "2020;383:1117-1128.", "pubmed.ncbi.nlm.nih.gov/32937045",
        "a primary efficacy renal response (a ratio of urinary protein to creatinine of ≤0.7, an estimated glomerular "
        "filtration rate [eGFR] that was no worse than 20% below the value before the renal flare (pre-flare value) "
        "or ≥60 ml per minute per 1.73 m2 of body-surface area, and no use of rescue therapy), and the major "
        "secondary end point was a complete renal response (a ratio of urinary protein to creatinine of <0.5, an "
        "eGFR that was no worse than 10% below the pre-flare value or ≥90 ml per minute per 1.73 m2, and no use of "
        "rescue therapy)",
        {"cr_creatinine": "none", "cr_egfr_min": 90.0, "cr_egfr_drop_max": 0.10, "pr_upcr_reduction_min": 0.0,
         "pr_upcr_max": 0.7, "pr_upcr_inclusive": True, "pr_egfr_min": 60.0, "pr_egfr_drop_max": 0.20},
        "CR: the complete renal response; CR or PR (overall): the primary efficacy renal response. The pre-flare "
        "eGFR read as the baseline eGFR; 'no use of rescue therapy' is not in the patient-level format."),
    "aurora_1": Preset(
        "AURORA 1's primary endpoint (complete renal response at 52 weeks)",
        "Rovin BH, et al. Efficacy and safety of voclosporin versus placebo for lupus nephritis (AURORA 1). Lancet "
        "2021;397:2070-2080.", "pubmed.ncbi.nlm.nih.gov/33971155",
        "complete renal response at 52 weeks defined as a composite of urine protein creatinine ratio of 0·5 mg/mg "
        "or less, stable renal function (defined as estimated glomerular filtration rate [eGFR] ≥60 mL/min/1·73 m2 or "
        "no confirmed decrease from baseline in eGFR of >20%), no administration of rescue medication, and no more "
        "than 10 mg prednisone equivalent per day for 3 or more consecutive days or for 7 or more days during weeks "
        "44 through 52",
        {"cr_upcr_inclusive": True, "cr_creatinine": "none", "cr_egfr_min": 60.0, "cr_egfr_drop_max": 0.20,
         "partial_response": False},
        "'Confirmed' read as at the visit; rescue medication and prednisone doses are not in the patient-level "
        "format. One grade: no partial response."),
}


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
    upcr, base_upcr = out["upcr_g_g"], out["baseline_upcr_g_g"]
    egfr, base_egfr = out["egfr"], out["baseline_egfr"]
    if criteria.cr_creatinine == "normal_or_no_rise":
        baseline_normal = base_creat <= uln
        creatinine_ok = np.where(baseline_normal,
                                 creat < base_creat * (1 + criteria.cr_creatinine_rise_max),
                                 creat <= uln)
    elif criteria.cr_creatinine == "no_rise":
        creatinine_ok = np.asarray(creat <= base_creat * (1 + criteria.cr_creatinine_rise_max))
    else:
        creatinine_ok = np.ones(len(out), dtype=bool)
    cr_upcr = (upcr <= criteria.cr_upcr_max) if criteria.cr_upcr_inclusive else (upcr < criteria.cr_upcr_max)
    is_cr = cr_upcr & creatinine_ok
    if criteria.cr_egfr_min is not None or criteria.cr_egfr_drop_max is not None:
        is_cr = is_cr & _gfr_ok(egfr, base_egfr, criteria.cr_egfr_min, criteria.cr_egfr_drop_max)
    gfr_ok = _gfr_ok(egfr, base_egfr, criteria.pr_egfr_min, criteria.pr_egfr_drop_max)
    pr_upcr = (upcr <= criteria.pr_upcr_max) if criteria.pr_upcr_inclusive else (upcr < criteria.pr_upcr_max)
    if criteria.pr_upcr_reduction_min > 0:
        is_pr = (upcr <= base_upcr * (1 - criteria.pr_upcr_reduction_min)) & pr_upcr & gfr_ok
    else:
        is_pr = pr_upcr & gfr_ok
    if criteria.pr_creatinine_rise_max is not None:
        is_pr = is_pr & (creat <= base_creat * (1 + criteria.pr_creatinine_rise_max))
    if not criteria.partial_response:
        is_pr = np.zeros(len(out), dtype=bool)

    evaluated = upcr.notna() & base_upcr.notna()
    # codes into RESPONSES: CR first, then PR, else NR; -1 (<NA>) when not evaluated
    codes = np.where(np.asarray(is_cr, dtype=bool), 0, np.where(np.asarray(is_pr, dtype=bool), 1, 2))
    codes[~evaluated.to_numpy()] = -1
    out["response"] = pd.Categorical.from_codes(codes.astype(np.int8), categories=list(RESPONSES))
    if missing == "nonresponder":
        out["response"] = out["response"].fillna("NR")
    return out


def _gfr_ok(egfr, base_egfr, minimum: float | None, drop: float | None):
    """eGFR at least `minimum`, or not more than `drop` below baseline (either None: not a way to pass; both
    None: every eGFR passes)."""
    if minimum is None and drop is None:
        return np.ones(len(egfr), dtype=bool)
    if drop is None:
        return egfr >= minimum
    if minimum is None:
        return egfr >= base_egfr * (1 - drop)
    return (egfr >= minimum) | (egfr >= base_egfr * (1 - drop))


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
