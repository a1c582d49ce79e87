"""Every published number beside the same number recomputed from patient-level rows.

The recomputation uses the code the notebooks use (helpers.response for the
response, helpers.stats for the tests, plain pandas for the rest); the published
value only enters the `published` column and the match test.
"""
from __future__ import annotations

import pandas as pd

from . import provenance, published, scorecard
from .data import Cohort
from .events import POOR_OUTCOME, time_to_event
from .response import WINDOW, Criteria, baseline_labs, classify, summarise
from .stats import compare_proportions, logrank



def members(patients: pd.DataFrame, group: str, pub: published.Study) -> pd.Series:
    """Boolean mask of the patients in `group` ('all', an arm, a prior-response subgroup, or
    several joined by '+')."""
    if group == "all":
        return pd.Series(True, index=patients.index)
    if "+" in group:
        return pd.concat([members(patients, part, pub) for part in group.split("+")], axis=1).any(axis=1)
    if group in pub.arms:
        return patients["arm"] == group
    if group in pub.subgroups:
        return patients["prior_response"] == group
    raise ValueError(f"unknown group {group!r}")


class Recomputer:
    """Recomputes published numbers from one cohort, caching the response classification."""

    def __init__(self, pub: published.Study, cohort: Cohort, criteria: Criteria | None = None,
                 window: int = WINDOW):
        self.pub, self.cohort, self.window = pub, cohort, window
        self.classified = classify(cohort, pub.timepoints, window, criteria or Criteria())

    def response_counts(self, timepoint: str, group: str) -> pd.Series:
        rows = self.classified[(self.classified["timepoint"] == timepoint)
                               & members(self.classified, group, self.pub).to_numpy()]
        table = summarise(rows.assign(group=group), by="group")
        return table[table["timepoint"] == timepoint].iloc[0]

    def lab_values(self, lab: str, timepoint: str, group: str) -> pd.Series:
        mask = members(self.cohort.patients, group, self.pub)
        ids = self.cohort.patients.loc[mask, "patient_id"]
        if timepoint == "baseline":
            return baseline_labs(self.cohort.labs, self.window)[lab].reindex(ids).dropna()
        rows = self.classified[(self.classified["timepoint"] == timepoint)
                               & self.classified["patient_id"].isin(ids)]
        return rows[lab].dropna()

    def number(self, n: published.Number) -> dict:
        """{value, detail, test} for one published number."""
        p = self.cohort.patients
        if n.measure == "n_patients":
            return {"value": float(members(p, n.group, self.pub).sum()), "detail": "patients.csv rows"}
        if n.measure in ("female", "tacrolimus_monotherapy"):
            group = p[members(p, n.group, self.pub)]
            hit = group["sex"].eq("F") if n.measure == "female" else group["maintenance"].eq("tacrolimus")
            k, total = int(hit.sum()), len(group)
            value = k if n.statistic == "count" else 100 * k / total
            return {"value": float(value), "detail": f"{k}/{total}"}
        if n.measure in ("age", "upcr", "egfr"):
            column = {"age": None, "upcr": "upcr_g_g", "egfr": "egfr"}[n.measure]
            values = p.loc[members(p, n.group, self.pub), "age"] if column is None \
                else self.lab_values(column, n.timepoint, n.group)
            value = values.mean() if n.statistic == "mean" else values.std(ddof=1)
            return {"value": float(value), "detail": f"n = {len(values)}"}
        if n.measure == "response" and n.statistic == "percent":
            row = self.response_counts(n.timepoint, n.group)
            k = int(row[n.outcome])
            return {"value": 100 * k / row["n"], "detail": f"{k}/{row['n']}"}
        if n.measure == "response" and n.statistic == "p_value":
            a, b = (self.response_counts(n.timepoint, arm) for arm in self.pub.arms)
            result = compare_proportions(int(a[n.outcome]), int(a["n"]), int(b[n.outcome]), int(b["n"]))
            detail = f"{a[n.outcome]}/{a['n']} vs {b[n.outcome]}/{b['n']}"
            return {"value": result["p"], "detail": detail, "test": result["test"]}
        if n.measure == "poor_outcome":
            t = time_to_event(self.cohort, POOR_OUTCOME)
            result = logrank(t["days"], t["event"], t["arm"])
            events = t.groupby("arm")["event"].sum()
            detail = " vs ".join(f"{events.get(arm, 0)} events" for arm in self.pub.arms)
            return {"value": result["p"], "detail": detail, "test": result["test"]}
        raise ValueError(f"{n.id}: no recomputation for measure {n.measure!r} / {n.statistic!r}")


def compare(pub: published.Study, cohort: Cohort, criteria: Criteria | None = None,
            window: int = WINDOW) -> pd.DataFrame:
    """One row per published number: published, recomputed from the rows, match, reason.
    The comparison itself is the scorecard's (helpers.scorecard.build), fed from the rows."""
    recompute = Recomputer(pub, cohort, criteria, window)
    rows = []
    for n in pub.numbers:
        got = recompute.number(n)
        rows.append({"study": pub.study, "measure": n.measure, "outcome": n.outcome, "timepoint": n.timepoint,
                     "group": n.group, "statistic": n.statistic, "value": got["value"],
                     "detail": got["detail"], "test": got.get("test", "")})
    card = scorecard.build(pd.DataFrame(rows), [pub])
    return card.assign(recomputed=card["computed"], from_rows=card["detail"],
                       match=card["status"].eq("reproduced"))


def format_table(table: pd.DataFrame) -> str:
    """The check's table for a terminal: one line per published number."""
    def shown(row):
        v = row["recomputed"]
        return "n/a" if v != v else scorecard.shown(v, row["published"], row["decimals"], row["statistic"])

    view = pd.DataFrame({
        "id": table["id"],
        "published": [f"{v:.{d}f}" for v, d in zip(table["published"], table["decimals"])],
        "from rows": [shown(r) for _, r in table.iterrows()],
        "counts": table["from_rows"],
        "match": table["match"].map({True: "yes", False: "NO"}),
        "role": table["role"].map(provenance.LABELS),
        "test": table["test"],
    })
    return view.to_string(index=False)
