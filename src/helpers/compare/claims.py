"""Claims in words ("no significant difference in ...", "a higher prevalence of class V"), tested on rows.

A study file's `claims` (helpers.publication.published.Claim) name measures and what holds between the arms.
Each measure is one statement, tested here from the patient-level rows with a named test:

- labs and age: Mann-Whitney U (two-sided), on the baseline visit or the visit of the timepoint;
- sex, induction regimen and class V: Pearson chi-square on the counts by arm;
- renal flares, poor outcomes (ESRD or death) and adverse events: Fisher exact on the patients with at
  least one such event by arm;
- `holds: only`: how many patients have a value outside the list (the statement holds at 0).

`rows` gives one result row per statement (helpers.compare.results format: measure `claim:<id>:<measure>`,
statistic `p_value`, or `outside` for `only`), which the scorecard compares with the claim.
A statement the rows cannot test (`not_expressible`, `holds: text`) has no row; the scorecard says why.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from scipy import stats as sps

from helpers import labels
from helpers.cohort.response import WINDOW, Criteria, baseline_labs, classify
from helpers.compare import results
from helpers.labels import MEASURES
from helpers.publication import published

EVENT_KINDS = {"renal_flare": ("renal_flare",), "poor_outcome": labels.POOR_OUTCOME,
               "adverse_event": ("adverse_event",)}
CATEGORICAL = {"female": lambda p: p["sex"].eq("F"), "isn_class_v": lambda p: p["isn_class"].eq("V"),
               "induction": lambda p: p["induction"]}


def key(claim: published.Claim, measure: str) -> str:
    """The result row's measure for one statement of a claim."""
    return f"claim:{claim.id}:{measure}"


def _continuous(values: dict[str, pd.Series], arms: list[str]) -> tuple[float, str]:
    a, b = (values[arm].dropna() for arm in arms)
    if min(len(a), len(b)) == 0:
        return math.nan, "no values in an arm"
    p = float(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    detail = (f"median {a.median():.3g} vs {b.median():.3g}; n = {len(a)} vs {len(b)}")
    return p, detail


def _table(counts: pd.DataFrame) -> float:
    """Pearson chi-square (no continuity correction) on a table of counts (arms in rows)."""
    table = counts.to_numpy()
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return math.nan
    return float(sps.chi2_contingency(table, correction=False)[1])


def _events(cohort, kinds: tuple[str, ...], arms: list[str]) -> tuple[float, str, list[tuple[int, int]]]:
    hit = set(cohort.events.loc[cohort.events["event"].isin(kinds), "patient_id"])
    counts = []
    for arm in arms:
        ids = cohort.patients.loc[cohort.patients["arm"] == arm, "patient_id"]
        counts.append((int(ids.isin(hit).sum()), len(ids)))
    (k1, n1), (k2, n2) = counts
    p = float(sps.fisher_exact(np.array([[k1, n1 - k1], [k2, n2 - k2]]))[1])
    return p, f"{k1}/{n1} vs {k2}/{n2} patients", counts


def no_events(measure: str, detail: str) -> bool:
    """Does an event statement's result (`_events`' detail, '0/92 vs 0/87 patients') count no patient with the
    event in any arm? Then its test cannot find a difference, whatever the data."""
    return measure in EVENT_KINDS and re.fullmatch(r"0/\d+( vs 0/\d+)+ patients", detail or "") is not None


def statement(claim: published.Claim, measure: str, pub: published.Study, cohort, visits: pd.DataFrame,
              window: int = WINDOW) -> dict | None:
    """The result row of one statement, or None when the rows cannot test it."""
    arms = list(pub.arms)
    patients = cohort.patients[cohort.patients["study"] == pub.study] if "study" in cohort.patients else \
        cohort.patients
    row = dict(study=pub.study, measure=key(claim, measure), statistic="p_value", group=" vs ".join(arms))
    if measure in claim.not_expressible or claim.holds == "text":
        return None
    if claim.holds == "only":
        column = patients[measure] if measure in patients else None
        if column is None:
            return None
        outside = int((~column.isin(claim.values)).sum())
        return results.row(**{**row, "statistic": "outside"}, value=outside,
                           detail=f"{outside} of {len(column)} patients outside {', '.join(claim.values)}",
                           test="count")
    if len(arms) != 2:
        return None
    if measure in labels.LAB_COLUMNS or measure == "age":
        if measure == "age":
            values = {arm: patients.loc[patients["arm"] == arm, "age"] for arm in arms}
        elif claim.timepoint == "baseline":
            base = baseline_labs(cohort.labs, window)[labels.LAB_COLUMNS[measure]]
            values = {arm: base.reindex(patients.loc[patients["arm"] == arm, "patient_id"]) for arm in arms}
        else:
            at = visits[visits["timepoint"] == claim.timepoint]
            values = {arm: at.loc[at["arm"] == arm, labels.LAB_COLUMNS[measure]] for arm in arms}
        p, detail = _continuous(values, arms)
        return results.row(**row, value=p, detail=detail, test="Mann-Whitney U", timepoint=claim.timepoint)
    if measure in CATEGORICAL:
        levels = CATEGORICAL[measure](patients)
        counts = pd.crosstab(patients["arm"], levels).reindex(arms)
        p = _table(counts)
        if levels.dtype == bool:
            k = [int(counts.loc[arm].get(True, 0)) for arm in arms]
            n = [int(counts.loc[arm].sum()) for arm in arms]
            detail = " vs ".join(f"{a}/{b}" for a, b in zip(k, n))
            if claim.holds == "higher":
                shares = dict(zip(arms, (a / b for a, b in zip(k, n))))
                other = next(a for a in arms if a != claim.higher)
                higher = "yes" if shares[claim.higher] > shares[other] else "no"
                detail += f"; higher in {labels.arm(claim.higher).lower()}: {higher}"
        else:
            detail = "; ".join(f"{labels.arm(arm).lower()}: "
                               + ", ".join(f"{c} {int(v)}" for c, v in counts.loc[arm].items()) for arm in arms)
        return results.row(**row, value=p, detail=detail, test="Pearson chi-square", timepoint=claim.timepoint)
    if measure in EVENT_KINDS:
        p, detail, _ = _events(cohort, EVENT_KINDS[measure], arms)
        return results.row(**row, value=p, detail=detail, test="Fisher exact")
    return None


PARTS = ("baseline", "followup", "events")   # which chapter tests a statement: Table 1, response, safety


def part(claim: published.Claim, measure: str) -> str:
    if measure in EVENT_KINDS:
        return "events"
    return "baseline" if claim.timepoint == "baseline" else "followup"


def statements(pub: published.Study | None, parts=PARTS) -> list[tuple[published.Claim, str]]:
    """(claim, measure) of every statement of `pub`'s claims in `parts`, in the study file's order."""
    if pub is None:
        return []
    return [(c, m) for c in pub.claims for m in c.items() if part(c, m) in parts]


def rows(pub: published.Study | None, cohort, criteria: Criteria | None = None, window: int = WINDOW,
         parts=PARTS) -> list[dict]:
    """One result row per testable statement of `pub`'s claims in `parts` (none without a study file)."""
    found = statements(pub, parts)
    if not found:
        return []
    visits = classify(cohort, pub.timepoints, window, criteria or Criteria()) if "followup" in parts else None
    out = []
    for claim, measure in found:
        row = statement(claim, measure, pub, cohort, visits, window)
        if row is not None:
            out.append(row)
    return out


def view(pub: published.Study, computed: list[dict], roles: dict, parts=PARTS):
    """The statements of `parts` as a table: what the source says, what the rows give (test, p), and
    whether they agree; each with its role (a target was built to hold; a check could have failed)."""
    by_key = {r["measure"]: r for r in computed}
    lines = []
    for claim, measure in statements(pub, parts):
        row = by_key.get(key(claim, measure))
        role = roles[f"{claim.id}:{measure}"]
        if row is None:
            rows_give, agree = "cannot be tested: " + role.why if role.kind == "not_expressible" else "", ""
        elif row["statistic"] == "outside":
            rows_give, agree = row["detail"], "yes" if holds(claim, row["value"]) else "no"
        else:
            rows_give = f"p = {row['value']:.3f} ({row['test']}; {row['detail']})"
            agree = "yes" if holds(claim, row["value"], row["detail"]) else "no"
        lines.append({"Statement": MEASURES.get(measure, measure.replace("_", " ")), "The source says": wording(claim),
                      "The rows give": rows_give, "Agree": agree, "Role": role.kind.replace("_", " "),
                      "Source": claim.source})
    if not lines:
        return None
    quotes = sorted({f"{c.source}: \u201c{c.quote}\u201d" for c, _ in statements(pub, parts)})
    from helpers.present.tables import Table  # presentation, imported only where a chapter shows the statements
    return Table(pd.DataFrame(lines), ["Statements in words from the sources, each tested on these rows; a target "
                                       "was built to hold, an independent check could have failed."] + quotes)


def holds(claim: published.Claim, value: float, detail: str = "") -> bool:
    """Does a computed statement agree with the claim? (no_difference: p >= alpha; higher: p < alpha in
    the stated direction; only: no patient outside.)"""
    if value != value:
        return False
    if claim.holds == "no_difference":
        return value >= claim.alpha
    if claim.holds == "higher":
        return value < claim.alpha and detail.endswith("yes")
    if claim.holds == "only":
        return value == 0
    return False


def wording(claim: published.Claim) -> str:
    """What the claim says, as the scorecard shows it in the 'published' column."""
    if claim.holds == "no_difference":
        return f"no significant difference (p >= {claim.alpha:g})"
    if claim.holds == "higher":
        return f"higher in {claim.higher} (p < {claim.alpha:g})"
    if claim.holds == "only":
        return "only " + ", ".join(claim.values)
    return "(words only)"
