"""Analyses by group before baseline (study B: the response to the prior induction, or a flare
after a complete response): response and lab changes, overall and per group."""
from __future__ import annotations

import math

import pandas as pd

from helpers import labels
from helpers.chapters.response import response_rows
from helpers.cohort.response import WINDOW, Criteria, classify
from helpers.compare import numbers, results
from helpers.methods import disclosure
from helpers.methods.stats import paired_change
from helpers.present import tables
from helpers.present.figures import lab_label

PUBLISHED_LABS = {m: labels.LAB_COLUMNS[m] for m in ("upcr", "egfr")}   # the labs a source may publish by group


def members(frame: pd.DataFrame, group: str, by: str) -> pd.Series:
    """Rows of `frame` in `group`: 'all', a value of column `by`, or several joined by '+'."""
    if group == "all":
        return pd.Series(True, index=frame.index)
    return frame[by].isin(group.split("+"))


def groups(frame: pd.DataFrame, by: str) -> list[tuple[str, pd.DataFrame]]:
    """('all', every row) followed by one (name, rows) per value of `by`, in sorted order."""
    return [("all", frame)] + [(g, part) for g, part in frame.groupby(by, sort=True)]


def response_by_group(at_tp: pd.DataFrame, by: str = "prior_response", min_cell: int = 0) -> pd.DataFrame:
    """response.summarise for everyone and per group, with a `group` column (the timepoints of `at_tp`
    only); with min_cell > 0, the counts the book hides are NaN (disclosure.responses: one decision over
    every group the book shows, the arms of chapter 02 included)."""
    return disclosure.responses(at_tp, by, min_cell, with_all=True)


def lab_hidden(at_tp: pd.DataFrame, by: str = "prior_response", min_cell: int = 0) -> dict[str, dict[str, set]]:
    """Per lab column, the groups whose statistics of it are hidden at this timepoint, at baseline, later and for
    the paired change (disclosure.values_hidden; the figure asks the same)."""
    return {column: disclosure.values_hidden(at_tp, by, column, min_cell) for column in PUBLISHED_LABS.values()}


def by_timepoint(classified: pd.DataFrame, timepoints) -> dict[str, pd.DataFrame]:
    """The classified rows of each timepoint."""
    return {tp: classified[classified["timepoint"] == tp] for tp in timepoints}


def group_rows(study: str, classified: pd.DataFrame, timepoints, min_cell: int = 0) -> list[dict]:
    """Response by group and lab means and SDs at each timepoint (a study's subgroups)."""
    rows = []
    for tp, at_tp in by_timepoint(classified, timepoints).items():
        rows += response_rows(study, response_by_group(at_tp, min_cell=min_cell), by="group")
        rows += lab_rows(study, at_tp, tp, min_cell=min_cell)
    return rows


def lab_rows(study: str, at_tp: pd.DataFrame, timepoint: str, by: str = "prior_response",
             min_cell: int = 0) -> list[dict]:
    """Mean and SD of each lab at baseline and at the timepoint, per group, as result rows
    (a hidden group, lab_hidden, gives no value)."""
    rows = []
    hidden = lab_hidden(at_tp, by, min_cell)
    for measure, column in PUBLISHED_LABS.items():
        for group, part in groups(at_tp, by):
            for when, values in (("baseline", part[f"baseline_{column}"]), (timepoint, part[column])):
                concealed = group in hidden[column]["baseline" if when == "baseline" else "later"]
                values = values.dropna()
                for statistic, value in (("mean", values.mean()), ("sd", values.std(ddof=1))):
                    rows.append(results.row(study, measure, statistic, math.nan if concealed else value,
                                            group=group, timepoint=when,
                                            detail=disclosure.HIDDEN if concealed else f"n = {len(values)}"))
            changes = (part[column] - part[f"baseline_{column}"]).dropna()
            concealed = group in hidden[column]["change"]
            rows.append(results.row(study, measure, "mean_change", math.nan if concealed else changes.mean(),
                                    group=group, timepoint=timepoint,
                                    detail=disclosure.HIDDEN if concealed else f"n = {len(changes)}"))
    return rows


def _ordered(names, order) -> list[str]:
    """'all' first, then the groups in the study file's order, then any others."""
    names = list(names)
    return ["all", *[g for g in order if g in names], *[g for g in names if g != "all" and g not in order]]


def table_grouping(patients: pd.DataFrame) -> str:
    """How Table 1 splits a cohort: by arm when it has two or more, else by group before the switch."""
    if patients["arm"].nunique() >= 2 or not patients["prior_response"].notna().any():
        return "arm"
    return "prior_response"


def overall_hidden(patients: pd.DataFrame, min_cell: int) -> tuple[bool, bool, bool]:
    """Whether the whole cohort's size, its female count and its age are hidden, as Table 1 hides them
    (the same decisions: disclosure.table_hidden, summary_hidden, by `table_grouping`)."""
    by = table_grouping(patients)
    dark, cells, _ = disclosure.table_hidden(patients, by, ["sex"], min_cell)
    ages = {"Overall": patients["age"], **{g: part["age"] for g, part in patients.groupby(by)}}
    age = "Overall" in disclosure.summary_hidden(ages, min_cell, "Overall", dark)
    return "Overall" in dark, "Overall" in dark or ("sex", "F", "Overall") in cells, age


def cohort_view(patients: pd.DataFrame, marker=None, min_cell: int = 0) -> tables.Table:
    """Size, age and sex of the whole cohort, with the published values and marks (each hidden where
    Table 1 hides it: `overall_hidden`)."""
    marker = marker.fresh() if marker is not None and marker.active else None
    n, age = len(patients), patients["age"]
    female = int((patients["sex"] == "F").sum())
    tiny, no_female, no_age = overall_hidden(patients, min_cell)
    rows = [("Patients", disclosure.HIDDEN if tiny else str(n),
             marker.mark(n, "n_patients", "count") if marker else ""),
            ("Age, years, mean ± SD", disclosure.HIDDEN if no_age else tables.mean_sd(age, min_cell=min_cell),
             marker.mark_mean_sd(age.mean(), age.std(ddof=1), "age", "all", "baseline") if marker else ""),
            ("Female, n/N (%)", disclosure.HIDDEN if no_female else tables.n_of_N(female, n, min_cell=min_cell),
             marker.mark(100 * female / n, "female", "percent") if marker and n else "")]
    if marker:
        marker.published_value("n_patients", "count")           # notes another source's different count
    frame = pd.DataFrame({"": [r[0] for r in rows], "Value": [r[1] + r[2] for r in rows]})
    return tables.Table(frame, marker.footnotes() if marker else [])


def response_table(by_group: pd.DataFrame, order=(), marker=None, timepoint: str | None = None,
                  min_cell: int = 0) -> tables.Table:
    """CR, PR and overall response, n/N (%), for everyone and per group, with marks (counts hidden
    upstream, NaN, read 'suppressed': response_by_group)."""
    marker = marker.fresh() if marker is not None and marker.active else None
    table = by_group.set_index("group")
    rows = []
    for group in _ordered(table.index, order):
        r = table.loc[group]
        n = r["n"]
        row = {"Group": labels.group(group), "Evaluated": disclosure.cells_text(n)}
        for outcome in ("CR", "PR", "overall"):
            k = r[outcome]
            cell = tables.n_of_N(k, n, min_cell=min_cell)
            if marker and n and not disclosure.share_hidden(k, n, min_cell):
                cell += marker.mark(100 * k / n, "response", "percent", group, outcome, timepoint)
            row[f"{labels.OUTCOMES[outcome]}, n/N (%)"] = cell
        rows.append(row)
    return tables.Table(pd.DataFrame(rows), marker.footnotes() if marker else [])


def lab_changes(at_tp: pd.DataFrame, by: str = "prior_response", test: str = "paired_t", min_cell: int = 0,
                after: str = "24 weeks", order=(), marker=None, timepoint: str | None = None) -> tables.Table:
    """Per lab and group: mean ± SD at baseline and after (each over everyone measured then, with
    marks), the mean paired change with its 95% CI over the patients measured at both, and its test."""
    marker = marker.fresh() if marker is not None and marker.active else None
    parts = dict(groups(at_tp, by))
    concealed = lab_hidden(at_tp, by, min_cell)
    rows, tests = [], set()
    for measure, column in PUBLISHED_LABS.items():
        for group in _ordered(parts, order):
            part = parts[group]
            before, later = part[f"baseline_{column}"], part[column]
            result = paired_change(before, later, test)
            hidden = group in concealed[column]["change"]
            cells = {}
            for label, values, when, which in (("Baseline", before, "baseline", "baseline"),
                                               (after, later, timepoint, "later")):
                values = values.dropna()
                gone = group in concealed[column][which]
                cell = disclosure.HIDDEN if gone else f"{tables.mean_sd(values, 2)} ({len(values)})"
                if marker and len(values) > 1 and not gone:
                    cell += marker.mark_mean_sd(values.mean(), values.std(ddof=1), measure, group, when)
                cells[f"{label}, mean ± SD (n)"] = cell
            if not hidden:
                tests.add(result["test"])
            if hidden:
                change = disclosure.HIDDEN
            elif result["ci_low"] == result["ci_low"]:
                estimate = tables.interval(result["mean_change"], result["ci_low"], result["ci_high"], 2)
                change = f"{estimate} ({result['n']})"
            else:
                change = f"not estimable ({result['n']})"
            paired = " †" if marker and not hidden and result["n"] else ""
            rows.append({"Lab": lab_label(column), "Group": labels.group(group), **cells,
                         "Change, mean (95% CI) (n)": change + paired,
                         "p": disclosure.HIDDEN if hidden else tables.format_p(result["p"]) + paired})
    notes = [f"p: {', '.join(sorted(tests)) or 'none shown'} (pingouin), on the patients measured at both visits; "
             f"the change's 95% CI from the t distribution. Baseline and {after} means use everyone measured then."]
    if marker:
        notes += marker.footnotes() + [PAIRING]
    return tables.Table(pd.DataFrame(rows), notes)


PAIRING = ("† Change and p: no source gives each patient's pair of values, only the means and SDs at each visit, so "
           "which baseline goes with which later value is an assumption of the reconstruction (the patient model); "
           "the sources pin the mean change of a group measured at both visits, not its CI or its p.")


def rows(study: str, cohort, timepoints: dict[str, int], window: int = WINDOW, criteria: Criteria | None = None,
         missing: str = "complete_case", min_cell: int = 0, pub=None) -> list[dict]:
    """The chapter's result rows: response by group and lab means and SDs at each timepoint, and, given the
    study file `pub`, every other published number about the response or later labs the rows can give
    (compare.numbers; not with min_cell > 0)."""
    classified = classify(cohort, timepoints, window, criteria or Criteria(), missing)
    out = group_rows(study, classified, timepoints, min_cell)
    return out + (numbers.rows(pub, cohort, criteria, window, ["followup"], out) if min_cell <= 0 else [])
