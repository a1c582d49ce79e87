"""The counts plan: how many patients are evaluated, and in CR / PR / NR, per timepoint and arm.

Rules, in this order (each is an entry of the study file's `assumptions`):

1. Denominators: the largest numbers of evaluated patients consistent with every published
   percentage of that timepoint and arm (from any source, set-aside ones included: a number
   a resolution sets aside still tells how many patients there were, unless no number fits it
   and the kept ones together), at most the arm size and never rising over time (loss to
   follow-up).
2. Published percentages give their counts (GRIM).
3. A split no source publishes is neutral between the arms: the same PR share of the patients
   not in CR (where CR is known), or the same CR share of the responders (where only the
   overall response is known), pooled over the arms at the nearest timepoint where the split
   is published or follows from published numbers.

No published p-value chooses counts: every one is recomputed from the rows, an independent
check. A study file may say otherwise for a p-value by naming it in an assumption's
`by_construction`; then (and only then) it may move a denominator (where the Pearson test on
some consistent counts reaches it) or choose the counts of an overall response known only
through it (rule 3 of `_overall_from_p`), and it is a target of the reconstruction.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd

from helpers import labels
from helpers.methods.proportions import compare_proportions
from helpers.publication import counts, published
from helpers.publication.consistency import rounds_clearly_to


@dataclass
class Plan:
    """Counts per (timepoint, arm) and the published numbers the plan was built to make true."""
    rows: dict = field(default_factory=dict)        # (tp, arm) -> {"n", "CR", "PR", "overall", "source"}
    targets: dict = field(default_factory=dict)     # published number id -> how the plan uses it
    timepoints: list = field(default_factory=list)
    arms: list = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """One row per timepoint and arm: n, CR, PR, NR and where each count comes from."""
        records = []
        for (tp, arm), row in self.rows.items():
            records.append({"timepoint": tp, "arm": arm, "n": row["n"], "CR": row["CR"], "PR": row["PR"],
                            "NR": row["n"] - row["CR"] - row["PR"],
                            **{f"source_{o}": row["source"].get(o, "") for o in labels.RESPONSE_OUTCOMES}})
        frame = pd.DataFrame(records)
        frame["timepoint"] = pd.Categorical(frame["timepoint"], categories=self.timepoints, ordered=True)
        return frame.sort_values(["arm", "timepoint"]).reset_index(drop=True)




















def _p_values(pub: published.Study) -> list:
    """The published response p-values the study file lets choose counts (named in an assumption's
    `by_construction`); by default none."""
    chosen = pub.by_construction
    return [n for n in pub.targets() if n.measure == "response" and n.statistic == "p_value" and n.id in chosen]






def denominators(pub: published.Study, use_p_values: bool = True) -> tuple[dict, list[str]]:
    """({(tp, arm): n}, ids of the p-values that moved a denominator) by rule 1."""
    sizes, tps = counts.arm_sizes(pub), list(pub.timepoints)
    targets = counts.percents_by_cell(pub, pub.targets())
    options, largest = counts.consistent_denominators(pub)
    if not use_p_values or len(pub.arms) != 2 or counts.evaluated_counts(pub):
        return largest, []

    def hits(tp, n_by_arm) -> set[str]:
        """Ids of the target p-values at `tp` that Pearson reproduces on these denominators."""
        out = set()
        for p in _p_values(pub):
            if p.timepoint != tp:
                continue
            shown = [targets.get((tp, arm), {}).get(p.outcome) for arm in pub.arms]
            if None in shown:
                continue
            ks = [counts.first_count(xs[0], n_by_arm[arm]) for xs, arm in zip(shown, pub.arms)]
            result = compare_proportions(ks[0], n_by_arm[pub.arms[0]], ks[1], n_by_arm[pub.arms[1]])
            if rounds_clearly_to(result["p"], p.value, p.decimals):
                out.add(p.id)
        return out

    per_arm = []
    for arm in pub.arms:  # a p-value never asks for fewer than half the arm: such counts are not looked at
        seqs = itertools.product(*[[n for n in options[tp, arm] if n >= sizes[arm] // 2] for tp in tps])
        per_arm.append([s for s in seqs if all(a >= b for a, b in zip(s, s[1:]))])
    cache: dict = {}
    best, best_rank, best_hits = None, None, set()
    for seqs in itertools.product(*per_arm):
        found = set()
        for i, tp in enumerate(tps):
            key = (tp, *(seq[i] for seq in seqs))
            if key not in cache:
                cache[key] = hits(tp, dict(zip(pub.arms, key[1:])))
            found |= cache[key]
        rank = (-len(found), tuple(-n for seq in seqs for n in seq))
        if best_rank is None or rank < best_rank:
            best, best_rank, best_hits = seqs, rank, found
    chosen = {(tp, arm): best[j][i] for j, arm in enumerate(pub.arms) for i, tp in enumerate(tps)}
    if chosen == largest:
        return chosen, []
    moved = {tp for (tp, arm) in chosen if chosen[tp, arm] != largest[tp, arm]}
    return chosen, sorted(i for i in best_hits if pub.number(i).timepoint in moved)


_PLANS: dict = {}   # study file as JSON -> Plan (the plan is read by the builder, its check and the scorecard)


def plan(pub: published.Study) -> Plan:
    """The counts plan of a study with arms and timepoints (rules 1 to 4 of the module); do not modify it."""
    key = pub.model_dump_json()
    if key not in _PLANS:
        _PLANS[key] = _plan(pub)
    return _PLANS[key]


def _plan(pub: published.Study) -> Plan:
    tps = list(pub.timepoints)
    result = Plan(timepoints=tps, arms=list(pub.arms))
    n_by, moved_by = denominators(pub)
    for pid in moved_by:
        result.targets[pid] = "chose the number of evaluated patients"
    for x in pub.targets():
        if x.measure == "n_patients" and x.timepoint in pub.timepoints and counts.arm_of(pub, x.group):
            result.targets[x.id] = "takes it as the number of evaluated patients"
    percents = counts.percents_by_cell(pub, pub.targets())
    for (tp, arm), n in n_by.items():
        row = {"n": n, "source": {}}
        published_here = percents.get((tp, arm), {})
        for outcome, numbers in published_here.items():
            x = numbers[0]
            row[outcome] = counts.first_count(x, n)
            shown = f"{x.value:g}%" if x.statistic == "percent" else f"{x.value:g} patients"
            row["source"][outcome] = f"published {shown} ({x.id})"
        _together(row, published_here, n)
        for outcome, numbers in published_here.items():
            for same in numbers:
                result.targets[same.id] = f"gives {row[outcome]}/{n}"
        if "NR" in row:            # no response published: the rest of the split follows from it
            if "CR" in row and "PR" not in row and "overall" not in row:
                row["PR"] = n - row["NR"] - row["CR"]
                row["source"]["PR"] = "evaluated minus CR minus no response"
            elif "overall" not in row and "CR" not in row and "PR" not in row:
                row["overall"] = n - row["NR"]
                row["source"]["overall"] = "evaluated minus no response"
            del row["NR"]
        if "PR" in row and "overall" in row and "CR" not in row:
            row["CR"] = row["overall"] - row["PR"]
            row["source"]["CR"] = "overall minus PR"
        if "CR" in row and "overall" in row and "PR" not in row:
            row["PR"] = row["overall"] - row["CR"]
            row["source"]["PR"] = "overall minus CR"
        result.rows[tp, arm] = row
    _overall_from_p(pub, result)
    if not published.criteria(pub).partial_response:   # one grade: every responder is in CR
        for row in result.rows.values():
            if "CR" not in row and "overall" in row:
                row["CR"], row["source"]["CR"] = row["overall"], "overall (the definition has no partial response)"
            if "CR" in row and "PR" not in row:
                row["PR"], row["source"]["PR"] = 0, "none (the definition has no partial response)"
    _neutral_splits(pub, result)
    for row in result.rows.values():
        row.setdefault("overall", row["CR"] + row["PR"])
        row["source"].setdefault("overall", "CR + PR")
    return result


def _together(row: dict, published_here: dict, n: int) -> None:
    """Where the smallest counts of the published outcomes do not add up (CR + PR + NR = n, CR + PR = overall),
    the first counts, in the order CR, PR, overall, NR, that every published figure allows and that do."""
    def consistent(r):
        cr, pr, overall, nr = (r.get(o) for o in ("CR", "PR", "overall", "NR"))
        if None not in (cr, pr, overall) and cr + pr != overall:
            return False
        if nr is not None and cr is not None and pr is not None and cr + pr + nr != n:
            return False
        return not (nr is not None and overall is not None and overall + nr != n)
    if consistent(row) or "NR" not in published_here:
        return
    options = {o: sorted(set.intersection(*(set(counts.allowed_counts(x, n)) for x in xs)))
               for o, xs in published_here.items()}
    names = list(options)
    for combo in itertools.product(*(options[o] for o in names)):
        trial = dict(zip(names, combo))
        if consistent(trial):
            row.update(trial)
            return


def _known(row: dict) -> bool:
    """Is this row's CR / PR split published or derived from published numbers?"""
    return "CR" in row and ("PR" in row or "overall" in row) and not row.get("assumed")


def _nearest(tps: list[str], tp: str, ok) -> str | None:
    i = tps.index(tp)
    for t in sorted(tps, key=lambda t: (abs(tps.index(t) - i), tps.index(t))):
        if t != tp and ok(t):
            return t
    return None


def _overall_from_p(pub: published.Study, result: Plan) -> None:
    """Rule 3: an overall response known only through its p-value."""
    tps, arms = result.timepoints, result.arms
    for p in _p_values(pub):
        if p.outcome != "overall":
            continue
        rows = [result.rows[p.timepoint, arm] for arm in arms]
        if any("overall" in r for r in rows) or any("CR" not in r for r in rows) or len(arms) != 2:
            continue
        ref = _nearest(tps, p.timepoint, lambda t: all({"CR", "PR"} <= set(result.rows[t, a]) or
                                                      "overall" in result.rows[t, a] for a in arms))
        if ref is None:
            continue
        ref_rows = [result.rows[ref, a] for a in arms]
        ref_rate = Fraction(sum(r.get("overall", r.get("CR", 0) + r.get("PR", 0)) for r in ref_rows),
                            sum(r["n"] for r in ref_rows))
        (n1, c1), (n2, c2) = [(r["n"], r["CR"]) for r in rows]
        choices = []
        for o1, o2 in itertools.product(range(c1, n1 + 1), range(c2, n2 + 1)):
            if rounds_clearly_to(compare_proportions(o1, n1, o2, n2)["p"], p.value, p.decimals):
                split_gap = abs(Fraction(o1 - c1, n1) - Fraction(o2 - c2, n2))
                level_gap = abs(Fraction(o1 + o2, n1 + n2) - ref_rate)
                choices.append((split_gap + level_gap, o1, o2))
        if not choices:
            continue
        _, o1, o2 = min(choices)
        for r, o in zip(rows, (o1, o2)):
            r["overall"], r["PR"] = o, o - r["CR"]
            r["source"]["overall"] = f"chosen to give the published p = {p.value:g} ({p.id})"
            r["source"]["PR"] = "overall minus CR"
        result.targets[p.id] = "chose the overall response counts"


def _neutral_splits(pub: published.Study, result: Plan) -> None:
    """Rule 4: the same split in every arm where no source publishes it."""
    tps, arms = result.timepoints, result.arms
    for tp in tps:
        rows = [result.rows[tp, arm] for arm in arms]
        if all({"CR", "PR"} <= set(r) for r in rows):
            continue
        ref = _nearest(tps, tp, lambda t: all(_known(result.rows[t, a]) for a in arms))
        given = _split_assumption(pub)
        if ref is not None:
            ref_rows = [result.rows[ref, a] for a in arms]
            ref_cr = sum(r["CR"] for r in ref_rows)
            ref_pr = sum(r.get("PR", r.get("overall", 0) - r["CR"]) for r in ref_rows)
            ref_n = sum(r["n"] for r in ref_rows)
            pr_share = Fraction(ref_pr, ref_n - ref_cr) if ref_n > ref_cr else Fraction(0)
            cr_share = Fraction(ref_cr, ref_cr + ref_pr) if ref_cr + ref_pr else Fraction(0)
            where = f"as at {ref} (pooled)"
        for r in rows:
            if "CR" in r and "PR" not in r and "overall" not in r:
                if ref is None and "pr_share_of_not_cr" not in given:
                    raise SplitMissing(pub.study, tp, "pr_share_of_not_cr", "PR among the patients not in CR")
                share = pr_share if ref is not None else given["pr_share_of_not_cr"]
                r["PR"] = _round(share * (r["n"] - r["CR"]))
                r["source"]["PR"] = (f"assumed: PR in {float(share):.0%} of those not in CR in every arm, "
                                     f"{where if ref is not None else 'by the assumption response_split'}")
            elif "overall" in r and "CR" not in r:
                if ref is None and "cr_share_of_responders" not in given:
                    raise SplitMissing(pub.study, tp, "cr_share_of_responders", "CR among the responders")
                share = cr_share if ref is not None else given["cr_share_of_responders"]
                r["CR"] = _round(share * r["overall"])
                r["PR"] = r["overall"] - r["CR"]
                r["source"]["CR"] = (f"assumed: CR in {float(share):.0%} of the responders in every arm, "
                                     f"{where if ref is not None else 'by the assumption response_split'}")
                r["source"]["PR"] = "overall minus CR"
            else:
                continue
            r["assumed"] = True


class SplitMissing(ValueError):
    """A CR / PR split no source publishes at any timepoint: the assumption `response_split` must give it."""

    def __init__(self, study: str, timepoint: str, key: str, what: str):
        super().__init__(f"{study}.yaml: no timepoint publishes the CR / PR split that {timepoint} needs; add the "
                         f"assumption response_split with {key} (the share of {what}, the same in every arm), e.g. "
                         f"value: {{{key}: 0.5}}")
        self.key = key


def _split_assumption(pub: published.Study) -> dict:
    """The assumption response_split's shares as fractions ({} when there is none)."""
    given = next((a.value for a in pub.assumptions if a.id == "response_split"), None) or {}
    return {k: Fraction(repr(float(v))) for k, v in given.items() if k in ("pr_share_of_not_cr",
                                                                           "cr_share_of_responders")}


def _round(value: Fraction) -> int:
    """Round half up, exactly."""
    return math.floor(value + Fraction(1, 2))


def expand(counts: dict[str, int]) -> list[str]:
    """{label: count} as a list of labels, each repeated count times, in the given order."""
    return [label for label, c in counts.items() for _ in range(int(c))]


def split_by_size(total: int, sizes: dict[str, int]) -> dict[str, int]:
    """`total` split between groups in proportion to their sizes (largest remainder, ties to the
    first group): the neutral allocation of a count no source splits."""
    whole = sum(sizes.values())
    shares = {g: Fraction(total * s, whole) for g, s in sizes.items()}
    out = {g: math.floor(v) for g, v in shares.items()}
    order = sorted(sizes, key=lambda g: (-(shares[g] - out[g]), list(sizes).index(g)))
    for g in order[: total - sum(out.values())]:
        out[g] += 1
    return out
