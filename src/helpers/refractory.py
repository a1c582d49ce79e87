"""Study B's analyses: response and lab changes overall and by response to prior induction."""
from __future__ import annotations

import pandas as pd

from . import results, tables
from .figures import lab_label
from .response import summarise
from .stats import paired_change

LABS = {"upcr": "upcr_g_g", "egfr": "egfr"}   # result-table measure -> lab column


def groups(at_tp: pd.DataFrame, by: str = "prior_response") -> list[tuple[str, pd.DataFrame]]:
    """('all', every row) followed by one (name, rows) per value of `by`."""
    return [("all", at_tp)] + list(at_tp.groupby(by))


def response_by_group(at_tp: pd.DataFrame, by: str = "prior_response") -> pd.DataFrame:
    """response.summarise for everyone and per group, with a `group` column."""
    parts = [summarise(rows.assign(group=name), by="group") for name, rows in groups(at_tp, by)]
    return pd.concat(parts, ignore_index=True)


def response_display(by_group: pd.DataFrame, min_cell: int = 0) -> pd.DataFrame:
    """CR, PR and overall n/N (%) per group."""
    shown = {f"{o} n/N (%)": [tables.n_of_N(k, n, min_cell=min_cell) for k, n in zip(by_group[o], by_group["n"])]
             for o in ("CR", "PR", "overall")}
    return pd.DataFrame(shown, index=pd.Index(by_group["group"], name="group before the switch"))


def lab_changes(at_tp: pd.DataFrame, by: str = "prior_response", test: str = "paired_t", min_cell: int = 0,
                after: str = "24 weeks") -> pd.DataFrame:
    """Per lab and group: mean ± SD at baseline and after (each over everyone measured then),
    the paired change over patients measured at both, and its test."""
    rows = []
    for column in LABS.values():
        for group, part in groups(at_tp, by):
            before, later = part[f"baseline_{column}"], part[column]
            result = paired_change(before, later, test)
            hidden = 0 < result["n"] < min_cell
            rows.append({
                "lab": lab_label(column), "group": group,
                "baseline, mean ± SD (n)": f"{tables.mean_sd(before, 2, min_cell)} ({before.notna().sum()})",
                f"{after}, mean ± SD (n)": f"{tables.mean_sd(later, 2, min_cell)} ({later.notna().sum()})",
                "paired change, mean ± SD (n)": f"suppressed (n < {min_cell})" if hidden else
                f"{result['mean_change']:.2f} ± {result['sd_change']:.2f} ({result['n']})",
                "p": "suppressed" if hidden else tables.format_p(result["p"]),
                "test": result["test"], "note": result["note"]})
    return pd.DataFrame(rows).set_index(["lab", "group"])


def lab_rows(study: str, at_tp: pd.DataFrame, timepoint: str, by: str = "prior_response",
             min_cell: int = 0) -> list[dict]:
    """Mean and SD of each lab at baseline and at the timepoint, per group, as result rows
    (a group of fewer than min_cell patients gives no value)."""
    rows = []
    for measure, column in LABS.items():
        for group, part in groups(at_tp, by):
            for when, values in (("baseline", part[f"baseline_{column}"]), (timepoint, part[column])):
                values = values.dropna()
                hidden = 0 < len(values) < min_cell
                for statistic, value in (("mean", values.mean()), ("sd", values.std(ddof=1))):
                    rows.append(results.row(study, measure, statistic, float("nan") if hidden else value,
                                            group=group, timepoint=when, detail=f"n = {len(values)}"))
    return rows
