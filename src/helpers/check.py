"""Every published number beside the same number recomputed from patient-level rows.

The recomputation uses the code the notebooks use (helpers.response for the
response, helpers.stats for the tests, plain pandas for the rest); the published
value only enters the `published` column and the match test.
"""
from __future__ import annotations

import itertools

import pandas as pd

from . import published
from .consistency import percent_counts, rounds_to
from .data import Cohort
from .events import POOR_OUTCOME, time_to_event
from .response import Criteria, baseline_labs, classify, summarise
from .stats import PROPORTION_TESTS, compare_proportions, logrank

WINDOW = 45  # days; the default visit window of the notebooks


def members(patients: pd.DataFrame, group: str, pub: published.Study) -> pd.Series:
    """Boolean mask of the patients in `group` ('all', an arm, or a prior-response subgroup)."""
    if group == "all":
        return pd.Series(True, index=patients.index)
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


def p_value_reachable(pub: published.Study, n: published.Number) -> list[str] | None:
    """Which standard tests, on which counts consistent with the published percentages
    (GRIM; between half the arm size and the arm size), give the published p-value at its
    rounding, closest first.
    None when the percentages behind the p-value are not published."""
    sizes = {x.group: int(x.value) for x in pub.numbers if x.measure == "n_patients" and x.group in pub.arms}
    percents = [{x.source: x for x in pub.numbers if x.measure == "response" and x.statistic == "percent"
                 and x.timepoint == n.timepoint and x.outcome == n.outcome and x.group == arm}.get(n.source)
                for arm in pub.arms]
    if None in percents:
        return None
    options = [[(k, m) for m in range(sizes[arm] // 2, sizes[arm] + 1) for k in percent_counts(x.value, x.decimals, m)]
               for arm, x in zip(pub.arms, percents)]
    hits = []
    for (k1, n1), (k2, n2) in itertools.product(*options):
        for test in PROPORTION_TESTS:
            p = compare_proportions(k1, n1, k2, n2, test)["p"]
            if rounds_to(p, n.value, n.decimals):
                hits.append((abs(p - n.value), f"{PROPORTION_TESTS[test]} on {k1}/{n1} vs {k2}/{n2} (p = {p:.4f})"))
    return [text for _, text in sorted(hits)]


def compare(pub: published.Study, cohort: Cohort, criteria: Criteria | None = None,
            window: int = WINDOW) -> pd.DataFrame:
    """One row per published number: published, recomputed from the rows, match, reason."""
    recompute = Recomputer(pub, cohort, criteria, window)
    reasons = {i: r.why for r in pub.resolutions for i in r.sets_aside}
    constructed = {i: a for a in pub.assumptions for i in a.by_construction}
    rows = []
    for n in pub.numbers:
        got = recompute.number(n)
        value = got["value"]
        match = value == value and rounds_to(value, n.value, n.decimals)  # NaN never matches
        reason, note = "", ""
        if n.id in constructed:
            note = f"by construction: {constructed[n.id].what}"
        if not match:
            reason = reasons.get(n.id, "")
            if n.statistic == "p_value":
                a_row, b_row = got["detail"].split(" vs ")
                others = []
                for test in ("yates", "fisher"):
                    (k1, n1), (k2, n2) = (map(int, s.split("/")) for s in (a_row, b_row))
                    others.append(f"{PROPORTION_TESTS[test]} {compare_proportions(k1, n1, k2, n2, test)['p']:.3f}")
                reachable = p_value_reachable(pub, n)
                if reachable is None:
                    verdict = "The percentages behind it are not published."
                elif reachable:
                    verdict = "It is reached by " + "; ".join(reachable[:3]) + "."
                else:
                    verdict = ("No Pearson, Yates or Fisher test on any counts consistent with the published "
                               "percentages gives it.")
                reason = f"On the same counts: {', '.join(others)}. {verdict}" + (f" {reason}" if reason else "")
            elif not reason:
                reason = "differs from the published value (no documented reason)"
        rows.append({
            "study": pub.study, "id": n.id, "source": n.source, "measure": n.measure, "outcome": n.outcome,
            "timepoint": n.timepoint, "group": n.group, "statistic": n.statistic,
            "published": n.value, "decimals": n.decimals,
            "recomputed": round(value, n.decimals + 3) if value == value else value,
            "from_rows": got["detail"], "test": got.get("test", ""), "match": bool(match),
            "note": note, "reason": reason,
        })
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame) -> str:
    """The check's table for a terminal: one line per published number."""
    def shown(row):
        v = row["recomputed"]
        return "n/a" if v != v else f"{v:.{row['decimals']}f}"

    view = pd.DataFrame({
        "id": table["id"],
        "published": [f"{v:.{d}f}" for v, d in zip(table["published"], table["decimals"])],
        "from rows": [shown(r) for _, r in table.iterrows()],
        "counts": table["from_rows"],
        "match": table["match"].map({True: "yes", False: "NO"}),
        "test": table["test"],
    })
    return view.to_string(index=False)
