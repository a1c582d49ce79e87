"""Chapter 02, renal response at each timepoint: CR, PR and overall response by arm, their comparison
between the arms (effect sizes, p), the words that say what differs, and the chapter's result rows."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from helpers import labels
from helpers.cohort.response import WINDOW, Criteria, classify, summarise
from helpers.compare import claims, numbers, results
from helpers.methods import disclosure
from helpers.methods.stats import response_comparison
from helpers.present.tables import Table, comparison_table, format_p, p_beside
from helpers.publication import published


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
    them (disclosure.responses: the book's one decision; mask_comparison)."""
    classified = classify(cohort, timepoints, window, criteria or Criteria(), missing)
    raw = summarise(classified, by="arm")
    summary = disclosure.responses(classified, "arm", min_cell)
    comparisons = {}
    for outcome in labels.RESPONSE_OUTCOMES:
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


def response_rows(study: str, summary: pd.DataFrame, by: str = "arm", outcomes=labels.RESPONSE_OUTCOMES) -> list[dict]:
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
            for a, b in c.attrs.get("pairs", ()):   # three or more arms: each pair, unadjusted
                hidden = any(v != v for v in (r[f"{a}_k"], r[f"{a}_n"], r[f"{b}_k"], r[f"{b}_n"]))
                out.append(results.row(
                    study, "response", "p_value", math.nan if hidden else r[f"p_{a}_vs_{b}"], group=f"{a} vs {b}",
                    outcome=outcome, timepoint=str(r["timepoint"]),
                    detail=disclosure.HIDDEN if hidden else
                    f"{int(r[f'{a}_k'])}/{int(r[f'{a}_n'])} vs {int(r[f'{b}_k'])}/{int(r[f'{b}_n'])}",
                    test="" if hidden else c.attrs.get("pair_test", "")))
    return out


def outcome_table(comparison: pd.DataFrame, outcome: str, arms, timepoints: dict[str, int], marker=None,
                  min_cell: int = 0) -> Table:
    """The response table of one outcome by timepoint and arm, with effect sizes and, on a
    reconstructed cohort (`marker` a helpers.compare.marks.Marker), marks (with the published value where
    it differs or is infeasible)."""
    arms = list(arms)
    marker = marker.fresh() if marker is not None and marker.active else None
    versus = " vs ".join(arms)

    def mark(tp, arm, value):
        if arm is None:
            return marker.mark(value, "response", "p_value", versus, outcome, tp)
        return marker.mark(value, "response", "percent", arm, outcome, tp)

    def p_text(tp, p):
        number = marker.published("response", "p_value", versus, outcome, tp) if marker else []
        return p_beside(p, number[0].value, number[0].decimals) if number else format_p(p)

    def effect_mark(tp, statistic, value):   # only beside an effect size a source publishes
        found = marker.published("response", statistic, versus, outcome, tp)
        return marker.mark(value, "response", statistic, versus, outcome, tp) if found and value == value else ""

    table = comparison_table(comparison, arms, "Timepoint", lambda tp: labels.timepoint(tp, timepoints[tp]),
                             mark if marker else None, None, min_cell, p_text=p_text,
                             effect_mark=effect_mark if marker else None)
    table.notes += [note for note in (silent_note(comparison, arms, timepoints, min_cell),) if note]
    if marker:
        table.notes += marker.footnotes()
        table.notes += [text for tp in comparison["timepoint"].astype(str) if marker.assumed(outcome, tp, arms)
                        and (text := marker.pinned_text(outcome, tp, labels.timepoint(tp, timepoints[tp])))]
        name = published.grade_name(marker.pub, outcome)
        if name:
            table.notes.append(f"{labels.OUTCOMES[outcome]} is here the study's own grade: {name} (its definition: "
                               f"the study file's response criteria).")
    return table


def silent_timepoints(comparison: pd.DataFrame, arms) -> list[str]:
    """The timepoints at which disclosure control hides every number, the number evaluated in every arm
    included (NaN there in the comparison: arm_response), so that no table or figure shows anything there."""
    return [str(r["timepoint"]) for r in comparison.to_dict("records")
            if all(r[f"{arm}_n"] != r[f"{arm}_n"] for arm in arms)]


def silent_note(comparison: pd.DataFrame, arms, timepoints: dict[str, int], min_cell: int) -> str:
    """'At 2 years every number is suppressed, ...': why a timepoint the chapter reads shows nothing, in words that
    do not tell a small count from one hidden to protect it ('' when every timepoint shows something). The same
    for every outcome's table (a number evaluated is the same for all), so a chapter says it once."""
    silent = silent_timepoints(comparison, list(arms)) if min_cell > 0 else []
    if not silent:
        return ""
    names = [labels.timepoint(tp, timepoints[tp]) for tp in silent]
    where = labels.listed(names)
    return (f"At {where} every number is {disclosure.HIDDEN}, the numbers of patients evaluated included: shown, "
            f"they would give away a count of fewer than {min_cell} patients (see Methods).")


def assumed_points(marker, outcome: str, arms, timepoints) -> set[tuple[str, str]]:
    """The (timepoint, arm) whose share of `outcome` no source publishes (an assumption decides it): drawn
    hollow. For the stacked bars (outcome None): where the CR/PR split is assumed."""
    if marker is None or not marker.active:
        return set()
    outcomes = ["CR", "PR"] if outcome is None else [outcome]
    return {(str(tp), arm) for tp in timepoints for arm in arms
            if any(marker.assumed_count(arm, o, str(tp)) for o in outcomes)}


def assumed_comparisons(marker, comparisons: dict, arms) -> set[tuple[str, str]]:
    """The (outcome, timepoint) comparisons an assumption decides (forest plot: hollow)."""
    if marker is None or not marker.active:
        return set()
    return {(o, str(tp)) for o, c in comparisons.items() for tp in c["timepoint"].astype(str)
            if marker.assumed(o, tp, arms)}


def differences_sentence(comparisons: dict[str, pd.DataFrame], alpha: float, timepoints: dict[str, int],
                         marker=None, arms=()) -> str:
    """'p < 0.05 for complete response at 1 year (...)' for the differences with p below alpha, or that
    none has. On a reconstructed cohort (`marker`), a difference an assumption decides is never called
    significant: it is named apart, with how far the sources pin it (marks.Marker.pinned)."""
    if len(arms) == 1:
        return "One arm: all patients, no comparison between arms."
    found, assumed = [], []
    for outcome, comparison in comparisons.items():
        hits, decided = [], []
        for tp, p in zip(comparison["timepoint"].astype(str), comparison["p"]):
            if not (p == p and p < alpha):
                continue
            when = labels.timepoint(tp, timepoints[tp])
            if marker is not None and marker.assumed(outcome, tp, arms):
                pinned = marker.pinned(outcome, tp)
                higher = labels.arm(pinned.arms[0 if pinned.forced > 0 else 1]).lower() if pinned else ""
                forced = f"; the sources force it higher with {higher}" if pinned and pinned.forced else ""
                decided.append(f"{labels.in_sentence(labels.OUTCOMES[outcome])} at {when}{forced}")
            else:
                hits.append(when)
        if hits:
            found.append(f"{labels.in_sentence(labels.OUTCOMES[outcome])} at {', '.join(hits)}")
        assumed += decided
    over = " over all arms (each pair, Holm-adjusted, in the tables)" if len(arms) > 2 else ""
    text = (f"p < {alpha:g}{over} for " + "; ".join(found) + " (no correction for multiple comparisons)." if found else
            f"No difference between the arms that the sources decide has p < {alpha:g}." if assumed else
            f"No difference between the arms has p < {alpha:g}.")
    if assumed:
        text += (" Not called significant, because an assumption of the reconstruction decides the counts (see "
                 "the † notes under the tables): " + "; ".join(assumed) + ".")
    return text


def rows(study: str, cohort, pub=None, arms=None, timepoints: dict[str, int] | None = None, window: int = WINDOW,
         criteria: Criteria | None = None, missing: str = "complete_case", test: str = "pearson",
         min_cell: int = 0) -> list[dict]:
    """The chapter's result rows: response by arm with n evaluated, p-values (`arm_response`), and, given the
    study file `pub`, its statements about later labs tested on the rows (compare.claims) and every other
    published number about the response or later labs the rows can give (compare.numbers: counts, no
    response, effect sizes; not with min_cell > 0). Arms, timepoints and criteria default to the study file's."""
    arms = list(arms or pub.arms)
    criteria = criteria or (published.criteria(pub) if pub is not None else None)
    run = arm_response(cohort, arms, timepoints or pub.timepoints, window, criteria, missing, test, min_cell)
    out = run.rows(study) + claims.rows(pub, cohort, criteria, window, ["followup"])
    return out + (numbers.rows(pub, cohort, criteria, window, ["followup"], out) if min_cell <= 0 else [])
