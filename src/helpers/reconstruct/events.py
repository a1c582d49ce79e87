"""Events of a reconstructed cohort: poor outcomes fitted to a published log-rank p, decided exactly;
adverse events. (Renal flares are planned with the response, helpers.reconstruct.builder.)

The log-rank statistic is a ratio of whole-number sums: computed here with fractions, it
is the same on every machine. A published p maps to a window of the statistic (by the
chi-square quantiles of its rounding boundaries); a draw is kept only when the exact
statistic lies inside that window with a margin, so a float recomputation (lifelines, in
the book) cannot round it the other way.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy.stats import chi2

from helpers.cohort.response import WINDOW
from helpers.reconstruct.draw import Draws
from helpers.reconstruct.moments import SolveError
from helpers.reconstruct.plan import split_by_size

MARGIN = 1e-9


def logrank_statistic(days, event, group) -> Fraction:
    """The two-group log-rank chi-square statistic (hypergeometric variance), exactly.
    `group` is a boolean array (True = first group)."""
    days, event, group = np.asarray(days), np.asarray(event, dtype=bool), np.asarray(group, dtype=bool)
    observed, expected, variance = Fraction(0), Fraction(0), Fraction(0)
    for t in np.unique(days[event]):
        at_risk = days >= t
        n, n1 = int(at_risk.sum()), int((at_risk & group).sum())
        d, d1 = int((event & (days == t)).sum()), int((event & (days == t) & group).sum())
        observed += d1
        expected += Fraction(d * n1, n)
        if n > 1:
            variance += Fraction(d * n1 * (n - n1) * (n - d), n * n * (n - 1))
    return (observed - expected) ** 2 / variance if variance else Fraction(0)


def statistic_window(p: float, decimals: int) -> tuple[float, float]:
    """The chi-square (1 df) statistics whose p-value rounds half up to `p` at `decimals`: (lo, hi]."""
    half = 0.5 * 10.0 ** -decimals
    return float(chi2.isf(p + half, 1)), float(chi2.isf(p - half, 1))


def p_rounds_to(statistic: Fraction, window: tuple[float, float]) -> bool:
    """Is the exact statistic inside the window, clear of both edges by a relative MARGIN?"""
    lo, hi = window
    return Fraction(lo) * (1 + Fraction(MARGIN)) < statistic < Fraction(hi) * (1 - Fraction(MARGIN))


# --- events of a reconstructed cohort ---------------------------------------------------------------

@dataclass
class State:
    """What the event draws read and change: per patient (by position) arm, planned status
    {(patient, timepoint index): CR/PR/NR}, follow-up (changed by a poor outcome), nominal days."""
    arm: list
    status: dict
    followup: list
    days: list

    def last_seen(self, i: int) -> int:
        return max((j for j in range(len(self.days)) if (i, j) in self.status), default=-1)

    def last_status(self, i: int) -> str:
        j = self.last_seen(i)
        return self.status[i, j] if j >= 0 else ""


def poor_outcomes(draws: Draws, pub, kinds: dict[str, int], sizes: dict[str, int], state: State,
                  batches: int = 200, batch: int = 256) -> dict[int, tuple[int, str]]:
    """{patient: (day, 'esrd' or 'death')}: ESRD and death split between the arms in proportion to their
    sizes, after the patient's last visit window; ESRD among patients in no response at their last
    visit (their kidneys then fail: the builder draws the decline), death among those not in complete
    response. With a published log-rank p (two arms): seeded draws, a batch at a time, until the exact
    log-rank statistic gives it. Follow-up then ends at the event."""
    per_arm = {arm: {} for arm in sizes}
    for kind, total in kinds.items():
        for arm, count in split_by_size(total, sizes).items():
            per_arm[arm][kind] = count
    arms = list(sizes)
    n = len(state.arm)
    earliest = np.array([(state.days[j] if (j := state.last_seen(i)) >= 0 else 0) + WINDOW + 15 for i in range(n)])
    base = np.array(state.followup)
    room = base - earliest >= 30
    last = [state.last_status(i) for i in range(n)]
    pools = {(arm, kind): np.array([i for i in range(n) if state.arm[i] == arm and room[i]
                                    and (last[i] == "NR" if kind == "esrd" else last[i] != "CR")])
             for arm in arms for kind in ("esrd", "death")}
    for arm, kinds_here in per_arm.items():
        for kind, count in kinds_here.items():
            if count > len(pools[arm, kind]):
                raise RuntimeError(f"{pub.study}: {count} {kind} planned in {arm}, only {len(pools[arm, kind])} "
                                   f"patients can have one")
    target = next((x for x in pub.targets() if x.measure == "poor_outcome" and x.statistic == "logrank_p"), None)
    first_arm = np.array([a == arms[0] for a in state.arm])
    order = [(arm, kind) for arm in arms for kind in ("esrd", "death") if per_arm[arm].get(kind)]

    def pick(rows: int) -> np.ndarray:
        """`rows` draws of the patients with an event (one column per event, in `order`): ESRD first
        from its pool, then death from its pool without those already chosen."""
        picked = []
        for arm, kind in order:
            pool, count = pools[arm, kind], per_arm[arm][kind]
            keys = draws.rng.random((rows, len(pool)))
            if picked:
                taken = np.concatenate(picked, axis=1)
                keys[(pool[None, :, None] == taken[:, None, :]).any(axis=2)] = np.inf
            picked.append(pool[np.argsort(keys, axis=1)[:, :count]])
        return np.concatenate(picked, axis=1).astype(int)

    kinds_in_order = [kind for arm, kind in order for _ in range(per_arm[arm][kind])]
    chosen = None
    if target is None or len(arms) != 2:
        picked = pick(1)[0]
        chosen = {int(i): (draws.integer(int(earliest[i]), int(base[i])), kind)
                  for i, kind in zip(picked, kinds_in_order)}
    else:
        window = statistic_window(target.value, target.decimals)
        for _ in range(batches):
            picked = pick(batch)
            event_days = draws.rng.integers(earliest[picked], base[picked] + 1)
            trial = np.repeat(base[None, :], batch, axis=0)
            np.put_along_axis(trial, picked, event_days, axis=1)
            screen = _logrank_batch(trial, event_days, first_arm[picked], first_arm)
            for b in np.flatnonzero((screen > window[0] * (1 - 1e-6)) & (screen < window[1] * (1 + 1e-6))):
                flags = np.zeros(n, dtype=bool)
                flags[picked[b]] = True
                if p_rounds_to(logrank_statistic(trial[b], flags, first_arm), window):
                    chosen = {int(i): (int(d), kind) for i, d, kind in zip(picked[b], event_days[b], kinds_in_order)}
                    break
            if chosen is not None:
                break
        else:
            raise SolveError(f"{pub.study}: no draw of {batches * batch} gives the published log-rank p = "
                             f"{target.value}", (target.id,))
    for i, (day, _) in chosen.items():
        state.followup[i] = day
    return chosen


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


def adverse_event_categories(given) -> dict[str, tuple[int, int]]:
    """The assumption adverse_events as {category: (patients, events)}: a number per category (patients, one
    event each) or {patients: n, events: m}."""
    out = {}
    for category, value in (given or {}).items():
        if isinstance(value, dict):
            patients = int(value.get("patients", value.get("events", 0)))
            out[category] = (patients, int(value.get("events", patients)))
        else:
            out[category] = (int(value), int(value))
    return out


def flare_assumption(given) -> tuple[int, int] | None:
    """The assumption renal_flares as (patients, flares): a number of patients (one flare each) or
    {patients: n, events: m}."""
    if given is None:
        return None
    if isinstance(given, dict):
        patients = int(given.get("patients", given.get("events", 0)))
        return patients, int(given.get("events", patients))
    return int(given), int(given)


def adverse_event_problems(categories: dict[str, tuple[int, int]], sizes: dict[str, int]) -> list[str]:
    """What no cohort of these arms can have: more patients with an event of a category than an arm holds, more
    patients than events, or more than ten events a patient."""
    out = []
    for category, (patients, events) in categories.items():
        for a, count in split_by_size(patients, sizes).items():
            if count > sizes[a]:
                out.append(f"adverse event {category}: {patients} patients with one, {count} of them in {a}, which has "
                           f"{sizes[a]} patients")
        if events < patients:
            out.append(f"adverse event {category}: {events} events in {patients} patients: fewer events than patients")
        elif patients and events > 10 * patients:
            out.append(f"adverse event {category}: {events} events in {patients} patients: more than ten a patient")
    return out


def adverse_events(draws: Draws, categories: dict, sizes: dict[str, int], ids: list, arm: list,
                   followup: list) -> list[tuple]:
    """Adverse events per category ({category: (patients, events)}, or a number of patients with one event
    each), the patients split between the arms in proportion to their sizes, on random patients, on a day
    before the end of their follow-up; a category's events beyond its patients go, one more each, to its
    patients in turn (a share of the events split like the patients)."""
    out = []
    for category, value in categories.items():
        patients, events = value if isinstance(value, tuple) else (value, value)
        extra = split_by_size(events - patients, sizes) if events > patients else {}
        for a, count in split_by_size(patients, sizes).items():
            members = [i for i in range(len(ids)) if arm[i] == a]
            chosen = [members[k] for k in sorted(draws.choice(len(members), count))]
            for i in chosen:
                out.append((ids[i], draws.integer(1, followup[i] - 1), "adverse_event", category))
            for k in range(extra.get(a, 0)):
                i = chosen[k % len(chosen)]
                out.append((ids[i], draws.integer(1, followup[i] - 1), "adverse_event", category))
    return out
