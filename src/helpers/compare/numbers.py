"""Any published number, recomputed from the patient-level rows by what it declares: its measure, unit,
statistic, group, timepoint, threshold and the values it counts (helpers.publication.measures).

The chapters compute what they show (Table 1, response by arm, events); `rows` gives, in the result-row
format (helpers.compare.results), every other number of a study file that the rows can give, so that
`reconstruct --check` and the scorecard compare each one: a lab mean in g/L, a share of patients with
eGFR < 60, ISN class III or IV, a disease duration, eGFR by CKD-EPI 2021, a creatinine clearance, a
response as a count, adverse events as events or as patients, an odds ratio, risk ratio, risk difference
or hazard ratio with its 95% CI. `why_not` says, for the others, why no rows in the format can give them.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from helpers.cohort import renal
from helpers.cohort.response import WINDOW, Criteria, baseline_labs, classify
from helpers.compare import results
from helpers.methods.proportions import difference, risk_ratio
from helpers.publication import measures, published
from helpers.publication.measures import EFFECTS, MEASURES, MOMENTS

PARTS = ("baseline", "followup", "events")
EVENTS = {"renal_flare": ("renal_flare",), "poor_outcome": ("esrd", "death"), "esrd": ("esrd",),
          "death": ("death",), "adverse_event": ("adverse_event",)}
DAYS_PER_YEAR = 365.25


def part(n: published.Number) -> str:
    """Which chapter's rows give the number: baseline (Table 1), followup (response) or events (safety)."""
    if MEASURES[n.measure].kind == "event":
        return "events"
    return "followup" if n.measure == "response" or n.timepoint not in (None, "baseline") else "baseline"


def _effect(statistic: str) -> str | None:
    """'odds_ratio' for odds_ratio, odds_ratio_low and odds_ratio_high; None for any other statistic."""
    base = statistic.removesuffix("_low").removesuffix("_high")
    return base if base in EFFECTS else None


def why_not(pub: published.Study, n: published.Number) -> str | None:
    """Why no rows in the patient-level format can give this number (None: they can)."""
    if n.not_expressible:
        return n.not_expressible
    kind = MEASURES[n.measure].kind
    effect = _effect(n.statistic)
    if effect == "hazard_ratio" and kind != "event":
        return "a hazard ratio compares the time to an event; this number is not about an event"
    if effect and effect != "hazard_ratio" and kind not in ("response", "event", "category", "patient") and \
            not n.threshold:
        return f"a {effect.replace('_', ' ')} compares two proportions; this number is not about one"
    compared = n.group.split(" vs ")
    if len(compared) > 1 and not effect and n.statistic not in ("p_value", "logrank_p"):
        return f"a {n.statistic} of the group '{n.group}': only a p-value or an effect size compares groups"
    if n.statistic == "p_value" and not (n.measure == "response" and len(compared) >= 2 and (
            len(compared) == 2 or compared == list(pub.arms))):
        return "the source does not name the test behind this p-value, so the rows cannot recompute it as it did"
    if n.statistic == "logrank_p" and n.measure not in ("poor_outcome", "renal_flare"):
        return "a log-rank p of this event is not among the book's tests"
    if n.measure == "response" and n.statistic in MOMENTS:
        return "a response is a grade, not a value with a mean"
    return None


def _members(patients: pd.DataFrame, group: str) -> pd.Series:
    """Patients of 'all', an arm, a subgroup, or several joined by '+'."""
    if group == "all":
        return pd.Series(True, index=patients.index)
    names = group.split("+")
    return patients["arm"].isin(names) | patients["prior_response"].isin(names)


def _convert(values: pd.Series, n: published.Number) -> pd.Series:
    f = measures.factor(n.measure, n.unit)
    return values * float(f) if f not in (None, 1) else values


def _kidney(measure: str, creatinine, age, sex, weight) -> np.ndarray:
    if measure == "creatinine_clearance":
        return renal.cockcroft_gault(creatinine, age, sex, weight)
    return renal.EQUATIONS[measure](creatinine, age, sex)


class _Rows:
    """The values a number is computed from, prepared once per study."""

    def __init__(self, pub: published.Study, cohort, criteria: Criteria | None, window: int):
        self.pub, self.cohort, self.window = pub, cohort, window
        self.patients = cohort.patients.reset_index(drop=True)
        self.base = baseline_labs(cohort.labs, window)
        self._visits = None
        self.criteria = criteria or published.criteria(pub)

    @property
    def visits(self) -> pd.DataFrame:
        if self._visits is None:
            self._visits = classify(self.cohort, self.pub.timepoints, self.window, self.criteria)
        return self._visits

    def value(self, n: published.Number, frame: pd.DataFrame, at_baseline: bool) -> pd.Series:
        """The measure of each row of `frame` (patients, or visits of one timepoint), in the number's unit."""
        m = MEASURES[n.measure]
        if m.kind == "patient":
            column = self.patients.set_index("patient_id")[m.column] if m.column in self.patients else None
            if column is None:
                return pd.Series(np.nan, index=frame.index)
            return _convert(frame["patient_id"].map(column).astype(float), n)
        if m.kind == "lab":
            if at_baseline:
                column = self.base[m.column] if m.column in self.base else pd.Series(dtype=float)
                return _convert(frame["patient_id"].map(column).astype(float), n)
            return _convert(frame[m.column].astype(float) if m.column in frame else
                            pd.Series(np.nan, index=frame.index), n)
        if n.measure == f"egfr_{self.pub.reconstruction.egfr_equation}":   # the study's recorded eGFR is by it
            return self.value(n.model_copy(update={"measure": "egfr", "unit": None}), frame, at_baseline)
        # kidney function from creatinine, age on the day, sex (and weight)
        info = self.patients.set_index("patient_id")
        ids = frame["patient_id"]
        if at_baseline:
            creatinine = ids.map(self.base["creatinine_mg_dl"]) if "creatinine_mg_dl" in self.base else np.nan
            day = ids.map(self.base["day"]) if "day" in self.base else 0
        else:
            creatinine, day = frame["creatinine_mg_dl"], frame["visit_day"]
        age = ids.map(info["age"]).astype(float) + pd.Series(day, index=frame.index).astype(float) / DAYS_PER_YEAR
        weight = ids.map(info["weight_kg"]).astype(float) if "weight_kg" in info else np.nan
        out = _kidney(n.measure, pd.Series(creatinine, index=frame.index).astype(float), age,
                      ids.map(info["sex"]), weight)
        return _convert(pd.Series(out, index=frame.index, dtype=float), n)

    def frame(self, n: published.Number) -> tuple[pd.DataFrame, bool]:
        """The rows a number is about (patients at baseline, or the visits of its timepoint) and whether at baseline."""
        if n.timepoint in (None, "baseline"):
            return self.patients, True
        at = self.visits[self.visits["timepoint"] == n.timepoint].reset_index(drop=True)
        return at, False

    def share(self, n: published.Number, group: str) -> tuple[int, int]:
        """(k, N): patients of `group` counted by the number (a level, a threshold, an outcome, an event) of those
        it is about (evaluated at the timepoint for a response or a visit value; with a value, for a threshold)."""
        m = MEASURES[n.measure]
        if m.kind == "event":
            return self.events(n, group)
        frame, at_baseline = self.frame(n)
        rows = frame[_members(frame, group).to_numpy()]
        if n.measure == "response":
            rows = rows[rows["response"].notna()]
            hit = rows["response"].isin(["CR", "PR"]) if n.outcome == "overall" else rows["response"].eq(n.outcome)
            return int(hit.sum()), len(rows)
        if n.measure == "n_patients":
            rows = rows if at_baseline else rows[rows["response"].notna()]
            return len(rows), len(rows)
        if n.measure == "female":
            sex = rows["patient_id"].map(self.patients.set_index("patient_id")["sex"])
            return int(sex.eq("F").sum()), len(rows)
        if m.kind == "category":
            column = rows["patient_id"].map(self.patients.set_index("patient_id")[m.column]) if m.column in \
                self.patients else pd.Series(dtype=object)
            levels = ["tacrolimus"] if n.measure == "tacrolimus_monotherapy" else n.level
            known = column.notna()
            return int(column[known].isin(levels).sum()), int(known.sum())
        values = self.value(n, rows, at_baseline).dropna()
        op, cut = measures.threshold(n.threshold)
        hit = {"<": values < cut, "<=": values <= cut, ">": values > cut, ">=": values >= cut}[op]
        return int(hit.sum()), len(values)

    def events(self, n: published.Number, group: str) -> tuple[int, int]:
        """(patients with at least one such event, or the events themselves with unit events; patients of the group)."""
        members = self.patients[_members(self.patients, group).to_numpy()]
        found = self.cohort.events[self.cohort.events["event"].isin(EVENTS[n.measure])]
        if n.level:
            found = found[found["category"].isin(n.level)]
        found = found[found["patient_id"].isin(members["patient_id"])]
        if n.unit is not None and measures.unit_name(n.unit) == "events":
            return len(found), len(members)
        return int(found["patient_id"].nunique()), len(members)

    def times(self, n: published.Number, group: str) -> pd.DataFrame:
        """Days to the first such event, or to the last follow-up (event 0), of the patients of `group`."""
        members = self.patients[_members(self.patients, group).to_numpy()]
        found = self.cohort.events[self.cohort.events["event"].isin(EVENTS[n.measure])]
        if n.level:
            found = found[found["category"].isin(n.level)]
        first = found.groupby("patient_id")["day"].min()
        day = members["patient_id"].map(first)
        return pd.DataFrame({"days": day.fillna(members["last_followup_day"]).astype(float),
                             "event": day.notna().astype(int)})


def compute(rows: _Rows, n: published.Number) -> tuple[float, str, str]:
    """(value, detail, test) of one expressible number."""
    effect = _effect(n.statistic)
    if effect is not None:
        a, b = n.group.split(" vs ")
        if effect == "hazard_ratio":
            from helpers.methods.stats import hazard_ratio
            ta, tb = rows.times(n, a), rows.times(n, b)
            both = pd.concat([ta.assign(first=1), tb.assign(first=0)], ignore_index=True)
            found = hazard_ratio(both["days"], both["event"], both["first"])
            key = {"hazard_ratio": "hr", "hazard_ratio_low": "hr_low", "hazard_ratio_high": "hr_high"}[n.statistic]
            return found[key], f"{int(ta['event'].sum())}/{len(ta)} vs {int(tb['event'].sum())}/{len(tb)} patients", \
                found["test"]
        (k1, n1), (k2, n2) = rows.share(n, a), rows.share(n, b)
        if effect == "risk_ratio":
            found, key, test = risk_ratio(k1, n1, k2, n2), "rr", "risk ratio, log 95% CI"
        else:
            found = difference(k1, n1, k2, n2)
            key, test = ("rd", "risk difference, Newcombe 95% CI") if effect == "risk_difference" else \
                ("or", "odds ratio, Woolf 95% CI")
        suffix = n.statistic.removeprefix(effect)
        value = found[key + suffix]
        if effect == "risk_difference" and measures.unit_name(n.unit or "percentage points") != "fraction":
            value *= 100
        return value, f"{k1}/{n1} vs {k2}/{n2}", test
    if n.statistic in ("count", "percent"):
        k, total = rows.share(n, n.group)
        events = n.unit is not None and measures.unit_name(n.unit) == "events"
        if n.statistic == "count":
            return float(k), (f"{k} events in {total} patients" if events else f"{k}/{total}"), ""
        return (100 * k / total if total else math.nan), f"{k}/{total}", ""
    frame, at_baseline = rows.frame(n)
    values = rows.value(n, frame[_members(frame, n.group).to_numpy()], at_baseline).dropna()
    statistic = {"mean": lambda v: v.mean(), "sd": lambda v: v.std(ddof=1), "median": lambda v: v.median(),
                 "q1": lambda v: v.quantile(0.25), "q3": lambda v: v.quantile(0.75), "min": lambda v: v.min(),
                 "max": lambda v: v.max()}[n.statistic]
    return (float(statistic(values)) if len(values) else math.nan), f"n = {len(values)}", ""


def rows(pub: published.Study | None, cohort, criteria: Criteria | None = None, window: int = WINDOW,
         parts=PARTS, have=()) -> list[dict]:
    """A result row for every number of `pub` in `parts` that the rows can give (`why_not` is None) and that
    `have` (result rows the chapter wrote already) does not hold: the same keys as the scorecard joins on."""
    if pub is None:
        return []
    taken = {(r["measure"], r.get("outcome") or "", r.get("timepoint") or "", r["group"], r["statistic"])
             for r in have}
    prepared, out, done = None, [], set()
    for n in pub.numbers:
        if n.not_expressible or why_not(pub, n) is not None or part(n) not in parts:
            continue
        if n.statistic in ("p_value", "logrank_p"):
            continue   # the chapters' tests (response_comparison, log-rank) compute these
        key = (n.key, n.outcome or "", n.timepoint or "", n.group, n.statistic)
        if key in taken or key in done:
            continue
        done.add(key)
        prepared = prepared or _Rows(pub, cohort, criteria, window)
        value, detail, test = compute(prepared, n)
        out.append(results.row(pub.study, n.key, n.statistic, value, group=n.group, outcome=n.outcome,
                               timepoint=n.timepoint, detail=detail, test=test))
    return out
