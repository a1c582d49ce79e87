"""Events of a reconstructed cohort: poor outcomes fitted to a published log-rank p, decided exactly;
renal flares and adverse events.

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

from ..response import WINDOW
from . import labs
from .draw import Draws, ln
from .moments import SolveError
from .plan import expand, split_by_size

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
    """What the event draws read and change: per patient (by position) id, arm, sex, age, planned
    status {(patient, timepoint index): CR/PR/NR}, follow-up, baseline UPCR (0.01 g/g); the lab rows."""
    ids: list
    arm: list
    sex: list
    age: list
    status: dict
    followup: list
    days: list
    baseline_upcr: list
    lab_rows: list

    def last_seen(self, i: int) -> int:
        return max((j for j in range(len(self.days)) if (i, j) in self.status), default=-1)


def poor_outcomes(draws: Draws, pub, kinds: dict[str, int], sizes: dict[str, int], state: State,
                  batches: int = 200, batch: int = 256) -> list[tuple]:
    """ESRD and death, split between the arms in proportion to their sizes, among patients not in CR
    when last seen, after their last visit window. With a published log-rank p (two arms): seeded
    draws, a batch at a time, until the exact log-rank statistic gives it. Follow-up then ends at the
    event, and an ESRD follows a visit with eGFR below 15."""
    per_arm = {arm: {} for arm in sizes}
    for kind, total in kinds.items():
        for arm, count in split_by_size(total, sizes).items():
            per_arm[arm][kind] = count
    arms = list(sizes)
    n = len(state.ids)
    earliest = np.array([(state.days[j] if (j := state.last_seen(i)) >= 0 else 0) + WINDOW + 15 for i in range(n)])
    base = np.array(state.followup)
    pools = {arm: np.array([i for i in range(n) if state.arm[i] == arm and base[i] - earliest[i] >= 30
                            and (state.last_seen(i) < 0 or state.status[i, state.last_seen(i)] != "CR")])
             for arm in arms}
    for arm, kinds_here in per_arm.items():
        if sum(kinds_here.values()) > len(pools[arm]):
            raise RuntimeError(f"{pub.study}: {sum(kinds_here.values())} poor outcomes planned in {arm}, only "
                               f"{len(pools[arm])} patients can have one")
    target = next((x for x in pub.targets() if x.measure == "poor_outcome" and x.statistic == "logrank_p"), None)
    first_arm = np.array([a == arms[0] for a in state.arm])
    chosen = None
    if target is None or len(arms) != 2:
        picked = np.concatenate([pools[arm][draws.choice(len(pools[arm]), sum(k.values()))]
                                 for arm, k in per_arm.items()]).astype(int)
        chosen = {int(i): draws.integer(int(earliest[i]), int(base[i])) for i in picked}
    else:
        window = statistic_window(target.value, target.decimals)
        for _ in range(batches):
            picked = np.concatenate([pools[arm][np.argsort(draws.rng.random((batch, len(pools[arm]))), axis=1)
                                                 [:, :sum(k.values())]] for arm, k in per_arm.items()], axis=1)
            event_days = draws.rng.integers(earliest[picked], base[picked] + 1)
            trial = np.repeat(base[None, :], batch, axis=0)
            np.put_along_axis(trial, picked, event_days, axis=1)
            screen = _logrank_batch(trial, event_days, first_arm[picked], first_arm)
            for b in np.flatnonzero((screen > window[0] * (1 - 1e-6)) & (screen < window[1] * (1 + 1e-6))):
                flags = np.zeros(n, dtype=bool)
                flags[picked[b]] = True
                if p_rounds_to(logrank_statistic(trial[b], flags, first_arm), window):
                    chosen = {int(i): int(d) for i, d in zip(picked[b], event_days[b])}
                    break
            if chosen is not None:
                break
        else:
            raise SolveError(f"{pub.study}: no draw of {batches * batch} gives the published log-rank p = "
                             f"{target.value}", (target.id,))
    out = []
    for arm, kinds_here in per_arm.items():
        for i, kind in zip([i for i in chosen if state.arm[i] == arm], expand(kinds_here)):
            day = chosen[i]
            state.followup[i] = day
            out.append((state.ids[i], day, kind, None))
            if kind == "esrd":  # the visit that showed end-stage kidney function
                before = state.baseline_upcr[i]
                state.lab_rows.append({
                    "patient_id": state.ids[i], "day": day - draws.integer(3, 14),
                    "upcr": draws.lognormal_units(ln(max(before, 350) / 100), 0.2, max(before, 300), 2000, 0.01),
                    "creatinine": labs.creatinine_for_egfr(draws.integer(60, 140), state.age[i], state.sex[i]),
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


def flares(draws: Draws, total: int, sizes: dict[str, int], state: State) -> list[tuple]:
    """Renal flares, split between the arms in proportion to their sizes: a responder at one
    timepoint who no longer responds at the next, on a day between the two visit windows."""
    out = []
    days = state.days
    for arm, count in split_by_size(total, sizes).items():
        candidates = []
        for i in (i for i in range(len(state.ids)) if state.arm[i] == arm):
            for j in range(len(days) - 1):
                if state.status.get((i, j)) in ("CR", "PR") and state.status.get((i, j + 1)) == "NR":
                    candidates.append((i, j))
                    break
        if count > len(candidates):
            raise SolveError(f"{arm}: {count} renal flares planned, {len(candidates)} possible (a flare needs a "
                             f"response at one timepoint and none at the next)")
        for c in sorted(draws.choice(len(candidates), count)):
            i, j = candidates[c]
            out.append((state.ids[i], draws.integer(days[j] + WINDOW + 1, days[j + 1] - WINDOW - 1), "renal_flare",
                        None))
    return out


def adverse_events(draws: Draws, categories: dict[str, int], sizes: dict[str, int], state: State) -> list[tuple]:
    """Adverse events per category, split between the arms in proportion to their sizes, on
    random patients, on a day before the end of their follow-up."""
    out = []
    for category, total in categories.items():
        for arm, count in split_by_size(total, sizes).items():
            members = [i for i in range(len(state.ids)) if state.arm[i] == arm]
            for k in sorted(draws.choice(len(members), count)):
                i = members[k]
                out.append((state.ids[i], draws.integer(1, state.followup[i] - 1), "adverse_event", category))
    return out
