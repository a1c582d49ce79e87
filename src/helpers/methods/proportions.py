"""Tests of two proportions and their effect sizes (scipy, statsmodels).

Each test returns a small dict that carries the name of the test, so a p-value never
appears without the test that produced it. This module has no heavier dependency, so
the reconstruction (which needs the Pearson test) starts quickly.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, test_proportions_2indep

PROPORTION_TESTS = {
    "pearson": "Pearson chi-square",
    "yates": "chi-square, Yates-corrected",
    "fisher": "Fisher exact",
    "midp": "Fisher mid-p",
    "barnard": "Barnard exact",
    "boschloo": "Boschloo exact",
    "wald": "unpooled z-test",
}


def not_estimable(test: str, reason: str) -> dict:
    return {"test": test, "statistic": math.nan, "p": math.nan, "note": f"not estimable: {reason}"}


def compare_proportions(k1: int, n1: int, k2: int, n2: int, test: str = "pearson") -> dict:
    """Two-sided test of k1/n1 against k2/n2 on the 2x2 table (scipy, statsmodels)."""
    if test not in PROPORTION_TESTS:
        raise ValueError(f"test must be one of {', '.join(PROPORTION_TESTS)}, not {test!r}")
    label = PROPORTION_TESTS[test]
    if min(n1, n2) == 0:
        return not_estimable(label, "a group has no patients")
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    if test == "fisher":
        odds, p = sps.fisher_exact(table)
        return {"test": label, "statistic": float(odds), "p": float(p), "note": ""}
    if test == "midp":
        return {"test": label, "statistic": math.nan, "p": fisher_midp(k1, n1, k2, n2), "note": ""}
    if (table.sum(axis=0) == 0).any():
        return not_estimable(label, "no patient, or every patient, has the outcome")
    if test in ("barnard", "boschloo"):
        # scipy takes the two samples as the columns: our arms are the rows
        result = (sps.barnard_exact if test == "barnard" else sps.boschloo_exact)(table.T)
        return {"test": label, "statistic": float(result.statistic), "p": float(result.pvalue), "note": ""}
    if test == "wald":
        result = test_proportions_2indep(k1, n1, k2, n2, method="wald", compare="diff")
        return {"test": label, "statistic": float(result.statistic), "p": float(result.pvalue), "note": ""}
    chi2, p, _, expected = sps.chi2_contingency(table, correction=(test == "yates"))
    note = "expected count < 5: consider Fisher exact" if (expected < 5).any() else ""
    return {"test": label, "statistic": float(chi2), "p": float(p), "note": note}


def fisher_midp(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher mid-p: the probability of the 2x2 tables (same margins) less likely than
    the one observed, plus half that of those as likely (scipy's hypergeometric distribution)."""
    total, events = n1 + n2, k1 + k2
    law = sps.hypergeom(total, events, n1)
    support = np.arange(max(0, events - n2), min(events, n1) + 1)
    probabilities, observed = law.pmf(support), law.pmf(k1)
    tie = np.abs(probabilities - observed) <= 1e-7 * observed   # the tolerance scipy's fisher_exact uses
    return float(min(1.0, probabilities[~tie & (probabilities < observed)].sum() + 0.5 * probabilities[tie].sum()))


def compare_response_table(counts_a: tuple[int, int, int], counts_b: tuple[int, int, int]) -> dict:
    """Pearson chi-square on the 2x3 table of CR / PR / non-response by arm."""
    table = np.array([counts_a, counts_b])
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return not_estimable("Pearson chi-square, CR/PR/NR by arm", "an empty row or column")
    chi2, p, _, _ = sps.chi2_contingency(table, correction=False)
    return {"test": "Pearson chi-square, CR/PR/NR by arm", "statistic": float(chi2), "p": float(p), "note": ""}


def proportion_ci(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of k/n (statsmodels), as proportions; NaN when n is 0."""
    if n == 0:
        return math.nan, math.nan
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return float(lo), float(hi)


def difference(k1: int, n1: int, k2: int, n2: int) -> dict:
    """Effect sizes of k1/n1 against k2/n2 (statsmodels): the risk difference with its 95% Newcombe
    (hybrid score) interval, and the odds ratio with its 95% logit (Woolf) interval, 0.5 added to
    every cell when one is empty."""
    out = {"rd": math.nan, "rd_low": math.nan, "rd_high": math.nan, "or": math.nan, "or_low": math.nan,
           "or_high": math.nan}
    if min(n1, n2) == 0:
        return out
    out["rd"] = k1 / n1 - k2 / n2
    out["rd_low"], out["rd_high"] = (float(v) for v in confint_proportions_2indep(
        k1, n1, k2, n2, method="newcomb", compare="diff"))
    cells = (k1, n1 - k1, k2, n2 - k2)
    if 0 in cells:
        if (k1 + k2 == 0) or (k1 + k2 == n1 + n2):
            return out
        a, b, c, d = (v + 0.5 for v in cells)
        method = "logit-adjusted"
    else:
        a, b, c, d = cells
        method = "logit"
    out["or"] = (a * d) / (b * c)
    out["or_low"], out["or_high"] = (float(v) for v in confint_proportions_2indep(
        k1, n1, k2, n2, method=method, compare="odds-ratio"))
    return out


def risk_ratio(k1: int, n1: int, k2: int, n2: int) -> dict:
    """The risk ratio k1/n1 over k2/n2 with its 95% CI on the log scale (Katz); 0.5 added to each count
    when one is 0. NaN when a group has no patients, or nobody has the outcome."""
    out = {"rr": math.nan, "rr_low": math.nan, "rr_high": math.nan}
    if min(n1, n2) == 0 or k1 + k2 == 0:
        return out
    if 0 in (k1, k2):
        k1, k2, n1, n2 = k1 + 0.5, k2 + 0.5, n1 + 0.5, n2 + 0.5
    rr = (k1 / n1) / (k2 / n2)
    se = math.sqrt(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2)
    z = float(sps.norm.ppf(0.975))
    return {"rr": rr, "rr_low": math.exp(math.log(rr) - z * se), "rr_high": math.exp(math.log(rr) + z * se)}
