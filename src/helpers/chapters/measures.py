"""From patient-level rows to every measure a study file can publish.

The one path from rows to result rows (study, measure, outcome, timepoint, group, statistic,
value, detail, test; helpers.compare.results): the notebooks write these rows to their result tables,
and the check command computes the same rows for a cohort and its study file, so the scorecard
of the book and the check of `python -m helpers reconstruct --check` cannot disagree.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pandas as pd

from helpers.chapters.safety import POOR_OUTCOME, adverse_event_comparison, time_to_event
from helpers.cohort.response import WINDOW, Criteria, classify, summarise
from helpers.compare import claims, results
from helpers.methods import disclosure
from helpers.methods.stats import logrank, response_comparison
from helpers.publication import published

LABS = {"upcr": "upcr_g_g", "egfr": "egfr"}   # measure -> lab column
OUTCOMES = ("CR", "PR", "overall")


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
    only); with min_cell > 0, hidden counts are NaN (disclosure.mask_response: the groups add up to
    'all', and evaluated + not evaluated to the group)."""
    out = pd.concat([summarise(rows.assign(group=name), by="group") for name, rows in groups(at_tp, by)],
                    ignore_index=True)
    out = out[out["timepoint"].isin(set(at_tp["timepoint"]))].reset_index(drop=True)
    sizes = {name: len(rows.drop_duplicates("patient_id")) for name, rows in groups(at_tp, by)}
    return disclosure.mask_response(out, "group", min_cell, sizes, total="all")


def lab_hidden(at_tp: pd.DataFrame, by: str = "prior_response", min_cell: int = 0) -> set:
    """Groups whose lab statistics are hidden at this timepoint: disclosure.hidden_groups on the
    number of values at baseline, at the timepoint, and at both (the paired change)."""
    hidden = set()
    if min_cell <= 0:
        return hidden
    for column in LABS.values():
        counts = {"baseline": at_tp[f"baseline_{column}"].notna(), "later": at_tp[column].notna()}
        counts["both"] = counts["baseline"] & counts["later"]
        for present in counts.values():
            sizes = {g: int(present[part.index].sum()) for g, part in groups(at_tp, by)}
            hidden |= disclosure.hidden_groups(sizes, min_cell)
    return hidden


def cohort_rows(study: str, patients: pd.DataFrame, by: str, min_cell: int = 0) -> list[dict]:
    """Size, sex, age and tacrolimus monotherapy, overall and per group; also the size of every
    union of groups ('none+partial'), which a source may report (study B's 12 refractory patients).
    With min_cell > 0, a hidden group (disclosure.hidden_groups) gives no values, a share is shown
    only by disclosure.share_hidden's rules, and unions are left out (they would give a hidden
    group by subtraction)."""
    rows = []
    parts = groups(patients, by)
    labels = [g for g, _ in parts[1:]]
    hidden = disclosure.hidden_groups({g: len(part) for g, part in parts}, min_cell)
    for size in range(2, len(labels)) if len(labels) <= 5 and min_cell <= 0 else ():
        for combo in itertools.combinations(labels, size):
            n = int(members(patients, "+".join(combo), by).sum())
            rows.append(results.row(study, "n_patients", "count", n, group="+".join(combo), detail=f"{n} patients"))
    for group, part in parts:
        n = len(part)
        if group in hidden:
            rows += [results.row(study, measure, statistic, math.nan, group=group, detail=disclosure.HIDDEN,
                                 timepoint="baseline" if measure == "age" else None)
                     for measure, statistic in (("n_patients", "count"), ("female", "percent"), ("age", "mean"),
                                                ("age", "sd"))]
            continue
        female = int(part["sex"].eq("F").sum())
        shown = not disclosure.share_hidden(female, n, min_cell)
        rows += [
            results.row(study, "n_patients", "count", n, group=group, detail=f"{n} patients"),
            results.row(study, "female", "percent", 100 * female / n if shown else math.nan, group=group,
                        detail=f"{female}/{n}" if shown else disclosure.HIDDEN),
            results.row(study, "age", "mean", part["age"].mean(), group=group, timepoint="baseline", detail=f"n = {n}"),
            results.row(study, "age", "sd", part["age"].std(ddof=1), group=group, timepoint="baseline",
                        detail=f"n = {n}"),
        ]
        mono = int(part["maintenance"].eq("tacrolimus").sum())
        if mono and not disclosure.share_hidden(mono, n, min_cell):
            rows += [results.row(study, "tacrolimus_monotherapy", "count", mono, group=group, detail=f"{mono}/{n}"),
                     results.row(study, "tacrolimus_monotherapy", "percent", 100 * mono / n, group=group,
                                 detail=f"{mono}/{n}")]
    return rows


@dataclass
class ArmResponse:
    """Response by arm at each timepoint (response.summarise) and its comparison between the arms
    (stats.response_comparison) for CR, PR and overall response."""
    arms: list[str]
    timepoints: dict[str, int]
    summary: pd.DataFrame
    comparisons: dict[str, pd.DataFrame]

    def rows(self, study: str) -> list[dict]:
        """Its result rows: percentages with n evaluated, and p-values."""
        return response_rows(study, self.summary) + p_value_rows(study, self.comparisons, self.arms)


def arm_response(cohort, arms, timepoints: dict[str, int], window: int = WINDOW, criteria: Criteria | None = None,
                 missing: str = "complete_case", test: str = "pearson", min_cell: int = 0) -> ArmResponse:
    """Classify every patient at every timepoint and compare the arms. With min_cell > 0 the hidden
    counts are NaN in the summary and in the comparisons, which then give no effect and no p beside
    them (disclosure.mask_response, mask_comparison)."""
    raw = summarise(classify(cohort, timepoints, window, criteria or Criteria(), missing), by="arm")
    sizes = cohort.patients["arm"].value_counts().to_dict()
    summary = disclosure.mask_response(raw, "arm", min_cell, sizes)
    comparisons = {}
    for outcome in OUTCOMES:
        comparison = response_comparison(raw, outcome, list(arms), test)
        if min_cell > 0:
            shown = summary.set_index(["timepoint", "arm"])
            for arm in arms:
                keys = list(zip(comparison["timepoint"], [arm] * len(comparison)))
                for column, source in ((f"{arm}_k", outcome), (f"{arm}_n", "n")):
                    visible = shown[source].reindex(keys).notna().to_numpy() | (comparison[f"{arm}_n"] == 0).to_numpy()
                    comparison[column] = comparison[column].astype(float).where(visible)
            comparison = disclosure.mask_comparison(comparison, list(arms))
        comparisons[outcome] = comparison
    return ArmResponse(list(arms), dict(timepoints), summary, comparisons)


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


def response_rows(study: str, summary: pd.DataFrame, by: str = "arm", outcomes=OUTCOMES) -> list[dict]:
    """Percent rows from response.summarise(): one per timepoint, group and outcome, and the number
    of patients evaluated (a hidden count, NaN, gives no value and the detail 'suppressed')."""
    out = []
    for r in summary.itertuples(index=False):
        n = r.n
        out.append(results.row(study, "n_patients", "count", n if n == n else math.nan, group=getattr(r, by),
                               timepoint=str(r.timepoint),
                               detail=f"{int(n)} evaluated" if n == n else disclosure.HIDDEN))
        for outcome in outcomes:
            k = getattr(r, outcome)
            shown = k == k and n == n
            out.append(results.row(study, "response", "percent", 100 * k / n if shown and n else math.nan,
                                   group=getattr(r, by), outcome=outcome, timepoint=str(r.timepoint),
                                   detail=f"{int(k)}/{int(n)}" if shown else disclosure.HIDDEN))
    return out


def p_value_rows(study: str, comparisons: dict[str, pd.DataFrame], arms) -> list[dict]:
    """One row per outcome and timepoint: the p-value of stats.response_comparison, its counts and test
    (none beside a hidden count)."""
    arms = list(arms)
    out = []
    for outcome, c in comparisons.items():
        for r in c.to_dict("records"):
            counts = [(r[f"{a}_k"], r[f"{a}_n"]) for a in arms]
            if any(k != k or n != n for k, n in counts):
                detail, test = disclosure.HIDDEN, ""
            else:
                detail = " vs ".join(f"{int(k)}/{int(n)}" for k, n in counts) + (f"; {r['note']}" if r["note"] else "")
                test = r["test"]
            out.append(results.row(study, "response", "p_value", r["p"], group=" vs ".join(arms), outcome=outcome,
                                   timepoint=str(r["timepoint"]), detail=detail, test=test))
    return out


def lab_rows(study: str, at_tp: pd.DataFrame, timepoint: str, by: str = "prior_response",
             min_cell: int = 0) -> list[dict]:
    """Mean and SD of each lab at baseline and at the timepoint, per group, as result rows
    (a hidden group, lab_hidden, gives no value)."""
    rows = []
    hidden = lab_hidden(at_tp, by, min_cell)
    for measure, column in LABS.items():
        for group, part in groups(at_tp, by):
            for when, values in (("baseline", part[f"baseline_{column}"]), (timepoint, part[column])):
                values = values.dropna()
                for statistic, value in (("mean", values.mean()), ("sd", values.std(ddof=1))):
                    rows.append(results.row(study, measure, statistic, math.nan if group in hidden else value,
                                            group=group, timepoint=when,
                                            detail=disclosure.HIDDEN if group in hidden else f"n = {len(values)}"))
    return rows


def survival_rows(study: str, times: dict[str, pd.DataFrame], tests: dict[str, dict], arms,
                  min_cell: int = 0) -> list[dict]:
    """The log-rank p of each time-to-event outcome, with the events per arm (neither beside an
    event count hidden by disclosure.share_hidden)."""
    rows = []
    for name, result in tests.items():
        t = times[name]
        counts = [(int(t.loc[t["arm"] == arm, "event"].sum()), int((t["arm"] == arm).sum())) for arm in arms]
        hidden = any(disclosure.share_hidden(k, n, min_cell) for k, n in counts)
        rows.append(results.row(study, name, "logrank_p", math.nan if hidden else result["p"], group=" vs ".join(arms),
                                test="" if hidden else result["test"],
                                detail=disclosure.HIDDEN if hidden else " vs ".join(f"{k} events" for k, _ in counts)))
    return rows


def adverse_event_rows(study: str, comparison: pd.DataFrame, arms) -> list[dict]:
    """The p-value of each adverse-event category (events.adverse_event_comparison)."""
    return [results.row(study, "adverse_event:" + r["category"], "p_value", r["p"], group=" vs ".join(arms),
                        test=r["test"] if r["p"] == r["p"] else "", detail=r["note"])
            for r in comparison.to_dict("records")]


def survival(cohort) -> tuple[dict, dict]:
    """Time to a first renal flare and to ESRD or death, and their log-rank tests."""
    outcomes = {"renal_flare": ("renal_flare",), "poor_outcome": POOR_OUTCOME}
    times = {name: time_to_event(cohort, kinds) for name, kinds in outcomes.items()}
    return times, {name: logrank(t["days"], t["event"], t["arm"]) for name, t in times.items()}


def study_rows(pub: published.Study, cohort, criteria: Criteria | None = None, window: int = WINDOW,
               test: str = "pearson") -> list[dict]:
    """Every result row the notebooks compute for this study's cohort, at these settings."""
    by = "arm" if len(pub.arms) > 1 or not pub.subgroups else "prior_response"
    rows = cohort_rows(pub.study, cohort.patients, by)
    if len(pub.arms) > 1:
        rows += arm_response(cohort, pub.arms, pub.timepoints, window, criteria, test=test).rows(pub.study)
        times, tests = survival(cohort)
        rows += survival_rows(pub.study, times, tests, pub.arms)
        rows += adverse_event_rows(pub.study, adverse_event_comparison(cohort, pub.arms), pub.arms)
    if pub.subgroups:
        rows += group_rows(pub.study, classify(cohort, pub.timepoints, window, criteria or Criteria()), pub.timepoints)
    return rows + claims.rows(pub, cohort, criteria, window)
