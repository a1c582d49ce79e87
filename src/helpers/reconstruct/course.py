"""The patient model: each reconstructed patient's labs as one course, not columns drawn apart.

A patient carries a few persistent traits (how low the proteinuria falls in remission, how far
it stays in partial or no response, the kidney function's drift, how active the serology is),
and each visit's labs follow from them, from the planned response at that visit, and from the
visit before (visit-to-visit noise is autocorrelated, so a course moves smoothly):

- UPCR in complete response scatters around the patient's own low level; in partial response
  around a share of the baseline; without response near the baseline (or, after a flare, near
  the flare's level, coming down). Each value is drawn from the model and kept only inside the
  band its planned response allows, the band's edges being the response criteria themselves:
  values fall across every threshold with the density the model gives them, no gap, no pile.
- After a complete response the proteinuria stays below 1 g/g unless a renal flare (an event)
  comes first: a rise to proteinuric levels after remission is a flare, and is recorded as one.
- Creatinine drifts slowly around the patient's level; a raised baseline creatinine recovers
  towards normal in response; ESRD comes at the end of a decline (`decline`).
- Albumin falls as proteinuria rises; C3 and C4 fall and anti-dsDNA rises with disease activity,
  which follows the response (and peaks at a flare).
- eGFR is CKD-EPI 2009 of the creatinine at the patient's age on the day of the visit.

Every value is a whole number of its stored unit (UPCR 0.01 g/g, creatinine 0.01 mg/dL, eGFR 0.1,
albumin 0.1 g/dL, C3 and C4 1 mg/dL, anti-dsDNA 0.1 IU/mL), decided by portable draws
(helpers.reconstruct.draw) and integer or decimal arithmetic, so it is the same on every machine.
The rationale of each coefficient is in its comment; the study files' assumptions cite this module.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from helpers.cohort.renal import egfr_tenths
from helpers.cohort.response import Criteria
from helpers.reconstruct.draw import Draws, exp, ln, to_units

UPCR_MIN, UPCR_MAX = 3, 2000                 # 0.03 to 20 g/g
CREATININE_MIN, CREATININE_MAX = 30, 1500    # 0.30 to 15 mg/dL
AFTER_CR_MAX = 99                            # 0.99 g/g: the most a UPCR rises after a complete response without a flare
FLARE_MIN = 100                              # 1.0 g/g: a proteinuric flare reaches at least this ...
FLARE_RISE = 2                               # ... and at least twice the last value
NOISE_MEMORY = Fraction(1, 2)                # autocorrelation of the visit-to-visit noise (log scale)
TRIES = 200                                  # draws from the model before a value is taken uniformly in its band

# UPCR (log scale): complete response around 0.2 g/g (patients differ by 0.4), partial response
# around 0.3 x baseline, no response around 0.85 x baseline; visit noise 0.3 (autocorrelated).
CR_LEVEL, CR_SPREAD = ln(0.2), 0.4
PR_SHARE, PR_SPREAD = ln(0.3), 0.25
NR_SHARE, NR_SPREAD = ln(0.85), 0.2
UPCR_NOISE = 0.3
AFTER_FLARE = ln(0.6)                        # a visit in no response after a flare: 0.6 x the flare's level
# Creatinine (log scale): visit noise 0.05, drift up to a few % a year; a raised baseline recovers in
# response to 72-97% of the upper limit of normal.
CREATININE_NOISE, DRIFT_SPREAD = 0.05, 0.015
RECOVERY = (0.72, 0.97)
# Disease activity (a score around 0): at baseline it rises with the proteinuria; at a visit it follows
# the response. C3 = 88 - 20 a, C4 = 4 + 0.14 C3, anti-dsDNA = 60 exp(0.85 a) IU/mL, each with noise:
# C3 with C4 (rho about 0.7), complement against anti-dsDNA (about -0.4), as in LN cohorts.
ACTIVITY = {"CR": -0.9, "PR": -0.3, "NR": 0.4, "flare": 1.4}


@dataclass
class Traits:
    """A patient's persistent traits, drawn once."""
    cr_level: float          # log UPCR (g/g) in complete response
    pr_share: float          # log of UPCR / baseline in partial response
    nr_share: float          # log of UPCR / baseline without response
    drift: float             # creatinine drift, log per year
    activity: float          # offset of the disease activity
    birthday: int            # days since the last birthday on day 0
    noise: dict = field(default_factory=dict)   # last visit noise per lab (autocorrelation)
    last: dict = field(default_factory=dict)    # last visit per lab: (response, value in units)


def traits(draws: Draws) -> Traits:
    return Traits(cr_level=CR_LEVEL + CR_SPREAD * draws.normal(), pr_share=PR_SHARE + PR_SPREAD * draws.normal(),
                  nr_share=NR_SHARE + NR_SPREAD * draws.normal(), drift=DRIFT_SPREAD * draws.normal(),
                  activity=0.4 * draws.normal(), birthday=draws.integer(0, 364))


def age_at(age: int, birthday: int, day: int) -> int:
    """Age in whole years on `day`, for a patient `age` years old on day 0, `birthday` days after a birthday."""
    return age + (birthday + day) // 365


# --- bands: the values a planned response allows, in exact arithmetic ----------------------------------

def _fraction(value: float) -> Fraction:
    return Fraction(repr(float(value)))


def _highest_below(limit: float, inclusive: bool) -> int:
    """The largest UPCR (0.01 g/g) that meets 'UPCR < limit' (or '<= limit' when inclusive)."""
    units = _fraction(limit) * 100
    return math.floor(units) if inclusive else math.ceil(units) - 1


def upcr_band(status: str, baseline: int, criteria: Criteria, after_cr: bool = False) -> tuple[int, int]:
    """UPCR band (0.01 g/g) of a visit planned as `status` for a baseline of `baseline` units. CR: within the CR
    limit; PR: above it, at most (1 - reduction) x baseline (the exact halving point left out; no such bound
    when no reduction is asked) and within the PR limit; NR: above the CR limit and, where the definition has
    a partial response, above (1 - reduction) x baseline (no reduction asked: above the PR limit), at most
    3 x baseline. `after_cr`: no flare since a complete response, so below 1 g/g."""
    cr_hi = _highest_below(criteria.cr_upcr_max, criteria.cr_upcr_inclusive)
    keep = (1 - _fraction(criteria.pr_upcr_reduction_min)) * baseline    # PR: u <= keep
    reduces = criteria.pr_upcr_reduction_min > 0
    pr_hi = _highest_below(criteria.pr_upcr_max, criteria.pr_upcr_inclusive)
    if status == "CR":
        lo, hi = UPCR_MIN, cr_hi
    elif status == "PR":
        lo, hi = cr_hi + 1, min(math.ceil(keep) - 1, pr_hi) if reduces else pr_hi
        if not criteria.partial_response:
            raise ValueError("the response definition has no partial response")
    elif status == "NR":
        above = (math.floor(keep) + 1 if reduces else pr_hi + 1) if criteria.partial_response else cr_hi + 1
        lo, hi = max(cr_hi + 1, above), min(max(3 * baseline, cr_hi + 1 + 60), UPCR_MAX)
    else:
        raise ValueError(f"status must be CR, PR or NR, not {status!r}")
    if after_cr:
        hi = min(hi, AFTER_CR_MAX)
    return lo, hi


def baseline_band(status: str, visit: int, criteria: Criteria, lo: int, hi: int) -> tuple[int, int]:
    """Baseline UPCR band (within [lo, hi]) that keeps a later visit of `visit` units in `status`:
    PR needs visit < (1 - reduction) x baseline, NR visit > (1 - reduction) x baseline (and
    baseline >= visit / 3); without a reduction asked (or a partial response), only the latter."""
    keep = 1 - _fraction(criteria.pr_upcr_reduction_min)
    reduces = criteria.pr_upcr_reduction_min > 0 and criteria.partial_response
    if status == "PR":
        if reduces:
            lo = max(lo, math.floor(visit / keep) + 1)
    elif status == "NR":
        lo = max(lo, math.ceil(Fraction(visit, 3)))
        if reduces:
            hi = min(hi, math.ceil(visit / keep) - 1)
    elif status != "CR":
        raise ValueError(f"status must be CR, PR or NR, not {status!r}")
    return lo, hi


def _gfr_ok(egfr: int, baseline_egfr: int, minimum: float | None, drop: float | None) -> bool:
    """eGFR (tenths) at least `minimum`, or above (1 - drop) x baseline (strictly, so a float comparison cannot
    decide otherwise); both None: any eGFR."""
    if minimum is None and drop is None:
        return True
    return (minimum is not None and egfr >= _fraction(minimum) * 10) or \
        (drop is not None and egfr > baseline_egfr * (1 - _fraction(drop)))


def creatinine_ok(status: str, creatinine: int, baseline: int, sex: str, egfr: int, baseline_egfr: int,
                  criteria: Criteria) -> bool:
    """Does a creatinine (and its eGFR, tenths) keep a visit in `status`? CR: by the creatinine rule (normal,
    or below the allowed rise where normal at baseline; or below the allowed rise; or anything), and the CR
    eGFR condition where there is one; PR: the PR eGFR condition and, where there is one, below the allowed
    rise; NR: anything. Limits a float may land on either side of are kept strictly."""
    uln = _fraction(criteria.creatinine_uln_male if sex == "M" else criteria.creatinine_uln_female) * 100
    if status == "CR":
        rise = baseline * (1 + _fraction(criteria.cr_creatinine_rise_max))
        if criteria.cr_creatinine == "normal_or_no_rise":
            ok = creatinine < rise if baseline <= uln else creatinine <= uln
        elif criteria.cr_creatinine == "no_rise":
            ok = creatinine < rise
        else:
            ok = True
        return ok and _gfr_ok(egfr, baseline_egfr, criteria.cr_egfr_min, criteria.cr_egfr_drop_max)
    if status == "PR":
        ok = _gfr_ok(egfr, baseline_egfr, criteria.pr_egfr_min, criteria.pr_egfr_drop_max)
        if criteria.pr_creatinine_rise_max is not None:
            ok = ok and creatinine < baseline * (1 + _fraction(criteria.pr_creatinine_rise_max))
        return ok
    return True


def upper_normal(sex: str, criteria: Criteria) -> int:
    return round(100 * (criteria.creatinine_uln_male if sex == "M" else criteria.creatinine_uln_female))


# --- draws from the model -----------------------------------------------------------------------------

def _noisy(draws: Draws, t: Traits, lab: str, sd: float) -> float:
    """Next autocorrelated visit noise of `lab` (not yet kept: `keep_noise` keeps the accepted one)."""
    last = t.noise.get(lab, sd * draws.normal())
    return float(NOISE_MEMORY) * last + math.sqrt(1 - float(NOISE_MEMORY) ** 2) * sd * draws.normal()


def in_band(draws: Draws, t: Traits, lab: str, centre: float, sd: float, lo: int, hi: int, unit: str,
            ok=lambda v: True) -> int:
    """A value (units) of exp(centre + noise), kept only inside [lo, hi] and where `ok`; after TRIES
    draws, uniform among the values of the band that are `ok` (a band far in the model's tail)."""
    if lo > hi:
        raise ValueError(f"empty band [{lo}, {hi}] for {lab}")
    for _ in range(TRIES):
        noise = _noisy(draws, t, lab, sd)
        value = to_units(exp(centre + noise), float(unit))
        if lo <= value <= hi and ok(value):
            t.noise[lab] = noise
            return value
    allowed = [v for v in range(lo, hi + 1) if ok(v)]
    if not allowed:
        raise ValueError(f"no value of {lab} in [{lo}, {hi}] fits")
    value = allowed[draws.integer(0, len(allowed) - 1)]
    t.noise[lab] = ln(value * float(unit)) - centre
    return value


def pulled(t: Traits, lab: str, status: str, centre: float) -> float:
    """The model's log centre, pulled halfway towards the patient's last value of `lab` where the response
    has not changed since: a course carries on from where it was."""
    last = t.last.get(lab)
    return centre if last is None or last[0] != status else (centre + ln(last[1] / 100)) / 2


def remember(t: Traits, lab: str, status: str, value: int) -> int:
    t.last[lab] = (status, value)
    return value


def upcr_centre(t: Traits, status: str, baseline: int, flare_level: int | None = None) -> float:
    """Log UPCR (g/g) the model expects at a visit in `status`."""
    if status == "CR":
        return pulled(t, "upcr", status, t.cr_level)
    if status == "PR":
        return pulled(t, "upcr", status, ln(baseline / 100) + t.pr_share)
    if flare_level is not None:
        return ln(flare_level / 100) + AFTER_FLARE
    return pulled(t, "upcr", status, ln(baseline / 100) + t.nr_share)


def visit_upcr(draws: Draws, t: Traits, status: str, baseline: int, criteria: Criteria, after_cr: bool = False,
               flare_level: int | None = None) -> int:
    lo, hi = upcr_band(status, baseline, criteria, after_cr)
    value = in_band(draws, t, "upcr", upcr_centre(t, status, baseline, flare_level), UPCR_NOISE, lo, hi, "0.01")
    return remember(t, "upcr", status, value)


def flare_upcr(draws: Draws, t: Traits, last: int) -> int:
    """UPCR (units) at a renal flare: at least 1 g/g and twice the last value."""
    lo = max(FLARE_MIN, FLARE_RISE * last)
    return in_band(draws, t, "upcr", ln(max(2.5 * last, 180) / 100), 0.3, lo, max(lo, UPCR_MAX // 2), "0.01")


def creatinine_level(t: Traits, status: str, baseline: int, sex: str, criteria: Criteria, recovered: int) -> int:
    """The creatinine (units) the patient's kidneys run at in `status`: the baseline; with a raised
    baseline, the recovered level in complete response and halfway there (geometrically) in partial."""
    if baseline <= upper_normal(sex, criteria) or status == "NR":
        return baseline
    return recovered if status == "CR" else math.isqrt(baseline * recovered)


def recovered_level(draws: Draws, baseline: int, sex: str, criteria: Criteria) -> int:
    uln = upper_normal(sex, criteria)
    if baseline <= uln:
        return baseline
    lo, hi = RECOVERY
    return max(CREATININE_MIN, math.floor(uln * (lo + (hi - lo) * draws.uniform())))


SPREAD = (0.8, 1.3)   # a visit's creatinine stays within these multiples of the level of its response


def creatinine_centre(t: Traits, status: str, level: int, day: int) -> float:
    """Log creatinine (mg/dL) the model expects: the level with the patient's drift, carried on from the last
    visit in the same response."""
    return pulled(t, "creatinine", status, ln(level / 100) + t.drift * day / 365)


def visit_creatinine(draws: Draws, t: Traits, status: str, level: int, baseline: int, day: int, age: int, sex: str,
                     baseline_egfr: int, criteria: Criteria, equation: str = "ckd_epi_2009") -> int:
    """A creatinine (units) around `level` with the patient's drift, within SPREAD x level, that keeps
    the visit in `status` (creatinine_ok, eGFR at the visit's age)."""
    lo, hi = max(CREATININE_MIN, math.floor(SPREAD[0] * level)), min(CREATININE_MAX, math.ceil(SPREAD[1] * level))
    value = in_band(draws, t, "creatinine", creatinine_centre(t, status, level, day), CREATININE_NOISE, lo, hi,
                    "0.01", lambda c: creatinine_ok(status, c, baseline, sex, egfr_tenths(c, age, sex, equation),
                                                    baseline_egfr, criteria))
    return remember(t, "creatinine", status, value)


@dataclass
class Decline:
    """The kidneys failing before ESRD: eGFR (tenths) falling geometrically from `start_egfr` on the
    patient's last lab in response or at a flare (`start_day`) to `end_egfr` on the last lab before ESRD."""
    start_day: int
    end_day: int
    end_egfr: int
    start_egfr: int | None = None   # known once the lab of start_day is

    def egfr(self, day: int) -> int:
        share = Fraction(day - self.start_day, max(self.end_day - self.start_day, 1))
        return to_units(exp(ln(self.start_egfr) + float(share) * (ln(self.end_egfr) - ln(self.start_egfr))), 1.0)


# --- albumin, complements, anti-dsDNA ------------------------------------------------------------------

def baseline_activity(draws: Draws, t: Traits, upcr: int) -> float:
    """Disease activity at baseline: active disease, more so with heavier proteinuria."""
    return 0.6 + 0.45 * (ln(upcr / 100) - ln(2.4)) / 0.5 + t.activity + 0.45 * draws.normal()


def visit_activity(draws: Draws, t: Traits, state: str) -> float:
    """Disease activity at a visit in response state `state` (CR, PR, NR or flare)."""
    return ACTIVITY[state] + t.activity + 0.35 * draws.normal()


def other_labs(draws: Draws, upcr: int, activity: float) -> dict:
    """Albumin from the proteinuria; C3, C4 and anti-dsDNA from the activity (truncated by drawing again)."""
    albumin_mean = 4.35 - 0.6 * max(0.0, ln(max(upcr, 1) / 30))
    albumin = draws.normal_units(albumin_mean, 0.28, 15, 55, 0.1)
    c3 = draws.normal_units(88 - 20 * activity, 10, 20, 200, 1)
    c4 = draws.normal_units(4 + 0.14 * c3, 2.8, 1, 80, 1)
    dsdna = draws.lognormal_units(ln(60) + 0.85 * activity, 0.7, 100, 99999, 0.1)
    return {"albumin_g_dl": albumin / 10, "c3_mg_dl": c3, "c4_mg_dl": c4, "anti_dsdna_iu_ml": dsdna / 10}
