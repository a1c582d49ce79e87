"""Statistical tests as thin wrappers over scipy / lifelines.

Each returns a small dict (or tidy frame) that carries the name of the test, so
a p-value never appears in a table without the test that produced it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy import stats as sps
from statsmodels.stats.proportion import test_proportions_2indep

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
        result = (sps.barnard_exact if test == "barnard" else sps.boschloo_exact)(table)
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


def _auto_test(k1: int, n1: int, k2: int, n2: int) -> str:
    """'fisher' when any expected count of the 2x2 table is below 5, else 'pearson'."""
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    return "fisher" if (sps.contingency.expected_freq(table) < 5).any() else "pearson"


def response_comparison(summary: pd.DataFrame, outcome: str, arms, test: str = "pearson") -> pd.DataFrame:
    """One row per timepoint: k, n and percent per arm, the p-value, the test used and a note.

    `summary` is response.summarise(..., by="arm"); `test` is a PROPORTION_TESTS key or "auto"
    (Pearson unless an expected count is < 5, then Fisher). One arm gives counts without a test.
    """
    arms = list(arms)
    if test not in (*PROPORTION_TESTS, "auto"):
        raise ValueError(f"test must be one of {', '.join(PROPORTION_TESTS)}, auto, not {test!r}")
    if len(arms) not in (1, 2):
        raise ValueError(f"arms must name one or two arms, not {len(arms)}")
    wide = (summary.set_index(["timepoint", "arm"])[[outcome, "n"]].unstack("arm", fill_value=0)
            .reindex(columns=pd.MultiIndex.from_product([[outcome, "n"], arms]), fill_value=0)
            .fillna(0).astype(int))
    out = pd.DataFrame({"timepoint": wide.index})
    for arm in arms:
        k, n = wide[(outcome, arm)].to_numpy(), wide[("n", arm)].to_numpy()
        out[f"{arm}_k"], out[f"{arm}_n"] = k, n
        out[f"{arm}_percent"] = np.where(n > 0, 100 * k / np.maximum(n, 1), np.nan)
    if len(arms) == 1:
        return out.assign(p=math.nan, test="none", note="not estimable: one arm, no between-arm test")
    results = []
    for k1, n1, k2, n2 in out[[f"{arms[0]}_k", f"{arms[0]}_n", f"{arms[1]}_k", f"{arms[1]}_n"]].itertuples(index=False):
        if min(n1, n2) == 0:
            empty = ", ".join(a for a, n in zip(arms, (n1, n2)) if n == 0)
            label = PROPORTION_TESTS.get(test, "Pearson chi-square or Fisher exact (auto)")
            results.append(not_estimable(label, f"no evaluated patients in {empty}"))
            continue
        used = _auto_test(k1, n1, k2, n2) if test == "auto" else test
        result = compare_proportions(k1, n1, k2, n2, used)
        if test == "auto" and used == "fisher":
            result["note"] = "expected count < 5: Fisher exact used"
        results.append(result)
    return out.assign(p=[r["p"] for r in results], test=[r["test"] for r in results],
                      note=[r["note"] for r in results])


CONTINUOUS_TESTS = {"welch": "Welch t-test", "mannwhitney": "Mann-Whitney U"}
PAIRED_TESTS = {"paired_t": "paired t-test", "wilcoxon": "Wilcoxon signed-rank"}


def _values(values) -> np.ndarray:
    """Non-missing values as a float array (a new array: the input is never modified)."""
    array = np.asarray(values, dtype=float)
    return array[~np.isnan(array)]


def compare_continuous(values_a, values_b, test: str = "welch") -> dict:
    """Two-sided two-group comparison: Welch t-test or Mann-Whitney U (scipy); missing values dropped."""
    if test not in CONTINUOUS_TESTS:
        raise ValueError(f"test must be one of {', '.join(CONTINUOUS_TESTS)}, not {test!r}")
    label = CONTINUOUS_TESTS[test]
    a, b = _values(values_a), _values(values_b)
    if min(len(a), len(b)) < 2:
        return not_estimable(label, f"a group has fewer than 2 values ({len(a)} and {len(b)})")
    if test == "welch" and a.std() == 0 and b.std() == 0:
        return not_estimable(label, "no variation within either group")
    if test == "mannwhitney" and np.ptp(np.concatenate([a, b])) == 0:
        return not_estimable(label, "all values are equal")
    result = (sps.ttest_ind(a, b, equal_var=False) if test == "welch"
              else sps.mannwhitneyu(a, b, alternative="two-sided"))
    return {"test": label, "statistic": float(result.statistic), "p": float(result.pvalue), "note": ""}


def paired_change(before, after, test: str = "paired_t") -> dict:
    """Paired comparison of matched values (paired t-test or Wilcoxon signed-rank, scipy) with
    means and SDs; pairs with a missing value are dropped."""
    if test not in PAIRED_TESTS:
        raise ValueError(f"test must be one of {', '.join(PAIRED_TESTS)}, not {test!r}")
    pairs = np.column_stack([np.asarray(before, dtype=float), np.asarray(after, dtype=float)])
    pairs = pairs[~np.isnan(pairs).any(axis=1)]
    x, y = pairs[:, 0], pairs[:, 1]
    change = y - x
    n = len(change)
    sd = lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else math.nan  # noqa: E731
    mean = lambda v: float(np.mean(v)) if len(v) else math.nan  # noqa: E731
    out = {"test": PAIRED_TESTS[test], "n": n, "mean_before": mean(x), "sd_before": sd(x),
           "mean_after": mean(y), "sd_after": sd(y), "mean_change": mean(change), "sd_change": sd(change)}
    if n < 2:
        return out | not_estimable(out["test"], f"fewer than 2 complete pairs ({n})")
    if (change == 0).all():
        return out | not_estimable(out["test"], "every change is zero")
    if test == "paired_t" and out["sd_change"] == 0:
        return out | not_estimable(out["test"], "every pair changes by the same amount")
    result = sps.ttest_rel(y, x) if test == "paired_t" else sps.wilcoxon(y, x)
    return out | {"statistic": float(result.statistic), "p": float(result.pvalue), "note": ""}


def km_by_group(durations: pd.Series, events: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """Kaplan-Meier estimates per group (lifelines), tidy: group, time, survival, at_risk."""
    frame = pd.DataFrame({"duration": np.asarray(durations, dtype=float),
                          "event": np.asarray(events, dtype=int), "group": np.asarray(groups)})
    parts = []
    for group, rows in frame.groupby("group", sort=False):
        fit = KaplanMeierFitter().fit(rows["duration"], rows["event"])
        parts.append(pd.DataFrame({"group": group, "time": fit.survival_function_.index.to_numpy(),
                                   "survival": fit.survival_function_.iloc[:, 0].to_numpy(),
                                   "at_risk": fit.event_table["at_risk"].to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["group", "time", "survival", "at_risk"])


def compare_categorical(table: pd.DataFrame) -> dict:
    """Test of independence on an r x c table of counts: Pearson chi-square (scipy), or Fisher
    exact for a 2x2 table with an expected count < 5."""
    counts = np.asarray(table, dtype=float)
    if min(counts.shape) < 2:
        return not_estimable("Pearson chi-square", f"needs at least 2 rows and 2 columns, not {counts.shape}")
    if (counts.sum(axis=0) == 0).any() or (counts.sum(axis=1) == 0).any():
        return not_estimable("Pearson chi-square", "a row or column has no counts")
    expected = sps.contingency.expected_freq(counts)
    if counts.shape == (2, 2) and (expected < 5).any():
        odds, p = sps.fisher_exact(counts.astype(int))
        return {"test": "Fisher exact", "statistic": float(odds), "p": float(p),
                "note": "expected count < 5: Fisher exact used"}
    chi2, p, _, _ = sps.chi2_contingency(counts, correction=False)
    note = "expected count < 5: chi-square approximation may be poor" if (expected < 5).any() else ""
    return {"test": "Pearson chi-square", "statistic": float(chi2), "p": float(p), "note": note}
