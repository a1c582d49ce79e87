"""Kidney-function equations: CKD-EPI 2009 (used to keep creatinine and eGFR consistent), CKD-EPI 2021
(race-free) and the Cockcroft-Gault creatinine clearance, each its own measure.

`ckd_epi_2009` and `ckd_epi_2021` are the vectorised float versions (for analyses). `ckd_epi_2009_exact`
computes the same equation in decimal arithmetic (libmpdec: the same digits on every
CPU), and `egfr_tenths` rounds it to the stored precision: the reconstruction stores
eGFR values decided this way, never by a float that may land on either side of a
rounding boundary depending on the machine's vector unit.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache

import numpy as np

# CKD-EPI 2009 (Levey et al., Ann Intern Med 2009;150:604-612), without the race term
_KAPPA = {"F": Decimal("0.7"), "M": Decimal("0.9")}
_ALPHA = {"F": Decimal("-0.329"), "M": Decimal("-0.411")}
_FACTOR = {"F": Decimal("141") * Decimal("1.018"), "M": Decimal("141")}
_SLOPE = Decimal("-1.209")
_AGE_BASE = Decimal("0.993")


def _constants(age, sex=None, female=None):
    female = np.asarray(sex) == "F" if female is None else np.asarray(female, bool)
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.329, -0.411)
    k = 141 * 0.993 ** np.asarray(age, float) * np.where(female, 1.018, 1.0)
    return kappa, alpha, k


def ckd_epi_2009(creatinine_mg_dl, age, sex):
    """eGFR (mL/min/1.73 m²) by the CKD-EPI 2009 creatinine equation (no race term)."""
    return ckd_epi_2009_female(creatinine_mg_dl, age, np.asarray(sex) == "F")


def ckd_epi_2009_female(creatinine_mg_dl, age, female):
    """ckd_epi_2009 with sex given as a boolean array (True: female), for large cohorts."""
    kappa, alpha, k = _constants(age, female=female)
    r = np.asarray(creatinine_mg_dl, float) / kappa
    return k * np.minimum(r, 1) ** alpha * np.maximum(r, 1) ** -1.209


def ckd_epi_2009_exact(creatinine_mg_dl, age, sex: str) -> Decimal:
    """CKD-EPI 2009 in decimal arithmetic (30 significant digits): `creatinine_mg_dl` and `age`
    as Decimal, int or str (a float is taken at its shortest repr)."""
    if sex not in _KAPPA:
        raise ValueError(f"sex must be 'F' or 'M', not {sex!r}")
    with localcontext() as ctx:
        ctx.prec = 30
        creatinine = Decimal(repr(creatinine_mg_dl) if isinstance(creatinine_mg_dl, float) else creatinine_mg_dl)
        age = Decimal(repr(age) if isinstance(age, float) else age)
        if creatinine <= 0:
            raise ValueError(f"creatinine must be positive, not {creatinine}")
        return _creatinine_term_2009(creatinine, sex) * _AGE_BASE ** age


@cache
def _creatinine_term_2009(creatinine: Decimal, sex: str) -> Decimal:
    """The equation's factor times its two creatinine powers (30 digits): the slow part (fractional powers),
    the same for every age, so computed once per creatinine and sex."""
    with localcontext() as ctx:
        ctx.prec = 30
        r = creatinine / _KAPPA[sex]
        low = min(r, Decimal(1)) ** _ALPHA[sex]
        high = max(r, Decimal(1)) ** _SLOPE
        return _FACTOR[sex] * low * high


@cache
def egfr_tenths(creatinine_hundredths: int, age: int, sex: str, equation: str = "ckd_epi_2009") -> int:
    """eGFR in tenths of mL/min/1.73 m² (rounded half up) for a creatinine of
    `creatinine_hundredths` / 100 mg/dL by `equation` (ckd_epi_2009 or ckd_epi_2021): the value the
    reconstruction stores."""
    exact = EXACT[equation](Decimal(creatinine_hundredths).scaleb(-2), age, sex)
    return int(exact.scaleb(1).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# CKD-EPI 2021, race-free (Inker et al., N Engl J Med 2021;385:1737-1749)
_KAPPA_2021 = _KAPPA
_ALPHA_2021 = {"F": Decimal("-0.241"), "M": Decimal("-0.302")}
_FACTOR_2021 = {"F": Decimal("142") * Decimal("1.012"), "M": Decimal("142")}
_SLOPE_2021 = Decimal("-1.200")
_AGE_BASE_2021 = Decimal("0.9938")


def ckd_epi_2021(creatinine_mg_dl, age, sex):
    """eGFR (mL/min/1.73 m²) by the CKD-EPI 2021 creatinine equation (race-free)."""
    female = np.asarray(sex) == "F"
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.241, -0.302)
    k = 142 * 0.9938 ** np.asarray(age, float) * np.where(female, 1.012, 1.0)
    r = np.asarray(creatinine_mg_dl, float) / kappa
    return k * np.minimum(r, 1) ** alpha * np.maximum(r, 1) ** -1.200


def ckd_epi_2021_exact(creatinine_mg_dl, age, sex: str) -> Decimal:
    """CKD-EPI 2021 in decimal arithmetic (30 significant digits), as ckd_epi_2009_exact."""
    if sex not in _KAPPA_2021:
        raise ValueError(f"sex must be 'F' or 'M', not {sex!r}")
    with localcontext() as ctx:
        ctx.prec = 30
        creatinine = Decimal(repr(creatinine_mg_dl) if isinstance(creatinine_mg_dl, float) else creatinine_mg_dl)
        age = Decimal(repr(age) if isinstance(age, float) else age)
        if creatinine <= 0:
            raise ValueError(f"creatinine must be positive, not {creatinine}")
        return _creatinine_term_2021(creatinine, sex) * _AGE_BASE_2021 ** age


@cache
def _creatinine_term_2021(creatinine: Decimal, sex: str) -> Decimal:
    """As _creatinine_term_2009, for CKD-EPI 2021."""
    with localcontext() as ctx:
        ctx.prec = 30
        r = creatinine / _KAPPA_2021[sex]
        return _FACTOR_2021[sex] * min(r, Decimal(1)) ** _ALPHA_2021[sex] * max(r, Decimal(1)) ** _SLOPE_2021


def cockcroft_gault(creatinine_mg_dl, age, sex, weight_kg):
    """Creatinine clearance (mL/min) by Cockcroft-Gault (Nephron 1976;16:31-41): (140 - age) x weight /
    (72 x creatinine), x 0.85 for women; NaN where the weight is missing."""
    female = np.asarray(sex) == "F"
    clearance = (140 - np.asarray(age, float)) * np.asarray(weight_kg, float) / (
        72 * np.asarray(creatinine_mg_dl, float))
    return np.where(female, 0.85 * clearance, clearance)


EQUATIONS = {"egfr_ckd_epi_2009": ckd_epi_2009, "egfr_ckd_epi_2021": ckd_epi_2021}
EXACT = {"ckd_epi_2009": ckd_epi_2009_exact, "ckd_epi_2021": ckd_epi_2021_exact}
