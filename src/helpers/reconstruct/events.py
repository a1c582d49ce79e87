"""Events of a reconstructed cohort: poor outcomes fitted to a published log-rank p, decided exactly.

The log-rank statistic is a ratio of whole-number sums: computed here with fractions, it
is the same on every machine. A published p maps to a window of the statistic (by the
chi-square quantiles of its rounding boundaries); a draw is kept only when the exact
statistic lies inside that window with a margin, so a float recomputation (lifelines, in
the book) cannot round it the other way.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.stats import chi2

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
