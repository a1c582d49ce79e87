"""Cohort description: Table 1 (tableone) and the cohort-level numbers the book reports."""
from __future__ import annotations

import itertools
import re

import pandas as pd
from tableone import TableOne

from . import results
from .response import WINDOW, baseline_labs

LABELS = {
    "age": "Age, years", "sex": "Sex", "isn_class": "ISN/RPS class", "induction": "Induction regimen",
    "maintenance": "Maintenance regimen", "prior_response": "Response to prior induction",
    "upcr_g_g": "UPCR, g/g", "creatinine_mg_dl": "Creatinine, mg/dL", "egfr": "eGFR, mL/min/1.73 m²",
    "albumin_g_dl": "Albumin, g/dL", "c3_mg_dl": "C3, mg/dL", "c4_mg_dl": "C4, mg/dL",
    "anti_dsdna_iu_ml": "Anti-dsDNA, IU/mL",
}
CATEGORICAL = ["sex", "isn_class", "induction", "maintenance", "prior_response"]
SKEWED = ["upcr_g_g", "anti_dsdna_iu_ml"]          # shown as median [Q1, Q3]
LABS = ["upcr_g_g", "creatinine_mg_dl", "egfr", "albumin_g_dl", "c3_mg_dl", "c4_mg_dl", "anti_dsdna_iu_ml"]


def baseline_frame(cohort, window: int) -> pd.DataFrame:
    """One row per patient: patient columns and the baseline labs."""
    base = baseline_labs(cohort.labs, window)[LABS]
    return cohort.patients.merge(base, left_on="patient_id", right_index=True, how="left")


def table_one_arguments(frame: pd.DataFrame, by: str) -> dict:
    """TableOne's arguments for Table 1 of `frame` by `by` (also used by helpers.table1's benchmark)."""
    columns = [c for c in ["age", *CATEGORICAL, *LABS]
               if c != by and frame[c].notna().any() and frame[c].nunique() > 1]
    return dict(columns=columns, categorical=[c for c in CATEGORICAL if c in columns],
                nonnormal=[c for c in SKEWED if c in columns], groupby=by,
                pval=bool(frame[by].nunique() > 1), htest_name=True, missing=False,
                rename={c: LABELS[c] for c in columns}, decimals={"age": 1})


def table_one(cohort, by: str, window: int = WINDOW, min_cell: int = 0) -> pd.DataFrame:
    """Table 1 by `by` with p-values and the name of each test (tableone); counts below
    min_cell are shown as '< 5'."""
    frame = baseline_frame(cohort, window)
    table = TableOne(frame, **table_one_arguments(frame, by)).tableone
    return suppress_counts(table, min_cell) if min_cell else table


def suppress_counts(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """'3 (1.7)' and a bare '3' become '< 5' when the count is below min_cell (Table 1 cells)."""
    def cell(value):
        match = re.fullmatch(r"(\d+)( \(.*\))?", str(value).strip())
        return f"< {min_cell}" if match and 0 < int(match.group(1)) < min_cell else value
    return table.map(cell)


def summary_rows(study: str, cohort, by: str) -> list[dict]:
    """Size, sex, age and maintenance regimen, overall and per group, as result rows; also the size of
    every union of groups ('none+partial'), which a source may report (study B's 12 refractory patients)."""
    p = cohort.patients
    rows = []
    groups = [("all", p)] + [(g, part) for g, part in p.groupby(by, sort=True)]
    labels = [g for g, _ in groups[1:]]
    for size in range(2, len(labels)) if len(labels) <= 5 else ():
        for combo in itertools.combinations(labels, size):
            n = int(p[by].isin(combo).sum())
            rows.append(results.row(study, "n_patients", "count", n, group="+".join(combo), detail=f"{n} patients"))
    for group, part in groups:
        n = len(part)
        female = int(part["sex"].eq("F").sum())
        rows += [
            results.row(study, "n_patients", "count", n, group=group, detail=f"{n} patients"),
            results.row(study, "female", "percent", 100 * female / n, group=group, detail=f"{female}/{n}"),
            results.row(study, "age", "mean", part["age"].mean(), group=group, timepoint="baseline",
                        detail=f"n = {n}"),
            results.row(study, "age", "sd", part["age"].std(ddof=1), group=group, timepoint="baseline",
                        detail=f"n = {n}"),
        ]
        if group == "tacrolimus":
            mono = int(part["maintenance"].eq("tacrolimus").sum())
            rows += [results.row(study, "tacrolimus_monotherapy", "count", mono, group=group, detail=f"{mono}/{n}"),
                     results.row(study, "tacrolimus_monotherapy", "percent", 100 * mono / n, group=group,
                                 detail=f"{mono}/{n}")]
    return rows
