"""Statistical tests as thin wrappers over scipy / lifelines.

Each returns a small dict (or tidy frame) that carries the name of the test, so
a p-value never appears in a table without the test that produced it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from lifelines.statistics import logrank_test
from scipy import stats as sps

PROPORTION_TESTS = {
    "pearson": "Pearson chi-square",
    "yates": "chi-square, Yates-corrected",
    "fisher": "Fisher exact",
}


def not_estimable(test: str, reason: str) -> dict:
    return {"test": test, "statistic": math.nan, "p": math.nan, "note": f"not estimable: {reason}"}


def compare_proportions(k1: int, n1: int, k2: int, n2: int, test: str = "pearson") -> dict:
    """Two-sided test of k1/n1 against k2/n2 on the 2x2 table."""
    if test not in PROPORTION_TESTS:
        raise ValueError(f"test must be one of {', '.join(PROPORTION_TESTS)}, not {test!r}")
    label = PROPORTION_TESTS[test]
    if min(n1, n2) == 0:
        return not_estimable(label, "a group has no patients")
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    if test == "fisher":
        odds, p = sps.fisher_exact(table)
        return {"test": label, "statistic": float(odds), "p": float(p), "note": ""}
    if (table.sum(axis=0) == 0).any():
        return not_estimable(label, "no patient, or every patient, has the outcome")
    chi2, p, _, expected = sps.chi2_contingency(table, correction=(test == "yates"))
    note = "expected count < 5: consider Fisher exact" if (expected < 5).any() else ""
    return {"test": label, "statistic": float(chi2), "p": float(p), "note": note}


def logrank(durations: pd.Series, events: pd.Series, groups: pd.Series) -> dict:
    """Log-rank test between exactly two groups (lifelines)."""
    labels = list(pd.unique(groups))
    if len(labels) != 2:
        return not_estimable("log-rank", f"needs two groups, found {len(labels)}")
    if int(events.sum()) == 0:
        return not_estimable("log-rank", "no events")
    a, b = (groups == labels[0]), (groups == labels[1])
    result = logrank_test(durations[a], durations[b], events[a], events[b])
    return {"test": "log-rank", "statistic": float(result.test_statistic), "p": float(result.p_value), "note": ""}
