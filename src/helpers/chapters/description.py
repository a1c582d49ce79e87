"""Cohort description: Table 1 (tableone) and the cohort-level numbers the book reports."""
from __future__ import annotations

import itertools
import math
import re

import pandas as pd
from tableone import TableOne

from helpers import labels
from helpers.chapters.groups import groups, members, table_grouping
from helpers.cohort.response import WINDOW, baseline_labs, classify, followed_to
from helpers.compare import claims, numbers, results
from helpers.methods import disclosure
from helpers.paths import PUBLISHED_DIR
from helpers.present import figures, tables
from helpers.publication import published

ROW_NAMES = {
    "age": "Age, years", "sex": "Sex", "isn_class": "ISN/RPS class", "induction": "Induction regimen",
    "maintenance": "Maintenance regimen", "prior_response": "Response to prior induction",
    "upcr_g_g": "UPCR, g/g", "creatinine_mg_dl": "Creatinine, mg/dL", "egfr": "eGFR, mL/min/1.73 m²",
    "albumin_g_dl": "Albumin, g/dL", "c3_mg_dl": "C3, mg/dL", "c4_mg_dl": "C4, mg/dL",
    "anti_dsdna_iu_ml": "Anti-dsDNA, IU/mL", "disease_duration_months": "Disease duration, months",
    "weight_kg": "Weight, kg", "active_sediment": "Active urinary sediment", "active_serology": "Active serology",
    "proteinuria_g_day": "24-hour urine protein, g/day",
}
CATEGORICAL = ["sex", "isn_class", "induction", "maintenance", "prior_response", "active_sediment", "active_serology"]
SKEWED = ["upcr_g_g", "anti_dsdna_iu_ml", "proteinuria_g_day", "disease_duration_months"]   # median [Q1, Q3]
LABS = list(labels.LAB_COLUMNS.values())
PATIENT_NUMBERS = ["age", "disease_duration_months", "weight_kg"]   # numbers of patients.csv Table 1 describes


def baseline_frame(cohort, window: int) -> pd.DataFrame:
    """One row per patient: patient columns and the baseline labs."""
    base = baseline_labs(cohort.labs, window)[[c for c in LABS if c in cohort.labs]]
    return cohort.patients.merge(base, left_on="patient_id", right_index=True, how="left")


def table_one_arguments(frame: pd.DataFrame, by: str) -> dict:
    """TableOne's arguments for Table 1 of `frame` by `by` (also used by the benchmark's bench/table1.py)."""
    columns = [c for c in [*PATIENT_NUMBERS, *CATEGORICAL, *LABS]
               if c != by and c in frame and frame[c].notna().any() and frame[c].nunique() > 1]
    return dict(columns=columns, categorical=[c for c in CATEGORICAL if c in columns],
                nonnormal=[c for c in SKEWED if c in columns], groupby=by,
                pval=bool(frame[by].nunique() > 1), htest_name=True, missing=False,
                rename={c: ROW_NAMES[c] for c in columns}, decimals={"age": 1})


def table_one(cohort, by: str, window: int = WINDOW) -> pd.DataFrame:
    """Table 1 by `by` with p-values and the name of each test (tableone), unprotected: for a reader,
    table_one_view, which applies disclosure control."""
    frame = baseline_frame(cohort, window)
    return TableOne(frame, **table_one_arguments(frame, by)).tableone


PUBLISHED_AS = {"age": "age", "upcr_g_g": "upcr", "egfr": "egfr"}   # column -> measure a source may publish
LEVELS = {"F": "Female", "M": "Male"}
WARNING = " (warning: expected count < 5)"   # tableone's note on a chi-squared test


def table_one_view(cohort, by: str, groups: list[str], marker=None, window: int = WINDOW,
                   min_cell: int = 0) -> tables.Table:
    """Table 1 for a reader: groups in `groups` order with clinical names, no p-value for a variable
    that defines the groups (each of its levels lies in one group), and, on a reconstructed cohort
    (`marker`), a provenance column: the published value with its mark, or the assumption."""
    frame = baseline_frame(cohort, window)
    raw = table_one(cohort, by, window)
    arguments = table_one_arguments(frame, by)
    dark, dark_cells, untested = disclosure.table_hidden(frame, by, arguments["categorical"], min_cell)
    summaries = _summaries_hidden(frame, by, [c for c in arguments["columns"] if c not in arguments["categorical"]],
                                  dark, min_cell)
    untested |= {c for c, hidden in summaries.items() if hidden}
    header = raw.columns[0][0]
    table = raw[header]
    present = [g for g in groups if g in table.columns]
    present += [g for g in table.columns if g not in groups and g not in ("Overall", "P-Value", "Test")]
    one_arm = by == "arm" and len(present) == 1   # one arm: its column is the overall one, shown once
    if one_arm:
        present = []
    columns = ["Overall", *present, *[c for c in ("P-Value", "Test") if c in table.columns]]
    shown_as = {**{g: labels.group(g) for g in present}, "P-Value": "p"}
    table = table[columns].rename(columns=shown_as)
    names = {ROW_NAMES[c]: c for c in arguments["columns"]}
    rows = []
    marker = marker.fresh() if marker is not None and marker.active else None
    for (variable, level), values in table.iterrows():
        column = next((c for name, c in names.items() if variable.startswith(name)), None)
        first = not rows or rows[-1]["_variable"] != variable
        defines = column is not None and _defines_groups(frame, column, by)
        row = {"_variable": variable, "Characteristic": variable if first else "",
               "": LEVELS.get(level, str(level).replace("+", " + ")), **values.to_dict()}
        for g in ["Overall", *present]:
            if g in dark or (column, str(level), g) in dark_cells or g in summaries.get(column, ()):
                row[shown_as.get(g, g)] = disclosure.HIDDEN
        if column in untested and "p" in row and row["p"]:
            row["p"], row["Test"] = disclosure.HIDDEN, ""
        if defines and "p" in row:
            row["p"], row["Test"] = "", "defines the groups: not tested" if first else ""
        if str(row.get("Test", "")).endswith(WARNING):
            row["Test"] = row["Test"][: -len(WARNING)] + "*"
        if marker:
            row["Provenance"] = _provenance(marker, frame, by, present, column) if first else ""
        rows.append(row)
    frame_rows = pd.DataFrame(rows)
    if "Test" in frame_rows and len(present) == 2:     # a 2 x 2 table: scipy's chi-squared applies Yates' correction
        two = frame_rows.groupby("_variable")["_variable"].transform("size") == 2
        frame_rows.loc[two & frame_rows["Test"].isin(["Chi-squared", "Chi-squared*"]), "Test"] = \
            frame_rows["Test"].str.replace("Chi-squared", "Chi-squared (Yates)", regex=False)
        frame_rows = _class_v(frame_rows, frame, by, present, shown_as, dark, dark_cells, min_cell)
    shown = _guard(frame_rows.drop(columns="_variable"), min_cell)
    sizes = {g: int((frame[by] == g).sum()) for g in present}
    shown = shown.rename(columns={shown_as.get(g, g): f"{shown_as.get(g, g)} (N = {sizes[g]})" for g in present
                                  if g not in dark} | ({"Overall": f"Overall (N = {len(frame)})"}
                                                      if "Overall" not in dark and not one_arm else {}))
    notes = ["Mean (SD) or median [Q1, Q3]; n (%). p: the test named beside it (tableone); * an expected "
             "count below 5, so the chi-squared approximation may be poor."] if not one_arm else \
        ["Mean (SD) or median [Q1, Q3]; n (%). One arm: all patients, no between-arm test."]
    if one_arm:
        shown = shown.rename(columns={"Overall": f"{labels.group('all')} (N = {len(frame)})"})
    shown = _spaced(shown)
    if min_cell > 0 and shown.isin([disclosure.HIDDEN]).any().any():
        notes.append(disclosure.hidden_note(min_cell))
    return tables.Table(shown, notes + (marker.footnotes() if marker else []))


CLASS_V = "ISN/RPS class V vs other, n (%)"
QUARTILES = re.compile(r"\[([^\[\],]+),([^\[\],]+)\]")


def _spaced(shown: pd.DataFrame) -> pd.DataFrame:
    """tableone's '[1.2,4.0]' and '[Q1,Q3]' as '[1.2, 4.0]' and '[Q1, Q3]': the usual print, and a place to wrap
    (a narrow column breaks between the quartiles, not inside a number)."""
    def space(value):
        return QUARTILES.sub(r"[\1, \2]", value) if isinstance(value, str) else value
    return shown.apply(lambda column: column.map(space))


def _class_v(rows: pd.DataFrame, frame: pd.DataFrame, by: str, groups: list[str], shown_as: dict, dark: set,
             dark_cells: set, min_cell: int) -> pd.DataFrame:
    """After the ISN/RPS class rows, class V against every other class with its own test (as a paper that
    reports 'a higher prevalence of class V' compares it), hidden where a count of it is hidden."""
    import scipy.stats as sps
    if "isn_class" not in frame or not frame["isn_class"].eq("V").any() or frame["isn_class"].nunique() < 3:
        return rows
    where = rows.index[rows["_variable"].str.startswith(ROW_NAMES["isn_class"])]
    if not len(where):
        return rows
    is_v = frame["isn_class"].eq("V")
    counts = {g: (int(is_v[frame[by] == g].sum()), int((frame[by] == g).sum())) for g in groups}
    hidden = any(g in dark or ("isn_class", "V", g) in dark_cells or disclosure.share_hidden(k, n, min_cell)
                 for g, (k, n) in counts.items())
    table = [[k, n - k] for k, n in counts.values()]
    p = float(sps.chi2_contingency(table, correction=True)[1])
    row = {"_variable": CLASS_V, "Characteristic": CLASS_V, "": "V",
           "Overall": disclosure.HIDDEN if hidden else f"{int(is_v.sum())} ({100 * is_v.mean():.1f})",
           **{shown_as.get(g, g): disclosure.HIDDEN if hidden else f"{k} ({100 * k / n:.1f})"
              for g, (k, n) in counts.items()},
           "p": disclosure.HIDDEN if hidden else tables.format_p(p), "Test": "" if hidden else "Chi-squared (Yates)"}
    if "Provenance" in rows:
        row["Provenance"] = ""
    at = where[-1] + 1
    return pd.concat([rows.iloc[:at], pd.DataFrame([row]), rows.iloc[at:]], ignore_index=True)


def grouping(cohort) -> str:
    """How Table 1 splits a cohort: by arm when it has two or more, else by group before the switch."""
    return table_grouping(cohort.patients)


def _summaries_hidden(frame: pd.DataFrame, by: str, continuous: list[str], dark: set, min_cell: int) -> dict:
    """Per continuous variable of Table 1, the groups ('Overall' among them) whose summary is hidden: fewer than
    min_cell values, one patient dominating, the complements (disclosure.summary_hidden); for a median and
    quartiles (SKEWED), also fewer than disclosure.QUARTILES * min_cell values."""
    out = {}
    for column in continuous:
        split = {"Overall": frame[column], **{g: part[column] for g, part in frame.groupby(by)}}
        out[column] = disclosure.summary_hidden(split, min_cell, "Overall", dark)
        if column in SKEWED:
            out[column] |= {g for g, values in split.items() if disclosure.quartiles_hidden(values, min_cell)}
    return out


def describe(cohort, study: str, marker=None, window: int = WINDOW, min_cell: int = 0) -> tables.Table:
    """Table 1 of a study: by arm or by group (`grouping`), in the study file's order when there is one."""
    by = grouping(cohort)
    pub = published.load(study) if (PUBLISHED_DIR / f"{study}.yaml").exists() else None
    order = (pub.arms if by == "arm" else pub.subgroups) if pub else []
    return table_one_view(cohort, by, order, marker, window, min_cell)


def follow_up_figure(cohorts: dict, timepoints: dict | None = None, window: int = WINDOW, min_cell: int = 0):
    """Patients evaluated at each timepoint, per arm, one panel per study with two arms and known
    timepoints (its study file's, or `timepoints`); a figure that says so when no study has both."""
    panels = []
    for study, cohort in cohorts.items():
        pub = published.load(study) if (PUBLISHED_DIR / f"{study}.yaml").exists() else None
        points = followed_to(cohort, timepoints or (pub.timepoints if pub else {}), window)   # none past follow-up
        if grouping(cohort) != "arm" or cohort.patients["arm"].nunique() < 2 or not points:
            continue
        sizes = cohort.patients["arm"].value_counts().to_dict()
        summary = disclosure.responses(classify(cohort, points, window), "arm", min_cell)
        dark = disclosure.dark_groups(cohort.patients, "arm", min_cell)
        arms = [a for a in (pub.arms if pub else sorted(sizes)) if a in sizes and a not in dark]
        panels.append((pub.title if pub else study, summary, arms, points, sizes))
    return figures.evaluated_over_time(panels, min_cell)


def _defines_groups(frame: pd.DataFrame, column: str, by: str) -> bool:
    if column == "age" or frame[column].dtype.kind in "if":
        return False
    return bool((pd.crosstab(frame[column], frame[by]).gt(0).sum(axis=1) == 1).all())


def _provenance(marker, frame: pd.DataFrame, by: str, groups: list[str], column: str | None) -> str:
    """'✓ 12.3 ± 4.5 (paper)' for a published variable, '† age' for an assumed one."""
    parts = []
    unions = sorted({n.group for n in marker.pub.numbers if "+" in n.group}) if column is None else []
    for group in ["all", *groups, *unions]:
        rows = frame if group == "all" else frame[frame[by].isin(group.split("+"))]
        name = "" if group == "all" else labels.group(group) + " "
        if column is None:                                     # the n row
            measure, shown = "n_patients", [("count", len(rows))]
        elif column == "sex":
            measure, shown = "female", [("percent", 100 * rows["sex"].eq("F").mean())]
        elif column == "maintenance":
            measure, shown = "tacrolimus_monotherapy", [("count", int(rows["maintenance"].eq("tacrolimus").sum()))]
        elif column in PUBLISHED_AS:
            values = rows[column].dropna()
            measure, shown = PUBLISHED_AS[column], [("mean", values.mean()), ("sd", values.std(ddof=1))]
        else:
            break
        timepoint = "baseline" if measure in ("age", "upcr", "egfr") else None
        unit = "%" if measure == "female" else ""
        found = [marker.published_value(measure, statistic, group, None, timepoint, unit) for statistic, _ in shown]
        if not all(found):
            continue
        if column in SKEWED:   # the table shows a median [Q1, Q3]: no mark vouches for a mean it does not show
            parts.append(f"{name.strip() + ': ' if name else ''}published as mean ± SD, "
                         f"{' ± '.join(v for v, _ in found)} ({found[0][1]}); not comparable with the median shown")
            continue
        marks = "".join(marker.mark(value, measure, statistic, group, None, timepoint) for statistic, value in shown)
        mark = "≠" if "≠" in marks else marks.strip().split(" ")[0]
        what = "tacrolimus alone " if measure == "tacrolimus_monotherapy" else ""
        parts.append(f"{name.strip() + ': ' if name else ''}{what}{mark} {' ± '.join(v for v, _ in found)} "
                     f"({found[0][1]})")
    if parts:
        return "; ".join(parts)
    measure = {"sex": "female", "upcr_g_g": "upcr", "creatinine_mg_dl": "creatinine", "albumin_g_dl": "albumin",
               "c3_mg_dl": "c3", "c4_mg_dl": "c4", "anti_dsdna_iu_ml": "anti_dsdna"}.get(column, column or "n_patients")
    return marker.unpublished(measure).strip() + " not published"


def _guard(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Last line of defence: any count cell ('3 (1.7)', or a bare '3') still below min_cell is hidden."""
    def cell(value):
        match = re.fullmatch(r"(\d+)( \(.*\))?", str(value).strip())
        return disclosure.HIDDEN if match and disclosure.small(int(match.group(1)), min_cell) else value
    return table.map(cell) if min_cell > 0 else table


def cohort_rows(study: str, patients: pd.DataFrame, by: str, min_cell: int = 0) -> list[dict]:
    """Size, sex, age and tacrolimus monotherapy, overall and per group; also the size of every
    union of groups ('none+partial'), which a source may report (study B's 12 refractory patients).
    With min_cell > 0, each number is hidden exactly where Table 1 hides it (disclosure.table_hidden
    for the counts, summary_hidden for the age), and unions are left out (they would give a hidden
    group by subtraction)."""
    rows = []
    parts = groups(patients, by)
    labels = [g for g, _ in parts[1:]]
    dark, cells, _ = disclosure.table_hidden(patients, by, ["sex", "maintenance"], min_cell)
    ages = {"Overall": patients["age"], **{g: part["age"] for g, part in parts[1:]}}
    no_age = disclosure.summary_hidden(ages, min_cell, "Overall", dark)
    named = {"all": "Overall"}
    for size in range(2, len(labels)) if len(labels) <= 5 and min_cell <= 0 else ():
        for combo in itertools.combinations(labels, size):
            n = int(members(patients, "+".join(combo), by).sum())
            rows.append(results.row(study, "n_patients", "count", n, group="+".join(combo), detail=f"{n} patients"))
    for group, part in parts:
        n, g = len(part), named.get(group, group)
        if g in dark:
            rows += [results.row(study, measure, statistic, math.nan, group=group, detail=disclosure.HIDDEN,
                                 timepoint="baseline" if measure == "age" else None)
                     for measure, statistic in (("n_patients", "count"), ("female", "percent"), ("age", "mean"),
                                                ("age", "sd"))]
            continue
        female = int(part["sex"].eq("F").sum())
        shown = ("sex", "F", g) not in cells and not disclosure.share_hidden(female, n, min_cell)
        aged = g not in no_age
        rows += [
            results.row(study, "n_patients", "count", n, group=group, detail=f"{n} patients"),
            results.row(study, "female", "percent", 100 * female / n if shown else math.nan, group=group,
                        detail=f"{female}/{n}" if shown else disclosure.HIDDEN),
            results.row(study, "age", "mean", part["age"].mean() if aged else math.nan, group=group,
                        timepoint="baseline", detail=f"n = {n}" if aged else disclosure.HIDDEN),
            results.row(study, "age", "sd", part["age"].std(ddof=1) if aged else math.nan, group=group,
                        timepoint="baseline", detail=f"n = {n}" if aged else disclosure.HIDDEN),
        ]
        mono = int(part["maintenance"].eq("tacrolimus").sum())
        if mono and ("maintenance", "tacrolimus", g) not in cells and not disclosure.share_hidden(mono, n, min_cell):
            rows += [results.row(study, "tacrolimus_monotherapy", "count", mono, group=group, detail=f"{mono}/{n}"),
                     results.row(study, "tacrolimus_monotherapy", "percent", 100 * mono / n, group=group,
                                 detail=f"{mono}/{n}")]
    return rows


def table_rows(study: str, patients: pd.DataFrame, by: str, min_cell: int = 0) -> list[dict]:
    """Table 1's count of each level of each categorical variable, per group and overall, as result rows (measure
    'table1:<column>', the level as outcome), hidden where Table 1 hides it (disclosure.table_hidden): every count
    the chapter shows is in its result file."""
    columns = [c for c in CATEGORICAL if c != by and c in patients and patients[c].notna().any()]
    dark, cells, _ = disclosure.table_hidden(patients, by, columns, min_cell)
    rows = []
    for column in columns:
        levels = sorted(patients[column].dropna().astype(str).unique())
        for group, part in groups(patients, by):
            g = "Overall" if group == "all" else group
            values = part[column].dropna().astype(str)
            for level in levels:
                k, hidden = int((values == level).sum()), g in dark or (column, level, g) in cells
                rows.append(results.row(study, f"table1:{column}", "count", math.nan if hidden else k, group=group,
                                        outcome=level, detail=disclosure.HIDDEN if hidden else f"{k} of {len(part)}"))
    return rows


def rows(study: str, cohort, pub=None, window: int = WINDOW, min_cell: int = 0) -> list[dict]:
    """The chapter's result rows: the cohort's size, sex, age and monotherapy per group (`cohort_rows`), Table 1's
    counts (`table_rows`), and, given the study file `pub`, its statements about the baseline tested on the rows
    (compare.claims) and every other published number about the baseline the rows can give (compare.numbers;
    not with min_cell > 0: those numbers are not protected by disclosure control)."""
    out = cohort_rows(study, cohort.patients, grouping(cohort), min_cell) + \
        table_rows(study, cohort.patients, grouping(cohort), min_cell) + \
        claims.rows(pub, cohort, None, window, ["baseline"])
    return out + (numbers.rows(pub, cohort, None, window, ["baseline"], out) if min_cell <= 0 else [])
