"""The reconstructed cohort: synthetic patients built from the published aggregates.

Deterministic (fixed seeds). The response is never written: labs are drawn so that
helpers.response, applied to the rows, gives the planned CR / PR / NR counts.

Study A: the counts plan (`plan_study_a`) comes from the published percentages by
GRIM, the published p-values where several denominators are possible, and the
documented assumptions for what is not published.
Study B: the choices in study_b.yaml's `resolutions`, means and SDs fitted by
helpers.moments.
"""
from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from . import published, renal, schema
from .consistency import percent_counts, rounds_to
from .moments import Target, fit
from .paths import RECONSTRUCTED_DIR
from .response import Criteria
from statsmodels.duration.survfunc import survdiff

from .stats import compare_proportions

SEED = {"study_a": 20251028, "study_b": 81}
WINDOW = 45          # the visit window the reconstruction is built for (days)
MARGIN = 0.02        # fitted lab values stay this fraction inside a response threshold
JITTER = 14          # visits fall within +/- JITTER days of the nominal day
OUTCOMES = ("CR", "PR", "overall")


# --------------------------------------------------------------------------- study A: counts

def _percent_targets(pub: published.Study) -> dict:
    """{(timepoint, arm): {outcome: Number}} for every targeted response percentage."""
    out: dict = {}
    for n in pub.targets():
        if n.measure == "response" and n.statistic == "percent":
            out.setdefault((n.timepoint, n.group), {})[n.outcome] = n
    return out


def _arm_sizes(pub: published.Study) -> dict[str, int]:
    return {n.group: int(n.value) for n in pub.targets() if n.measure == "n_patients" and n.group in pub.arms}


def _p_targets(pub: published.Study) -> dict:
    """{(timepoint, outcome): [Number, ...]} for the targeted response p-values."""
    out: dict = {}
    for n in pub.targets():
        if n.measure == "response" and n.statistic == "p_value":
            out.setdefault((n.timepoint, n.outcome), []).append(n)
    return out


def choose_denominators(pub: published.Study) -> dict[tuple[str, str], int]:
    """Evaluable patients per (timepoint, arm): GRIM-consistent with every published
    percentage, non-increasing over time, the combination reproducing the most published
    p-values (Pearson chi-square), then closest to them, then with the least loss."""
    sizes, percents, p_targets = _arm_sizes(pub), _percent_targets(pub), _p_targets(pub)
    tps = list(pub.timepoints)
    options = {}
    for tp, arm in itertools.product(tps, pub.arms):
        numbers = percents.get((tp, arm), {}).values()
        options[tp, arm] = [n for n in range(sizes[arm] // 2, sizes[arm] + 1)
                            if all(percent_counts(x.value, x.decimals, n) for x in numbers)] or [sizes[arm]]

    def counts(tp, arm, n):
        return {o: percent_counts(x.value, x.decimals, n)[0] for o, x in percents.get((tp, arm), {}).items()}

    def p_score(tp, n_by_arm):
        hits, distance = 0, 0.0
        for (t, outcome), numbers in p_targets.items():
            if t != tp:
                continue
            ks = [counts(tp, arm, n_by_arm[arm]).get(outcome) for arm in pub.arms]
            if None in ks:
                continue
            p = compare_proportions(ks[0], n_by_arm[pub.arms[0]], ks[1], n_by_arm[pub.arms[1]])["p"]
            for x in numbers:
                hits += rounds_to(p, x.value, x.decimals)
                distance += abs(p - x.value)
        return hits, distance

    best, best_key = None, None
    per_arm = [list(itertools.product(*[options[tp, arm] for tp in tps])) for arm in pub.arms]
    per_arm = [[seq for seq in seqs if all(a >= b for a, b in zip(seq, seq[1:]))] for seqs in per_arm]
    cache: dict = {}
    for seqs in itertools.product(*per_arm):
        hits, distance = 0, 0.0
        for i, tp in enumerate(tps):
            key = (tp, tuple(seq[i] for seq in seqs))
            if key not in cache:
                cache[key] = p_score(tp, dict(zip(pub.arms, key[1])))
            hits += cache[key][0]
            distance += cache[key][1]
        rank = (-hits, round(distance, 12), -sum(map(sum, seqs)))
        if best_key is None or rank < best_key:
            best_key, best = rank, seqs
    return {(tp, arm): best[j][i] for j, arm in enumerate(pub.arms) for i, tp in enumerate(tps)}


def plan_study_a(pub: published.Study) -> pd.DataFrame:
    """One row per timepoint and arm: n evaluable, CR, PR, NR, and where each count comes from."""
    denominators = choose_denominators(pub)
    percents, p_targets = _percent_targets(pub), _p_targets(pub)
    tps = list(pub.timepoints)
    plan: dict = {}
    for (tp, arm), n in denominators.items():
        row = {"n": n, "source": {}}
        for outcome, x in percents.get((tp, arm), {}).items():
            row[outcome] = percent_counts(x.value, x.decimals, n)[0]
            row["source"][outcome] = f"published {x.value:g}% ({x.id})"
        plan[tp, arm] = row

    # overall response known only through its p-value: counts whose Pearson p rounds to it,
    # closest to the overall rates at the nearest timepoint where they are known
    for (tp, outcome), numbers in p_targets.items():
        rows = [plan[tp, arm] for arm in pub.arms]
        if outcome != "overall" or any("overall" in r for r in rows) or any("CR" not in r for r in rows):
            continue
        ref = _nearest(tps, tp, lambda t: all({"CR", "PR"} <= set(plan[t, a]) or "overall" in plan[t, a]
                                              for a in pub.arms) and t != tp)
        ref_rate = [_overall(plan[ref, a]) / plan[ref, a]["n"] for a in pub.arms]
        x = numbers[0]
        choices = []
        for o1 in range(rows[0]["CR"], rows[0]["n"] + 1):
            for o2 in range(rows[1]["CR"], rows[1]["n"] + 1):
                p = compare_proportions(o1, rows[0]["n"], o2, rows[1]["n"])["p"]
                if rounds_to(p, x.value, x.decimals):
                    gap = abs(o1 / rows[0]["n"] - ref_rate[0]) + abs(o2 / rows[1]["n"] - ref_rate[1])
                    choices.append((round(gap, 12), o1, o2))
        if choices:
            _, o1, o2 = min(choices)
            for r, o in zip(rows, (o1, o2)):
                r["overall"] = o
                r["source"]["overall"] = f"chosen to give the published p = {x.value:g} ({x.id})"

    for tp, arm in itertools.product(tps, pub.arms):
        row = plan[tp, arm]
        if "CR" in row and "PR" in row:
            continue
        if "CR" in row and "overall" in row:
            row["PR"] = row["overall"] - row["CR"]
            row["source"]["PR"] = "overall minus CR"
            continue
        ref = _nearest(tps, tp, lambda t: {"CR", "PR"} <= set(plan[t, arm]) and t != tp)
        r = plan[ref, arm]
        if "CR" in row:  # PR share of the non-CR patients, as at the reference timepoint
            share = r["PR"] / (r["n"] - r["CR"])
            row["PR"] = int(round(share * (row["n"] - row["CR"])))
            row["source"]["PR"] = f"assumed: PR share of non-CR as at {ref} ({share:.2f})"
        else:  # only overall known: CR share of responders, as at the reference timepoint
            share = r["CR"] / (r["CR"] + r["PR"])
            row["CR"] = int(round(share * row["overall"]))
            row["PR"] = row["overall"] - row["CR"]
            row["source"]["CR"] = f"assumed: CR share of responders as at {ref} ({share:.2f})"
            row["source"]["PR"] = "overall minus CR"
    records = []
    for (tp, arm), row in plan.items():
        records.append({"timepoint": tp, "arm": arm, "n": row["n"], "CR": row["CR"], "PR": row["PR"],
                        "NR": row["n"] - row["CR"] - row["PR"],
                        **{f"source_{o}": row["source"].get(o, "sum of CR and PR" if o == "overall" else "")
                           for o in OUTCOMES}})
    frame = pd.DataFrame(records)
    frame["timepoint"] = pd.Categorical(frame["timepoint"], categories=tps, ordered=True)
    return frame.sort_values(["arm", "timepoint"]).reset_index(drop=True)


def _overall(row: dict) -> int:
    return row["overall"] if "overall" in row else row["CR"] + row["PR"]


def _nearest(tps: list[str], tp: str, ok) -> str:
    i = tps.index(tp)
    for t in sorted(tps, key=lambda t: (abs(tps.index(t) - i), tps.index(t))):
        if ok(t):
            return t
    raise ValueError(f"no timepoint to borrow from for {tp}")


# --------------------------------------------------------------------------- lab values

def _labs_for_status(rng, status: np.ndarray, base_upcr, base_creat, age, sex, criteria: Criteria):
    """UPCR and creatinine at a visit such that the response criteria give `status`."""
    n = status.size
    uln = np.where(sex == "M", criteria.creatinine_uln_male, criteria.creatinine_uln_female)
    cr_upcr = np.exp(rng.uniform(np.log(0.05), np.log(0.9 * criteria.cr_upcr_max), n))
    pr_high = np.minimum(0.9 * (1 - criteria.pr_upcr_reduction_min) * base_upcr, 0.93 * criteria.pr_upcr_max)
    pr_low = 1.1 * criteria.cr_upcr_max
    pr_upcr = pr_low + rng.uniform(0, 1, n) * np.maximum(pr_high - pr_low, 0)
    nr_upcr = np.maximum(base_upcr * rng.uniform(1.15 * (1 - criteria.pr_upcr_reduction_min), 1.6, n), pr_low)
    upcr = np.select([status == "CR", status == "PR"], [cr_upcr, pr_upcr], nr_upcr)
    creat = base_creat * np.select([status == "CR", status == "PR"],
                                   [rng.uniform(0.88, 1.08, n), rng.uniform(0.9, 1.05, n)], rng.uniform(0.9, 1.4, n))
    creat = np.where((status == "CR") & (base_creat > uln), np.minimum(creat, uln * rng.uniform(0.8, 0.97, n)), creat)
    creat = np.round(creat, 2)
    egfr = np.round(renal.ckd_epi_2009(creat, age, sex), 1)
    return np.round(upcr, 2), creat, egfr


def _other_labs(rng, status: np.ndarray) -> dict:
    """Albumin, complements and anti-dsDNA, plausible for the response status (cosmetic)."""
    n = status.size
    good = np.isin(status, ["CR", "PR"])
    return {
        "albumin_g_dl": np.round(np.where(good, rng.uniform(3.4, 4.6, n), rng.uniform(2.4, 3.8, n)), 1),
        "c3_mg_dl": np.round(np.where(good, rng.uniform(70, 130, n), rng.uniform(35, 95, n))),
        "c4_mg_dl": np.round(np.where(good, rng.uniform(12, 35, n), rng.uniform(4, 20, n))),
        "anti_dsdna_iu_ml": np.round(np.exp(np.where(good, rng.normal(2.5, 0.8, n), rng.normal(4.0, 0.9, n))), 1),
    }


# --------------------------------------------------------------------------- study A: patients

def build_study_a(pub: published.Study | None = None, seed: int | None = None) -> dict[str, pd.DataFrame]:
    pub = pub or published.load("study_a")
    rng = np.random.default_rng(SEED["study_a"] if seed is None else seed)
    criteria = Criteria()
    plan = plan_study_a(pub)
    tps = list(pub.timepoints)
    days = np.array([pub.timepoints[t] for t in tps])
    sizes = _arm_sizes(pub)
    values = {a.id: a.value for a in pub.assumptions}

    patients, status_rows = [], []
    pid = 0
    for arm in pub.arms:
        n_arm = sizes[arm]
        ids = [f"A{pid + i + 1:03d}" for i in range(n_arm)]
        pid += n_arm
        arm_plan = plan[plan["arm"] == arm].set_index("timepoint")
        retention = rng.permutation(n_arm)              # rank 0 stays longest
        latent = rng.normal(size=n_arm)                 # propensity to respond
        status = np.full((n_arm, len(tps)), "", dtype=object)
        for j, tp in enumerate(tps):
            row = arm_plan.loc[tp]
            observed = np.flatnonzero(retention < row["n"])
            order = observed[np.argsort(-(latent[observed] + 0.6 * rng.normal(size=observed.size)), kind="stable")]
            status[order[: row["CR"]], j] = "CR"
            status[order[row["CR"]: row["CR"] + row["PR"]], j] = "PR"
            status[order[row["CR"] + row["PR"]:], j] = "NR"
        last = np.array([max([j for j in range(len(tps)) if status[i, j]], default=-1) for i in range(n_arm)])
        lo = np.where(last >= 0, days[np.maximum(last, 0)] + WINDOW + 1, WINDOW + 1)
        hi = np.where(last == len(tps) - 1, days[-1] + 900,
                      np.where(last >= 0, days[np.minimum(last + 1, len(tps) - 1)], days[0]) - WINDOW - 1)
        followup = rng.integers(lo, hi + 1)

        sex = _exact_shuffle(rng, n_arm, {"F": round(values["female_fraction"] * n_arm)}, other="M")
        age_v = values["age"]
        age = np.round(np.clip(rng.normal(age_v["mean"], age_v["sd"], n_arm), age_v["min"], age_v["max"]))
        frame = pd.DataFrame({
            "patient_id": ids, "study": pub.study, "arm": arm, "sex": sex, "age": age,
            "isn_class": _exact_shuffle(rng, n_arm, values["isn_class"][arm]),
            "induction": _exact_shuffle(rng, n_arm, values["induction"][arm]),
            "maintenance": _exact_shuffle(rng, n_arm, values["maintenance"][arm]),
            "prior_response": None, "last_followup_day": followup,
        })
        patients.append(frame)
        for i in range(n_arm):
            for j, tp in enumerate(tps):
                if status[i, j]:
                    status_rows.append((ids[i], j, status[i, j]))
    patients = pd.concat(patients, ignore_index=True)
    status = pd.DataFrame(status_rows, columns=["patient_id", "tp_index", "status"])
    labs = _study_a_labs(rng, pub, patients, status, criteria, days)
    events = _study_a_events(rng, pub, patients, status, days, labs)
    return {"patients.csv": patients, "labs.csv": labs, "events.csv": events}


def _exact_shuffle(rng, n: int, counts: dict, other: str | None = None) -> np.ndarray:
    """n labels with exactly the given counts (the rest `other`), in seeded random order."""
    labels = [k for k, c in counts.items() for _ in range(int(c))]
    if other is not None:
        labels += [other] * (n - len(labels))
    if len(labels) != n:
        raise ValueError(f"counts {counts} add up to {len(labels)}, not {n}")
    return rng.permutation(np.array(labels, dtype=object))


def _study_a_labs(rng, pub, patients, status, criteria, days) -> pd.DataFrame:
    base_v = {a.id: a.value for a in pub.assumptions}["baseline_labs"]
    n = len(patients)
    age, sex = patients["age"].to_numpy(), patients["sex"].to_numpy()
    u = base_v["upcr_g_g"]
    base_upcr = np.round(np.clip(np.exp(rng.normal(np.log(u["median"]), u["log_sd"], n)), u["min"], u["max"]), 2)
    e = base_v["egfr"]
    base_creat = np.round(renal.creatinine_from_egfr(np.clip(rng.normal(e["mean"], e["sd"], n), e["min"], e["max"]),
                                                     age, sex), 2)
    baseline = pd.DataFrame({"patient_id": patients["patient_id"], "day": 0, "upcr_g_g": base_upcr,
                             "creatinine_mg_dl": base_creat,
                             "egfr": np.round(renal.ckd_epi_2009(base_creat, age, sex), 1),
                             **_other_labs(rng, np.full(n, "NR"))})
    idx = patients.reset_index().set_index("patient_id").loc[status["patient_id"], "index"].to_numpy()
    st = status["status"].to_numpy()
    upcr, creat, egfr = _labs_for_status(rng, st, base_upcr[idx], base_creat[idx], age[idx], sex[idx], criteria)
    visits = pd.DataFrame({"patient_id": status["patient_id"],
                           "day": days[status["tp_index"]] + rng.integers(-JITTER, JITTER + 1, len(status)),
                           "upcr_g_g": upcr, "creatinine_mg_dl": creat, "egfr": egfr, **_other_labs(rng, st)})
    labs = pd.concat([baseline, visits], ignore_index=True)
    return labs.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)


def _study_a_events(rng, pub, patients, status, days, labs) -> pd.DataFrame:
    values = {a.id: a.value for a in pub.assumptions}
    events = _poor_outcomes(rng, pub, patients, status, labs)
    # renal flares: a responder at one timepoint who is a non-responder at the next
    wide = status.pivot(index="patient_id", columns="tp_index", values="status")
    for arm, count in values["renal_flares"].items():
        ids = patients.loc[patients["arm"] == arm, "patient_id"]
        candidates = []
        for pid in ids:
            seq = wide.loc[pid] if pid in wide.index else pd.Series(dtype=object)
            for j in range(len(days) - 1):
                if seq.get(j) in ("CR", "PR") and seq.get(j + 1) == "NR":
                    candidates.append((pid, j))
                    break  # one flare per patient
        chosen = rng.choice(len(candidates), size=min(count, len(candidates)), replace=False)
        for c in sorted(chosen):
            pid, j = candidates[c]
            events.append((pid, int(rng.integers(days[j] + JITTER + 1, days[j + 1] - JITTER)), "renal_flare", None))
    # adverse events by category, on random patients within their follow-up
    for arm, categories in values["adverse_events"].items():
        arm_patients = patients[patients["arm"] == arm]
        for category, count in categories.items():
            rows = arm_patients.iloc[rng.choice(len(arm_patients), size=count, replace=False)]
            for pid, fu in zip(rows["patient_id"], rows["last_followup_day"]):
                events.append((pid, int(rng.integers(1, fu + 1)), "adverse_event", category))
    frame = pd.DataFrame(events, columns=["patient_id", "day", "event", "category"])
    return frame.sort_values(["patient_id", "day", "event"], kind="stable").reset_index(drop=True)


def _poor_outcomes(rng, pub, patients, status, labs, tries: int = 20000) -> list[tuple]:
    """ESRD / death among patients lost before the last timepoint and not in CR when last
    seen, between their last visit and their last follow-up day, which then ends follow-up.

    Only the log-rank p is published: the seeded draw whose p rounds to it is kept (the
    search uses statsmodels' fast log-rank; the book recomputes it with lifelines).
    Updates `patients.last_followup_day` of the chosen patients.
    """
    values = {a.id: a.value for a in pub.assumptions}["poor_outcomes"]
    target = next(n for n in pub.targets() if n.measure == "poor_outcome")
    last_status = status.sort_values("tp_index").groupby("patient_id")["status"].last()
    last_index = status.groupby("patient_id")["tp_index"].max()
    last_visit = labs.groupby("patient_id")["day"].max()
    n_tps = int(status["tp_index"].max()) + 1
    lost = patients["patient_id"].map(last_index).fillna(-1).lt(n_tps - 1)
    eligible = lost & patients["patient_id"].map(last_status).ne("CR")
    followup = patients["last_followup_day"].to_numpy()
    first_day = patients["patient_id"].map(last_visit).to_numpy() + 1
    arms = patients["arm"].to_numpy()
    best = None
    for _ in range(tries):
        event = np.zeros(len(patients), dtype=int)
        days = followup.copy()
        for arm, kinds in values.items():
            pool = np.flatnonzero(eligible.to_numpy() & (arms == arm))
            picks = rng.choice(pool, size=sum(kinds.values()), replace=False)
            event[picks] = 1
            days[picks] = rng.integers(first_day[picks], followup[picks] + 1)
        p = survdiff(days, event, arms)[1]
        if best is None or abs(p - target.value) < best[0]:
            best = (abs(p - target.value), event, days)
        if rounds_to(p, target.value, target.decimals):
            break
    _, event, days = best
    patients["last_followup_day"] = days
    kinds = {arm: [k for k, c in kinds.items() for _ in range(c)] for arm, kinds in values.items()}
    out = []
    for i in np.flatnonzero(event):
        out.append((patients["patient_id"].iat[i], int(days[i]), kinds[arms[i]].pop(0), None))
    return out


# --------------------------------------------------------------------------- study B

def build_study_b(pub: published.Study | None = None, seed: int | None = None) -> dict[str, pd.DataFrame]:
    pub = pub or published.load("study_b")
    rng = np.random.default_rng(SEED["study_b"] if seed is None else seed)
    criteria = Criteria()
    res = {r.id: r.value for r in pub.resolutions}
    numbers = {n.id: n for n in pub.targets()}
    values = {a.id: a.value for a in pub.assumptions}
    n = res["n_29_not_20"]["baseline"]
    split = res["subgroup_split"]
    by_group = res["responders_by_subgroup"]
    tp = next(iter(pub.timepoints))
    tp_day = pub.timepoints[tp]

    prior = np.array(["partial"] * split["baseline"]["partial"] + ["none"] * split["baseline"]["none"], dtype=object)
    status = np.full(n, "", dtype=object)  # "" = not evaluated at the timepoint
    for group, counts in by_group.items():
        members = np.flatnonzero(prior == group)
        labels = [k for k in ("CR", "PR", "NR") for _ in range(counts[k])]
        status[members[: len(labels)]] = labels
    evaluated = status != ""
    if evaluated.sum() != res["n_29_not_20"][tp]:
        raise ValueError("study_b.yaml: responders_by_subgroup does not add up to the evaluated patients")

    female_n = next(k for k in range(n + 1) if rounds_to(100 * k / n, numbers["female_pct"].value,
                                                          numbers["female_pct"].decimals))
    sex = _exact_shuffle(rng, n, {"F": female_n}, other="M")
    age = fit(rng.normal(numbers["age_mean"].value, numbers["age_sd"].value, n), 16, 60,
              [Target(tuple(range(n)), numbers["age_mean"].value, numbers["age_sd"].value,
                      numbers["age_mean"].decimals)], grid=1, scale=5)

    base_upcr, w_upcr = _fit_upcr_b(rng, numbers, prior, status, criteria)
    base_egfr, w_egfr = _fit_egfr_b(rng, numbers, status, criteria)
    base_creat = np.round(renal.creatinine_from_egfr(base_egfr, age, sex), 2)
    w_creat = np.round(renal.creatinine_from_egfr(w_egfr, age[evaluated], sex[evaluated]), 2)

    ids = [f"B{i + 1:03d}" for i in rng.permutation(n)]  # ids in no order of group or response
    followup = np.where(evaluated, tp_day + rng.integers(30, 400, n), rng.integers(WINDOW + 1, tp_day - WINDOW, n))
    patients = pd.DataFrame({
        "patient_id": ids, "study": pub.study, "arm": pub.arms[0], "sex": sex, "age": age,
        "isn_class": _exact_shuffle(rng, n, values["isn_class"]), "induction": _exact_shuffle(rng, n, values["prior_induction"]),
        "maintenance": "mycophenolate+tacrolimus", "prior_response": prior, "last_followup_day": followup,
    })
    baseline = pd.DataFrame({"patient_id": ids, "day": 0, "upcr_g_g": base_upcr, "creatinine_mg_dl": base_creat,
                             "egfr": base_egfr, **_other_labs(rng, np.full(n, "NR"))})
    visit = pd.DataFrame({"patient_id": np.array(ids)[evaluated],
                          "day": tp_day + rng.integers(-JITTER, JITTER + 1, evaluated.sum()),
                          "upcr_g_g": w_upcr, "creatinine_mg_dl": w_creat, "egfr": w_egfr,
                          **_other_labs(rng, status[evaluated])})
    labs = pd.concat([baseline, visit], ignore_index=True).sort_values(["patient_id", "day"], kind="stable")
    events = pd.DataFrame(columns=["patient_id", "day", "event", "category"])
    return {"patients.csv": patients.sort_values("patient_id").reset_index(drop=True),
            "labs.csv": labs.reset_index(drop=True), "events.csv": events}


def _fit_upcr_b(rng, numbers, prior, status, criteria: Criteria):
    """Baseline and 24-week UPCR per patient: subgroup means and SDs as published,
    24-week values inside the band of each patient's planned response."""
    n, evaluated = prior.size, status != ""
    m = int(evaluated.sum())
    w_pos = n + np.cumsum(evaluated) - 1          # position of each evaluated patient's 24-week value
    x0 = np.empty(n + m)
    for group in ("partial", "none"):
        members = prior == group
        x0[:n][members] = np.exp(rng.normal(np.log(numbers[f"upcr_baseline_mean_{group}"].value), 0.4, members.sum()))
    ratio = {"CR": 0.15, "PR": 0.35, "NR": 1.3}
    x0[n:] = x0[:n][evaluated] * np.array([ratio[s] for s in status[evaluated]])
    rows, consts = [], []

    def ge(coef: dict, const: float):  # sum(coef[i] * x[i]) + const >= 0
        row = np.zeros(n + m)
        for i, c in coef.items():
            row[i] += c
        rows.append(row)
        consts.append(const)

    cut_cr, cut_pr = criteria.cr_upcr_max, criteria.pr_upcr_max
    keep = 1 - criteria.pr_upcr_reduction_min
    tight, loose = 1 - MARGIN, 1 + MARGIN  # stay a little inside each category's band
    for i in np.flatnonzero(evaluated):
        w, b, s = w_pos[i], i, status[i]
        if s == "CR":
            ge({w: -1}, tight * cut_cr)
        elif s == "PR":
            ge({w: 1}, -loose * cut_cr)
            ge({b: tight * keep, w: -1}, 0)
            ge({w: -1}, tight * cut_pr)
        else:
            ge({w: 1, b: -loose * keep}, 0)
            ge({w: 1}, -loose * cut_cr)
    targets = []
    for group in ("partial", "none"):
        base_idx = tuple(np.flatnonzero(prior == group))
        w_idx = tuple(w_pos[i] for i in base_idx if evaluated[i])
        for label, idx in (("baseline", base_idx), ("24w", w_idx)):
            mean, sd = numbers[f"upcr_{label}_mean_{group}"], numbers[f"upcr_{label}_sd_{group}"]
            targets.append(Target(idx, mean.value, sd.value, mean.decimals))
    lower = np.r_[np.full(n, cut_cr), np.full(m, 0.03)]
    x = fit(x0, lower, 20.0, targets, A=np.array(rows), c=np.array(consts), grid=0.01, scale=np.maximum(x0, 0.3))
    return np.round(x[:n], 2), np.round(x[n:], 2)


def _fit_egfr_b(rng, numbers, status, criteria: Criteria):
    """Baseline and 24-week eGFR: overall means and SDs as published; responders keep
    their kidney function (eGFR >= 98% of baseline, and a normal baseline for CR)."""
    n, evaluated = status.size, status != ""
    m = int(evaluated.sum())
    w_pos = n + np.cumsum(evaluated) - 1
    x0 = np.clip(rng.normal(numbers["egfr_baseline_mean"].value, numbers["egfr_baseline_sd"].value, n), 20, 135)
    x0 = np.where(status == "CR", rng.uniform(90, 130, n), x0)  # CR needs a normal baseline creatinine
    x0 = np.r_[x0, x0[evaluated] * np.where(np.isin(status[evaluated], ["CR", "PR"]), 1.02, 0.8)]
    rows, consts = [], []
    for i in np.flatnonzero(evaluated):
        if status[i] in ("CR", "PR"):
            row = np.zeros(n + m)
            row[w_pos[i]], row[i] = 1, -0.98
            rows.append(row)
            consts.append(0.0)
        if status[i] == "CR":
            row = np.zeros(n + m)
            row[i] = 1
            rows.append(row)
            consts.append(-85.0)  # normal creatinine at baseline for any age/sex in range
    targets = [
        Target(tuple(range(n)), numbers["egfr_baseline_mean"].value, numbers["egfr_baseline_sd"].value,
               numbers["egfr_baseline_mean"].decimals),
        Target(tuple(range(n, n + m)), numbers["egfr_24w_mean"].value, numbers["egfr_24w_sd"].value,
               numbers["egfr_24w_mean"].decimals),
    ]
    x = fit(x0, 15.0, 140.0, targets, A=np.array(rows), c=np.array(consts), grid=0.01, scale=20)
    return np.round(x[:n], 2), np.round(x[n:], 2)


# --------------------------------------------------------------------------- writing

BUILDERS = {"study_a": build_study_a, "study_b": build_study_b}


def build(study: str) -> dict[str, pd.DataFrame]:
    tables = BUILDERS[study]()
    return {name: tables[name][[f.name for f in fields]] for name, fields in schema.FILES.items()}


def write(study: str, out_dir: Path = RECONSTRUCTED_DIR) -> Path:
    """Build `study` and write its three CSVs to out_dir/study, replacing the folder
    only once every file is written."""
    tables = build(study)
    target = Path(out_dir) / study
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{study}-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        for name, frame in tables.items():
            frame.to_csv(tmp / name, index=False, lineterminator="\n")
        if target.exists():
            old = target.with_name(f".{study}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
