"""Statistical tests as thin wrappers over scipy, statsmodels, pingouin and lifelines.

Each returns a small dict (or tidy frame) that carries the name of the test, so
a p-value never appears in a table without the test that produced it. The tests of
two proportions and their effect sizes live in helpers.methods.proportions.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from helpers.methods.proportions import (
    PROPORTION_TESTS,
    compare_proportions,
    difference,
    not_estimable,
)


def logrank(durations: pd.Series, events: pd.Series, groups: pd.Series) -> dict:
    """Log-rank test between two groups, or over three or more (lifelines' multivariate log-rank)."""
    labels = list(pd.unique(groups))
    if len(labels) < 2:
        return not_estimable("log-rank", f"needs two groups, found {len(labels)}")
    if int(events.sum()) == 0:
        return not_estimable("log-rank", "no events")
    if len(labels) > 2:
        from lifelines.statistics import multivariate_logrank_test
        result = multivariate_logrank_test(durations, groups, events)
        return {"test": "log-rank, all groups", "statistic": float(result.test_statistic), "p": float(result.p_value),
                "note": ""}
    a, b = (groups == labels[0]), (groups == labels[1])
    from lifelines.statistics import logrank_test  # imported where used: chapters without events start lighter
    result = logrank_test(durations[a], durations[b], events[a], events[b])
    return {"test": "log-rank", "statistic": float(result.test_statistic), "p": float(result.p_value), "note": ""}


def _auto_test(k1: int, n1: int, k2: int, n2: int) -> str:
    """'fisher' when any expected count of the 2x2 table is below 5, else 'pearson'."""
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    return "fisher" if (sps.contingency.expected_freq(table) < 5).any() else "pearson"


def response_comparison(summary: pd.DataFrame, outcome: str, arms, test: str = "pearson") -> pd.DataFrame:
    """One row per timepoint: k, n and percent per arm, the risk difference and odds ratio with their
    95% CIs (`difference`), the p-value, the test used and a note.

    `summary` is response.summarise(..., by="arm"); `test` is a PROPORTION_TESTS key or "auto"
    (Pearson unless an expected count is < 5, then Fisher). One arm gives counts without a test.
    """
    arms = list(arms)
    if test not in (*PROPORTION_TESTS, "auto"):
        raise ValueError(f"test must be one of {', '.join(PROPORTION_TESTS)}, auto, not {test!r}")
    if not arms:
        raise ValueError("arms must name at least one arm")
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
    if len(arms) > 2:
        return _several_arms(out, arms, test)
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
    sizes = [difference(*row) for row in
             out[[f"{arms[0]}_k", f"{arms[0]}_n", f"{arms[1]}_k", f"{arms[1]}_n"]].itertuples(index=False)]
    return out.assign(**{key: [e[key] for e in sizes] for key in sizes[0]} if sizes else {},
                      p=[r["p"] for r in results], test=[r["test"] for r in results],
                      note=[r["note"] for r in results])


OMNIBUS = "Pearson chi-square, all arms"
CORRECTION = "Holm"


def _several_arms(out: pd.DataFrame, arms: list[str], test: str) -> pd.DataFrame:
    """Three or more arms: per timepoint the omnibus test over every arm (Pearson chi-square on the k x 2 table,
    `p`) and each pair of arms by `test` (`p_<a>_vs_<b>`, and `p_holm_<a>_vs_<b>`: Holm-adjusted over the
    pairs of the timepoint); no effect size (it is a pair's)."""
    pairs = [(a, b) for i, a in enumerate(arms) for b in arms[i + 1:]]
    ps, tests, notes, pairwise = [], [], [], {f"p_{a}_vs_{b}": [] for a, b in pairs}
    for row in out.to_dict("records"):
        table = np.array([[row[f"{a}_k"], row[f"{a}_n"] - row[f"{a}_k"]] for a in arms])
        table = table[table.sum(axis=1) > 0]
        if len(table) < 2 or (table.sum(axis=0) == 0).any():
            ps.append(math.nan)
            notes.append("not estimable: fewer than two arms with patients, or every patient (or none) responds")
        else:
            ps.append(float(sps.chi2_contingency(table, correction=False)[1]))
            notes.append("")
        tests.append(OMNIBUS)
        for a, b in pairs:
            used = test if test != "auto" else "pearson"
            found = compare_proportions(row[f"{a}_k"], row[f"{a}_n"], row[f"{b}_k"], row[f"{b}_n"], used)
            pairwise[f"p_{a}_vs_{b}"].append(found["p"])
    out = out.assign(p=ps, test=tests, note=notes, **pairwise)
    raw = out[list(pairwise)].to_numpy(dtype=float)
    for j, (a, b) in enumerate(pairs):
        out[f"p_holm_{a}_vs_{b}"] = [holm(list(r))[j] for r in raw]
    out.attrs["pairs"] = pairs
    out.attrs["pair_test"] = PROPORTION_TESTS.get(test, PROPORTION_TESTS["pearson"])
    return out


def holm(ps: list[float]) -> list[float]:
    """Holm's step-down adjustment of p-values (NaN left out and kept NaN)."""
    known = sorted((p, i) for i, p in enumerate(ps) if p == p)
    adjusted, running = [math.nan] * len(ps), 0.0
    for rank, (p, i) in enumerate(known):
        running = max(running, min(1.0, (len(known) - rank) * p))
        adjusted[i] = running
    return adjusted


PAIRED_TESTS = {"paired_t": "paired t-test", "wilcoxon": "Wilcoxon signed-rank"}


def paired_change(before, after, test: str = "paired_t") -> dict:
    """Paired comparison of matched values (pingouin: paired t-test or Wilcoxon signed-rank) with
    means and SDs and the mean change with its 95% CI (t distribution); pairs with a missing value
    are dropped."""
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
           "mean_after": mean(y), "sd_after": sd(y), "mean_change": mean(change), "sd_change": sd(change),
           "ci_low": math.nan, "ci_high": math.nan}
    if n < 2:
        return out | not_estimable(out["test"], f"fewer than 2 complete pairs ({n})")
    if (change == 0).all():
        return out | not_estimable(out["test"], "every change is zero")
    if out["sd_change"] == 0:
        return out | not_estimable(out["test"], "every pair changes by the same amount")
    import pingouin as pg  # imported where used (pingouin alone takes about a second to import)
    t = pg.ttest(y, x, paired=True).iloc[0]
    out["ci_low"], out["ci_high"] = (float(v) for v in t["CI95"])
    if test == "paired_t":
        return out | {"statistic": float(t["T"]), "p": float(t["p_val"]), "note": ""}
    w = pg.wilcoxon(y, x).iloc[0]
    return out | {"statistic": float(w["W_val"]), "p": float(w["p_val"]), "note": ""}


def km_by_group(durations: pd.Series, events: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """Kaplan-Meier estimates per group (lifelines), tidy: group, time, survival, at_risk (just before
    the time), events and censored (at the time)."""
    frame = pd.DataFrame({"duration": np.asarray(durations, dtype=float),
                          "event": np.asarray(events, dtype=int), "group": np.asarray(groups)})
    parts = []
    for group, rows in frame.groupby("group", sort=False):
        from lifelines import KaplanMeierFitter
        fit = KaplanMeierFitter().fit(rows["duration"], rows["event"])
        parts.append(pd.DataFrame({"group": group, "time": fit.survival_function_.index.to_numpy(),
                                   "survival": fit.survival_function_.iloc[:, 0].to_numpy(),
                                   "at_risk": fit.event_table["at_risk"].to_numpy(),
                                   "events": fit.event_table["observed"].to_numpy(),
                                   "censored": fit.event_table["censored"].to_numpy()}))
    columns = ["group", "time", "survival", "at_risk", "events", "censored"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)



def hazard_ratio(durations, events, first) -> dict:
    """The hazard ratio of the group `first` (True) over the others, with its 95% CI (Cox proportional
    hazards, lifelines; Efron ties). NaN with no event or a group without patients."""
    from lifelines import CoxPHFitter
    frame = pd.DataFrame({"T": np.asarray(durations, dtype=float), "E": np.asarray(events, dtype=int),
                          "first": np.asarray(first, dtype=int)})
    out = {"test": "Cox proportional hazards", "hr": math.nan, "hr_low": math.nan, "hr_high": math.nan, "p": math.nan}
    if frame["E"].sum() == 0 or frame["first"].nunique() < 2:
        return out
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CoxPHFitter().fit(frame, "T", "E")
    summary = fit.summary.loc["first"]
    return out | {"hr": float(summary["exp(coef)"]), "hr_low": float(summary["exp(coef) lower 95%"]),
                  "hr_high": float(summary["exp(coef) upper 95%"]), "p": float(summary["p"])}
