"""Study A: two arms, response at five timepoints, renal flares, poor outcomes, adverse events.

What is not published is drawn once for both arms together and dealt to the arms in turn
(`deal`): the arms then have the same distributions, so no assumption creates a difference
that no source reports. Only the counts plan (helpers.reconstruct.plan), the class mix the
paper describes and the maintenance regimens that define the arms differ between them.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from .. import published
from ..response import WINDOW, Criteria
from . import labs, plan
from .draw import Draws, ln
from .events import logrank_statistic, p_rounds_to, statistic_window

JITTER = 14        # visits fall within +/- JITTER days of the nominal day (well inside the visit window)
OTHER_LABS = ("albumin_g_dl", "c3_mg_dl", "c4_mg_dl", "anti_dsdna_iu_ml")


def deal(values: list, sizes: dict[str, int]) -> dict[str, list]:
    """Values in the given order, each to the group that has had the smallest share of its size
    so far (the first group on a tie): every group gets the same distribution."""
    out = {g: [] for g in sizes}
    for v in values:
        g = min(sizes, key=lambda g: (Fraction(len(out[g]), sizes[g]), list(sizes).index(g)))
        out[g].append(v)
    return out


def _pooled(draws: Draws, sizes: dict[str, int], draw_one) -> dict[str, list]:
    """One draw per patient of both arms together, sorted, dealt to the arms, shuffled in each."""
    values = sorted(draw_one() for _ in range(sum(sizes.values())))
    dealt = deal(values, sizes)
    return {g: [v[i] for i in draws.permutation(len(v))] for g, v in dealt.items()}


def _labels(counts: dict[str, int]) -> list[str]:
    return [label for label, c in counts.items() for _ in range(int(c))]


def build(pub: published.Study, seed: int) -> dict[str, pd.DataFrame]:
    draws = Draws(seed)
    criteria = Criteria()
    the_plan = plan.plan(pub)
    tps = list(pub.timepoints)
    days = [pub.timepoints[t] for t in tps]
    sizes = plan.arm_sizes(pub)
    values = {a.id: a.value for a in pub.assumptions}

    # --- patients: baseline characteristics the same in both arms ---------------------------
    age, base = values["age"], values["baseline_labs"]
    ages = _pooled(draws, sizes, lambda: draws.normal_units(age["mean"], age["sd"], age["min"], age["max"], 1))
    u, e = base["upcr_g_g"], base["egfr"]
    upcr = _pooled(draws, sizes, lambda: draws.lognormal_units(ln(u["median"]), u["log_sd"], round(100 * u["min"]),
                                                               round(100 * u["max"]), 0.01))
    egfr = _pooled(draws, sizes, lambda: draws.normal_units(e["mean"], e["sd"], round(10 * e["min"]),
                                                           round(10 * e["max"]), 0.1))
    other = {name: _pooled(draws, sizes, lambda name=name: labs.other_labs(draws, False)[name]) for name in OTHER_LABS}
    induction = deal(_labels(values["induction"]), sizes)
    patients, baseline_rows, first = [], [], 1
    for arm in pub.arms:
        n = sizes[arm]
        female = round(Fraction(repr(values["female_fraction"])) * n)
        sex = [_labels({"F": female, "M": n - female})[i] for i in draws.permutation(n)]
        for name, counts in (("isn_class", values["isn_class"][arm]), ("maintenance", values["maintenance"][arm])):
            if sum(counts.values()) != n:
                raise ValueError(f"{pub.study}.yaml: assumption {name} for {arm} adds up to "
                                 f"{sum(counts.values())}, not {n}")
        isn = [_labels(values["isn_class"][arm])[i] for i in draws.permutation(n)]
        maintenance = [_labels(values["maintenance"][arm])[i] for i in draws.permutation(n)]
        regimen = [induction[arm][i] for i in draws.permutation(n)]
        for i in range(n):
            pid = f"A{first + i:03d}"
            creatinine = labs.baseline_creatinine(draws, egfr[arm][i], ages[arm][i], sex[i], e["mean"], e["sd"],
                                                  labs.BASELINE_CREATININE_MIN)
            patients.append({"patient_id": pid, "study": pub.study, "arm": arm, "sex": sex[i], "age": ages[arm][i],
                             "isn_class": isn[i], "induction": regimen[i], "maintenance": maintenance[i],
                             "prior_response": None})
            baseline_rows.append({"patient_id": pid, "day": 0, "upcr": upcr[arm][i], "creatinine": creatinine,
                                  **{name: other[name][arm][i] for name in OTHER_LABS}})
        first += n
    patients = pd.DataFrame(patients)
    base_by_id = {r["patient_id"]: r for r in baseline_rows}

    # --- response status at each timepoint, exactly the planned counts ------------------------
    status: dict[tuple[str, int], str] = {}
    followup = {}
    for arm in pub.arms:
        ids = list(patients.loc[patients["arm"] == arm, "patient_id"])
        retention = draws.permutation(len(ids))              # rank 0 stays longest
        latent = [draws.normal() for _ in ids]               # propensity to respond
        for j, tp in enumerate(tps):
            row = the_plan.rows[tp, arm]
            seen = [i for i in range(len(ids)) if retention[i] < row["n"]]
            order = sorted(seen, key=lambda i: (-(latent[i] + 0.6 * draws.normal()), i))
            for rank, i in enumerate(order):
                status[ids[i], j] = "CR" if rank < row["CR"] else "PR" if rank < row["CR"] + row["PR"] else "NR"
        for i, pid in enumerate(ids):
            last = max((j for j in range(len(tps)) if (pid, j) in status), default=-1)
            lo = (days[last] if last >= 0 else 0) + WINDOW + 1
            hi = days[-1] + 900 if last == len(tps) - 1 else days[last + 1] - WINDOW - 1
            followup[pid] = draws.integer(lo, hi)

    # --- visits --------------------------------------------------------------------------------
    lab_rows = [dict(r) for r in baseline_rows]
    sex_of = dict(zip(patients["patient_id"], patients["sex"]))
    age_of = dict(zip(patients["patient_id"], patients["age"]))
    for (pid, j), st in sorted(status.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        b = base_by_id[pid]
        lo, hi = labs.upcr_band(draws, st, b["upcr"], criteria)
        c_lo, c_hi = labs.creatinine_band(draws, st, b["creatinine"], sex_of[pid], criteria)
        lab_rows.append({"patient_id": pid, "day": days[j] + draws.integer(-JITTER, JITTER),
                         "upcr": labs.visit_upcr(draws, st, lo, hi, b["upcr"]),
                         "creatinine": labs.visit_creatinine(draws, st, c_lo, c_hi, b["creatinine"]),
                         **labs.other_labs(draws, st != "NR")})

    # --- events ----------------------------------------------------------------------------------
    events = _poor_outcomes(draws, pub, patients, status, followup, lab_rows, tps, days, base_by_id)
    events += _flares(draws, values["renal_flares"], sizes, patients, status, days)
    events += _adverse_events(draws, values["adverse_events"], sizes, patients, followup)

    patients["last_followup_day"] = patients["patient_id"].map(followup)
    lab_frame = labs.lab_frame(lab_rows, age_of, sex_of)
    event_frame = pd.DataFrame(events, columns=["patient_id", "day", "event", "category"])
    event_frame = event_frame.sort_values(["patient_id", "day", "event"], kind="stable").reset_index(drop=True)
    return {"patients.csv": patients, "labs.csv": lab_frame, "events.csv": event_frame}


def _poor_outcomes(draws, pub, patients, status, followup, lab_rows, tps, days, base_by_id,
                   batches: int = 200, batch: int = 256) -> list[tuple]:
    """ESRD and death, split between the arms in proportion to their sizes, among patients not in CR
    when last seen, after their last visit window. Seeded draws (patients and days, a batch at a time)
    until the exact log-rank statistic gives the published p; follow-up then ends at the event, and an
    ESRD follows a visit with eGFR below 15."""
    values = {a.id: a.value for a in pub.assumptions}["poor_outcomes"]
    target = next(n for n in pub.targets() if n.measure == "poor_outcome" and n.statistic == "logrank_p")
    window = statistic_window(target.value, target.decimals)
    sizes = plan.arm_sizes(pub)
    per_arm = {arm: {} for arm in pub.arms}
    for kind, total in values.items():
        for arm, count in plan.split_by_size(total, sizes).items():
            per_arm[arm][kind] = count
    ids = list(patients["patient_id"])
    arm_of = dict(zip(ids, patients["arm"]))
    age_of, sex_of = dict(zip(ids, patients["age"])), dict(zip(ids, patients["sex"]))
    last = {p: max((j for j in range(len(tps)) if (p, j) in status), default=-1) for p in ids}
    earliest = {p: (days[last[p]] if last[p] >= 0 else 0) + WINDOW + 15 for p in ids}
    position = {p: i for i, p in enumerate(ids)}
    pools = {arm: np.array([position[p] for p in ids if arm_of[p] == arm and followup[p] - earliest[p] >= 30
                            and (last[p] < 0 or status[p, last[p]] != "CR")]) for arm in pub.arms}
    base = np.array([followup[p] for p in ids])
    first_arm = np.array([arm_of[p] == pub.arms[0] for p in ids])
    lo = np.array([earliest[p] for p in ids])
    for _ in range(batches):
        picked = np.concatenate([pools[arm][np.argsort(draws.rng.random((batch, len(pools[arm]))), axis=1)
                                             [:, :sum(kinds.values())]] for arm, kinds in per_arm.items()], axis=1)
        event_days = draws.rng.integers(lo[picked], base[picked] + 1)
        trial = np.repeat(base[None, :], batch, axis=0)
        np.put_along_axis(trial, picked, event_days, axis=1)
        screen = _logrank_batch(trial, event_days, first_arm[picked], first_arm)
        for b in np.flatnonzero((screen > window[0] * (1 - 1e-6)) & (screen < window[1] * (1 + 1e-6))):
            events = np.zeros(len(ids), dtype=bool)
            events[picked[b]] = True
            if p_rounds_to(logrank_statistic(trial[b], events, first_arm), window):
                chosen = {ids[i]: int(d) for i, d in zip(picked[b], event_days[b])}
                break
        else:
            continue
        break
    else:
        raise RuntimeError(f"{pub.study}: no draw of {batches * batch} gives the published log-rank p = "
                           f"{target.value}")
    out = []
    for arm, kinds in per_arm.items():
        picked = [p for p in chosen if arm_of[p] == arm]
        labels = _labels(kinds)
        for p, kind in zip(picked, labels):
            day = chosen[p]
            followup[p] = day
            out.append((p, day, kind, None))
            if kind == "esrd":  # the visit that showed end-stage kidney function
                visit = day - draws.integer(3, 14)
                b = base_by_id[p]
                lab_rows.append({"patient_id": p, "day": visit,
                                 "upcr": draws.lognormal_units(ln(max(b["upcr"], 350) / 100), 0.2,
                                                               max(b["upcr"], 300), 2000, 0.01),
                                 "creatinine": labs.creatinine_for_egfr(draws.integer(60, 140), age_of[p], sex_of[p]),
                                 **labs.other_labs(draws, False)})
    return out


def _logrank_batch(days: np.ndarray, event_days: np.ndarray, event_first: np.ndarray,
                   first: np.ndarray) -> np.ndarray:
    """The log-rank statistic of each row of `days` (a batch of trials, patients in columns) whose only
    events are on `event_days` (one column per event), in floating point: a quick screen for the exact
    statistic. Summing over events one by one gives the same sums as over distinct event times."""
    at_risk = (days[:, None, :] >= event_days[:, :, None]).sum(axis=2)
    at_risk_first = ((days[:, None, :] >= event_days[:, :, None]) & first[None, None, :]).sum(axis=2)
    tied = (event_days[:, :, None] == event_days[:, None, :]).sum(axis=2)
    share = at_risk_first / at_risk
    expected = share.sum(axis=1)
    variance = (share * (1 - share) * (at_risk - tied) / np.maximum(at_risk - 1, 1)).sum(axis=1)
    return (event_first.sum(axis=1) - expected) ** 2 / variance


def _flares(draws, total, sizes, patients, status, days) -> list[tuple]:
    """Renal flares, split between the arms in proportion to their sizes: a responder at one
    timepoint who no longer responds at the next, on a day between the two visit windows."""
    out = []
    for arm, count in plan.split_by_size(total, sizes).items():
        candidates = []
        for pid in patients.loc[patients["arm"] == arm, "patient_id"]:
            for j in range(len(days) - 1):
                if status.get((pid, j)) in ("CR", "PR") and status.get((pid, j + 1)) == "NR":
                    candidates.append((pid, j))
                    break
        if count > len(candidates):
            raise RuntimeError(f"{arm}: {count} renal flares planned, {len(candidates)} possible")
        for c in sorted(draws.choice(len(candidates), count)):
            pid, j = candidates[c]
            out.append((pid, draws.integer(days[j] + WINDOW + 1, days[j + 1] - WINDOW - 1), "renal_flare", None))
    return out


def _adverse_events(draws, categories, sizes, patients, followup) -> list[tuple]:
    """Adverse events per category, split between the arms in proportion to their sizes, on
    random patients, on a day before the end of their follow-up."""
    out = []
    for category, total in categories.items():
        for arm, count in plan.split_by_size(total, sizes).items():
            ids = list(patients.loc[patients["arm"] == arm, "patient_id"])
            for i in sorted(draws.choice(len(ids), count)):
                out.append((ids[i], draws.integer(1, followup[ids[i]] - 1), "adverse_event", category))
    return out
