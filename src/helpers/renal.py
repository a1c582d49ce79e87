"""Kidney-function equations used to keep creatinine and eGFR consistent."""
from __future__ import annotations

import numpy as np


def _constants(age, sex):
    female = np.asarray(sex) == "F"
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.329, -0.411)
    k = 141 * 0.993 ** np.asarray(age, float) * np.where(female, 1.018, 1.0)
    return kappa, alpha, k


def ckd_epi_2009(creatinine_mg_dl, age, sex):
    """eGFR (mL/min/1.73 m²) by the CKD-EPI 2009 creatinine equation (no race term)."""
    kappa, alpha, k = _constants(age, sex)
    r = np.asarray(creatinine_mg_dl, float) / kappa
    return k * np.minimum(r, 1) ** alpha * np.maximum(r, 1) ** -1.209


def creatinine_from_egfr(egfr, age, sex):
    """The serum creatinine (mg/dL) for which CKD-EPI 2009 gives `egfr` (its exact inverse)."""
    kappa, alpha, k = _constants(age, sex)
    ratio = np.asarray(egfr, float) / k
    r = np.where(ratio >= 1, ratio ** (1 / alpha), ratio ** (1 / -1.209))
    return r * kappa
