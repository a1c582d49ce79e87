"""helpers.methods.stats against textbook / R values (rounded as stated), degenerate inputs and input safety."""
import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import survdiff

from helpers.methods import proportions, stats


def summary_frame(rows):
    """A frame shaped like response.summarise(..., by='arm')."""
    frame = pd.DataFrame(rows, columns=["timepoint", "arm", "n", "CR", "PR", "NR"])
    frame["overall"] = frame["CR"] + frame["PR"]
    frame["timepoint"] = pd.Categorical(frame["timepoint"], categories=["6m", "12m"], ordered=True)
    return frame


# --- proportions ----------------------------------------------------------------------------

def test_pearson_known_value():
    # [[10, 20], [20, 10]]: expected 15 in every cell, chi2 = 4 * 25 / 15 = 6.667,
    # p = 0.0098 (R chisq.test, correct=FALSE)
    r = proportions.compare_proportions(10, 30, 20, 30, "pearson")
    assert (round(r["statistic"], 3), round(r["p"], 4), r["test"]) == (6.667, 0.0098, "Pearson chi-square")


def test_yates_known_value():
    # (|10 - 15| - 0.5)^2 / 15 * 4 = 5.4, p = 0.0201 (R chisq.test default)
    r = proportions.compare_proportions(10, 30, 20, 30, "yates")
    assert (round(r["statistic"], 3), round(r["p"], 4)) == (5.4, 0.0201)


def test_fisher_tea_tasting():
    # Fisher's lady tasting tea, [[3, 1], [1, 3]]: two-sided p = 34/70 = 0.4857, odds ratio 9
    r = proportions.compare_proportions(3, 4, 1, 4, "fisher")
    assert (round(r["p"], 4), r["statistic"], r["test"]) == (0.4857, 9.0, "Fisher exact")


def test_fisher_midp_tea_tasting():
    # the same table: tables as likely as the observed one (x = 1 and 3, 16/70 each) count half,
    # the less likely ones (x = 0 and 4, 1/70 each) fully: 2/70 + 16/70 = 0.2571
    r = proportions.compare_proportions(3, 4, 1, 4, "midp")
    assert (round(r["p"], 4), r["test"]) == (0.2571, "Fisher mid-p")


def test_unpooled_z_by_hand():
    # 10/30 vs 20/30: z = (1/3 - 2/3) / sqrt(2 * (1/3)(2/3) / 30) = -2.7386, two-sided p = 0.0062
    r = proportions.compare_proportions(10, 30, 20, 30, "wald")
    assert (round(r["statistic"], 4), round(r["p"], 4), r["test"]) == (-2.7386, 0.0062, "unpooled z-test")


def test_exact_unconditional_tests_are_more_powerful_than_fisher():
    # Barnard's and Boschloo's tests (scipy) on the tea table lie below Fisher's 0.4857
    barnard, boschloo = (proportions.compare_proportions(3, 4, 1, 4, t)["p"] for t in ("barnard", "boschloo"))
    assert barnard < 0.4857 and boschloo < 0.4857


def test_response_table_by_hand():
    # [[5, 5, 10], [10, 5, 5]]: expected 7.5, 5, 7.5 per row; chi2 = 4 * 2.5^2 / 7.5 = 3.333, p = exp(-3.333/2) = 0.1889
    r = proportions.compare_response_table((5, 5, 10), (10, 5, 5))
    assert (round(r["statistic"], 3), round(r["p"], 4)) == (3.333, 0.1889)


def test_risk_difference_and_odds_ratio_newcombe_1998():
    # Newcombe, Stat Med 1998;17:873, example (a): 56/70 vs 48/80, difference 0.2000, hybrid score
    # interval (method 10) 0.0524 to 0.3339; odds ratio 2.667, Woolf interval 1.276 to 5.572
    e = proportions.difference(56, 70, 48, 80)
    assert (round(e["rd"], 4), round(e["rd_low"], 4), round(e["rd_high"], 4)) == (0.2, 0.0524, 0.3339)
    assert (round(e["or"], 3), round(e["or_low"], 3), round(e["or_high"], 3)) == (2.667, 1.276, 5.572)


def test_odds_ratio_with_an_empty_cell_adds_a_half():
    e = proportions.difference(0, 20, 5, 20)
    assert round(e["or"], 4) == round((0.5 * 15.5) / (20.5 * 5.5), 4) and e["or_low"] > 0


def test_wilson_interval():
    # Wilson score interval of 45/91 by hand: centre (p + z²/2n) / (1 + z²/n) = 0.4947, half-width 0.1006
    assert tuple(round(v, 4) for v in proportions.proportion_ci(45, 91)) == (0.3941, 0.5954)


def test_response_comparison_pearson_and_notes():
    summary = summary_frame([("6m", "a", 30, 10, 0, 20), ("6m", "b", 30, 20, 0, 10),
                             ("12m", "a", 4, 3, 0, 1), ("12m", "b", 4, 1, 0, 3)])
    out = stats.response_comparison(summary, "CR", ["a", "b"])
    assert list(out.columns) == ["timepoint", "a_k", "a_n", "a_percent", "b_k", "b_n", "b_percent", "rd", "rd_low",
                                 "rd_high", "or", "or_low", "or_high", "p", "test", "note"]
    assert list(out["timepoint"]) == ["6m", "12m"]
    first = out.iloc[0]
    shown = (first["a_k"], first["a_n"], round(first["a_percent"], 2), first["b_k"], first["b_n"])
    assert shown == (10, 30, 33.33, 20, 30)
    assert round(first["p"], 4) == 0.0098 and first["test"] == "Pearson chi-square" and first["note"] == ""
    assert out.iloc[1]["note"] == "expected count < 5: consider Fisher exact"


def test_response_comparison_auto_switches_to_fisher():
    summary = summary_frame([("6m", "a", 30, 10, 0, 20), ("6m", "b", 30, 20, 0, 10),
                             ("12m", "a", 4, 3, 0, 1), ("12m", "b", 4, 1, 0, 3)])
    out = stats.response_comparison(summary, "CR", ["a", "b"], test="auto")
    assert list(out["test"]) == ["Pearson chi-square", "Fisher exact"]
    assert round(out.iloc[1]["p"], 4) == 0.4857
    assert out.iloc[1]["note"] == "expected count < 5: Fisher exact used"


def test_response_comparison_overall_uses_cr_plus_pr():
    summary = summary_frame([("6m", "a", 10, 2, 3, 5), ("6m", "b", 10, 6, 2, 2)])
    out = stats.response_comparison(summary, "overall", ["a", "b"], test="fisher")
    assert (out.iloc[0]["a_k"], out.iloc[0]["b_k"], out.iloc[0]["test"]) == (5, 8, "Fisher exact")


def test_response_comparison_empty_group_is_noted_not_silent():
    summary = summary_frame([("6m", "a", 10, 5, 0, 5), ("6m", "b", 10, 6, 0, 4), ("12m", "a", 8, 4, 0, 4)])
    out = stats.response_comparison(summary, "CR", ["a", "b"])
    row = out.iloc[1]
    assert row["b_n"] == 0 and math.isnan(row["b_percent"]) and math.isnan(row["p"])
    assert row["note"] == "not estimable: no evaluated patients in b"
    assert out["note"][out["p"].isna()].str.startswith("not estimable").all()


def test_response_comparison_one_arm_and_bad_arguments():
    summary = summary_frame([("6m", "a", 10, 5, 0, 5)])
    out = stats.response_comparison(summary, "CR", ["a"])
    assert out.iloc[0]["a_percent"] == 50.0 and out.iloc[0]["note"].startswith("not estimable")
    with pytest.raises(ValueError):
        stats.response_comparison(summary, "CR", ["a", "b"], test="t")
    with pytest.raises(ValueError):
        stats.response_comparison(summary, "CR", [])


def test_three_arms_get_an_omnibus_test_and_holm_adjusted_pairs():
    summary = summary_frame([("6m", "a", 40, 30, 0, 10), ("6m", "b", 40, 20, 0, 20), ("6m", "c", 40, 10, 0, 30)])
    out = stats.response_comparison(summary, "CR", ["a", "b", "c"])
    row = out.iloc[0]
    table = [[30, 10], [20, 20], [10, 30]]
    from scipy.stats import chi2_contingency
    assert row["p"] == pytest.approx(chi2_contingency(table, correction=False)[1])
    assert row["test"] == stats.OMNIBUS and out.attrs["pairs"] == [("a", "b"), ("a", "c"), ("b", "c")]
    raw = [row["p_a_vs_b"], row["p_a_vs_c"], row["p_b_vs_c"]]
    assert [row[f"p_holm_{x}"] for x in ("a_vs_b", "a_vs_c", "b_vs_c")] == pytest.approx(stats.holm(raw))
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.2, float("nan")])[1] != stats.holm([0.2, float("nan")])[1]   # NaN stays NaN


def test_response_comparison_on_real_summary():
    from helpers.cohort import data, response
    from helpers.paths import RECONSTRUCTED_DIR
    cohort = data.load(RECONSTRUCTED_DIR / "study_a")
    summary = response.summarise(response.classify(cohort, {"6m": 180, "12m": 365}), by="arm")
    out = stats.response_comparison(summary, "CR", ["tacrolimus", "no_tacrolimus"], test="auto")
    assert len(out) == 2 and out["p"].between(0, 1).all() and (out["test"] != "").all()


# --- continuous -------------------------------------------------------------------------------

def test_paired_t_against_hand_computation():
    before, after = [10, 12, 14, 16], [11, 14, 15, 19]
    # changes 1, 2, 1, 3: mean 1.75, sd = sqrt(2.75 / 3) = 0.9574; t = 1.75 / (0.9574 / 2) = 3.6556, df 3, p = 0.0354
    r = stats.paired_change(before, after)
    assert r["test"] == "paired t-test" and r["n"] == 4
    assert (r["mean_before"], r["mean_after"], r["mean_change"]) == (13.0, 14.75, 1.75)
    assert round(r["sd_before"], 4) == 2.582 and round(r["sd_after"], 4) == 3.304
    assert round(r["sd_change"], 4) == 0.9574
    assert round(r["statistic"], 4) == 3.6556 and round(r["p"], 4) == 0.0354


def test_wilcoxon_exact():
    # five positive changes: W- = 0, exact two-sided p = 2 / 2^5 = 0.0625
    r = stats.paired_change([1, 2, 3, 4, 5], [2, 4, 6, 8, 10], test="wilcoxon")
    assert (r["test"], r["statistic"], r["p"]) == ("Wilcoxon signed-rank", 0.0, 0.0625)


def test_paired_change_drops_incomplete_pairs_and_degenerate():
    r = stats.paired_change([1.0, 2.0, np.nan, 4.0], [2.0, np.nan, 3.0, 6.0])
    assert r["n"] == 2 and r["mean_change"] == 1.5
    r = stats.paired_change([1.0], [2.0])
    assert r["n"] == 1 and math.isnan(r["p"]) and r["note"] == "not estimable: fewer than 2 complete pairs (1)"
    r = stats.paired_change([1, 2, 3], [1, 2, 3], test="wilcoxon")
    assert r["note"] == "not estimable: every change is zero" and r["test"] == "Wilcoxon signed-rank"
    r = stats.paired_change([1, 2, 3], [2, 3, 4])
    assert r["note"] == "not estimable: every pair changes by the same amount" and r["mean_change"] == 1.0


# --- survival ------------------------------------------------------------------------------------

def test_km_by_group_hand_example():
    # group a: durations 1, 2, 3+, 4 -> S = 3/4 at 1, 1/2 at 2, 0 at 4
    km = stats.km_by_group(pd.Series([1, 2, 3, 4, 2, 5]), pd.Series([1, 1, 0, 1, 0, 1]), pd.Series(list("aaaabb")))
    assert list(km.columns) == ["group", "time", "survival", "at_risk", "events", "censored"]
    a = km[km["group"] == "a"]
    assert list(a["time"]) == [0, 1, 2, 3, 4]
    assert list(a["survival"].round(6)) == [1.0, 0.75, 0.5, 0.5, 0.0]
    assert list(a["at_risk"]) == [4, 4, 3, 2, 1]
    assert list(a["events"]) == [0, 1, 1, 0, 1] and list(a["censored"]) == [0, 0, 0, 1, 0]
    assert list(km.loc[km["group"] == "b", "survival"]) == [1.0, 1.0, 0.0]


def test_logrank_agrees_with_statsmodels():
    rng = np.random.default_rng(20240501)
    n = 60
    groups = pd.Series(np.repeat(["a", "b"], n // 2))
    durations = pd.Series(np.round(rng.exponential(np.where(groups == "a", 400, 700)), 0) + 1)
    events = pd.Series((rng.random(n) < 0.7).astype(int))
    ours = stats.logrank(durations, events, groups)
    chi2, p = survdiff(durations.to_numpy(), events.to_numpy(), groups.to_numpy())
    assert ours["test"] == "log-rank"
    assert ours["statistic"] == pytest.approx(chi2, rel=1e-6)
    assert ours["p"] == pytest.approx(p, rel=1e-6)


def test_logrank_degenerate():
    assert stats.logrank(pd.Series([1, 2]), pd.Series([1, 1]), pd.Series(["a", "a"]))["note"] \
        == "not estimable: needs two groups, found 1"
    no_events = stats.logrank(pd.Series([1, 2]), pd.Series([0, 0]), pd.Series(["a", "b"]))
    assert no_events["note"] == "not estimable: no events"


# --- inputs are never modified ---------------------------------------------------------------------

def test_inputs_not_modified():
    summary = summary_frame([("6m", "a", 10, 5, 0, 5), ("6m", "b", 10, 6, 0, 4)])
    a, b = pd.Series([1.0, np.nan, 3.0, 4.0]), pd.Series([2.0, 5.0, np.nan, 9.0])
    table = pd.DataFrame([[10, 20], [20, 10]])
    d, e, g = pd.Series([3, 1, 2, 5]), pd.Series([1, 0, 1, 1]), pd.Series(list("abab"))
    copies = [x.copy() for x in (summary, a, b, table, d, e, g)]
    stats.response_comparison(summary, "CR", ["a", "b"], test="auto")
    stats.paired_change(a, b)
    stats.paired_change(a, b, test="wilcoxon")
    stats.km_by_group(d, e, g)
    stats.logrank(d, e, g)
    for original, copy in zip((summary, a, b, table, d, e, g), copies):
        if isinstance(original, pd.DataFrame):
            pd.testing.assert_frame_equal(original, copy)
        else:
            pd.testing.assert_series_equal(original, copy)


def test_every_result_names_its_test():
    results = [proportions.compare_proportions(1, 2, 1, 2), stats.paired_change([1], [2]),
               stats.logrank(pd.Series([1]), pd.Series([0]), pd.Series(["a"]))]
    assert all(r["test"] for r in results)
