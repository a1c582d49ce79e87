"""Formatting of counts, summaries and p-values for display tables (no statistics here)."""
from __future__ import annotations

import pandas as pd

NOT_ESTIMABLE = "not estimable"


def n_of_N(k: int, n: int, decimals: int = 1, min_cell: int = 0) -> str:  # noqa: N802 (the usual notation)
    """'12/40 (30.0%)'; '0/0 (not estimable)' when n is 0; with disclosure control (min_cell > 0)
    a count below min_cell is shown as '< 5/40' without its percentage."""
    if n == 0:
        return f"{k}/{n} ({NOT_ESTIMABLE})"
    if 0 < n < min_cell:
        return f"suppressed (N < {min_cell})"
    if 0 < k < min_cell:
        return f"< {min_cell}/{n}"
    return f"{k}/{n} ({100 * k / n:.{decimals}f}%)"


def _clean(values) -> pd.Series:
    return pd.Series(values, dtype=float).dropna()


def mean_sd(values, decimals: int = 1, min_cell: int = 0) -> str:
    """'31.4 ± 6.0' (sample SD; missing values dropped); 'not estimable' with fewer than 2 values;
    'suppressed (n < 5)' with fewer than min_cell values."""
    v = _clean(values)
    if 0 < len(v) < min_cell:
        return f"suppressed (n < {min_cell})"
    return NOT_ESTIMABLE if len(v) < 2 else f"{v.mean():.{decimals}f} ± {v.std():.{decimals}f}"


def median_iqr(values, decimals: int = 1) -> str:
    """'2.4 [1.6–3.5]': median [25th–75th percentile] (linear interpolation, R type 7)."""
    v = _clean(values)
    if v.empty:
        return NOT_ESTIMABLE
    q1, q2, q3 = v.quantile([0.25, 0.5, 0.75])
    return f"{q2:.{decimals}f} [{q1:.{decimals}f}–{q3:.{decimals}f}]"


def format_p(p, decimals: int = 3) -> str:
    """'0.042'; '< 0.001' below 10**-decimals; 'not estimable' for NaN / None."""
    if p is None or pd.isna(p):
        return NOT_ESTIMABLE
    floor = 10.0 ** -decimals
    return f"< {floor:.{decimals}f}" if p < floor else f"{p:.{decimals}f}"


def with_test(p, test: str, decimals: int = 3) -> str:
    """'0.042 (Pearson chi-square)': the p-value beside the test that produced it."""
    return f"{format_p(p, decimals)} ({test})" if test else format_p(p, decimals)


def suppress_small(k: int, min_cell: int) -> str:
    """'< 5' when 0 < k < min_cell, else the count itself; min_cell 0 disables suppression."""
    return f"< {min_cell}" if 0 < k < min_cell else str(k)


def response_table(comparison: pd.DataFrame, decimals: int = 1, min_cell: int = 0) -> pd.DataFrame:
    """Display frame from stats.response_comparison (or any frame of that shape, keyed by its first
    column): indexed by the key; '<arm> n/N (%)' per arm, p, test, note."""
    arms = [c[: -len("_n")] for c in comparison.columns if c.endswith("_n")]
    key = comparison.columns[0]
    out = pd.DataFrame({key: comparison[key].astype(str).to_numpy()})
    for arm in arms:
        out[f"{arm} n/N (%)"] = [n_of_N(k, n, decimals, min_cell) for k, n in
                                 zip(comparison[f"{arm}_k"], comparison[f"{arm}_n"])]
    out["p"] = [format_p(p) for p in comparison["p"]]
    out["test"] = comparison["test"].to_numpy()
    out["note"] = comparison["note"].to_numpy()
    return out.set_index(key)
