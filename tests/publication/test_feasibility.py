"""helpers.publication.feasibility: can a published p-value be true, and how far do the sources pin a comparison?

Hand-worked values: a tiny study built here, and study A's known cases."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from helpers.methods.proportions import compare_proportions, compare_response_table
from helpers.publication import feasibility, published
from helpers.publication.consistency import rounds_clearly_to
from helpers.publication.counts import consistent_denominators

A = published.load("study_a")


@pytest.fixture(autouse=True)
def ranges_computed_here(tmp_path, monkeypatch):
    """Every check and difference range below is computed by this test, not read from the build's cache."""
    monkeypatch.setattr(feasibility, "RANGES_DIR", tmp_path / "ranges")
    monkeypatch.setattr(feasibility, "_STORED", {})


# --- Barnard and Boschloo take the arms as the two samples ----------------------------------

def test_barnard_and_boschloo_on_a_hand_worked_table():
    """1 of 2 against 0 of 2. Barnard (pooled z): |z| >= 1.155 everywhere but the three tables with equal
    rates, so p = 1 - min over pi of (1 - pi)^4 + 4 pi^2 (1 - pi)^2 + pi^4 = 1 - 6/16 = 0.625 (at pi = 1/2).
    Boschloo: the one-sided Fisher p of the observed table is 1/2; the tables as extreme, (1, 0), (2, 0) and
    (2, 1), have probability pi (1 - pi) (2 - 3 pi + 3 pi^2), at most 5/16; scipy doubles it: 0.625.
    (Columns taken as the samples, scipy would give 0.3125 and 0.520.)"""
    assert compare_proportions(1, 2, 0, 2, "barnard")["p"] == pytest.approx(0.625, abs=1e-6)
    assert compare_proportions(1, 2, 0, 2, "boschloo")["p"] == pytest.approx(0.625, abs=1e-6)


def test_barnard_and_boschloo_at_six_months():
    assert round(compare_proportions(45, 91, 47, 83, "barnard")["p"], 3) == 0.515
    assert round(compare_proportions(45, 91, 47, 83, "boschloo")["p"], 3) == 0.352


# --- the tests on many tables at once equal scipy and statsmodels one by one ----------------

def test_vectorised_tests_equal_the_scalar_ones_on_every_small_table():
    tables = [(k1, n1, k2, n2) for n1 in range(1, 7) for n2 in range(1, 7)
              for k1 in range(n1 + 1) for k2 in range(n2 + 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # statsmodels warns where the z-test divides by zero
        for test in ("pearson", "yates", "wald"):
            got = feasibility.p_values(test, *np.array(tables).T)
            want = np.array([compare_proportions(*t, test)["p"] for t in tables])
            np.testing.assert_allclose(got, want, rtol=1e-12)   # NaN where the test is not estimable, alike
    rows = [r for r in itertools.product(range(3), repeat=3) if sum(r)]
    pairs = list(itertools.product(rows, rows))
    got = feasibility.response_table_p(np.array([a for a, _ in pairs]), np.array([b for _, b in pairs]))
    np.testing.assert_allclose(got, [compare_response_table(a, b)["p"] for a, b in pairs], rtol=1e-12)


def test_rounds_is_rounds_clearly_to_on_an_array():
    values = [0.0305, 0.0305 * (1 - 1e-10), 0.0305 * (1 + 1e-8), 0.0309, 0.03149999, 0.0315, 0.5, math.nan]
    got = feasibility.rounds(np.array(values), 0.031, 3)
    assert got.tolist() == [rounds_clearly_to(v, 0.031, 3) for v in values] == [
        False, False, True, True, True, False, False, False]


def test_neutral_split_is_one_share_rounded_in_both_arms():
    """PR of those not in CR: 20 of 33 and 13 of 22 are both 60% rounded; 21 of 33 and 8 of 22 share no
    share; 1 of 3 needs a share in [1/6, 1/2), 2 of 3 one in [1/2, 5/6): none in both (half up)."""
    def cells(*rows):   # (n, CR, PR) with PR the count and n - CR the base
        return np.array(rows)
    a = cells((79, 46, 20), (79, 46, 21), (4, 1, 1), (4, 4, 0))
    b = cells((78, 56, 13), (78, 56, 8), (4, 1, 2), (3, 0, 3))
    assert feasibility.neutral("PR", a, b).tolist() == [True, False, False, True]


# --- a tiny study ----------------------------------------------------------------------------

def number(id, statistic, value, decimals, group, outcome="CR", timepoint="1y", source="paper"):
    return {"id": id, "source": source, "quote": f"quoted sentence for {id}", "measure": "response", "group": group,
            "statistic": statistic, "value": value, "decimals": decimals, "outcome": outcome, "timepoint": timepoint}


@pytest.fixture(scope="module")
def tiny() -> published.Study:
    """Arms of 4. At 6 months CR 50.0% (a: 2 or 4 patients) and 33.3% (b: 3 patients only). At 1 year,
    a: CR 25.0% and PR 50.0% (4 patients: 1/2/1); b: CR 50.0% and PR 50.0% (2 patients: 1/1/0, or 4:
    2/2/0, more than the 3 at 6 months). Pearson on 1/4 vs 1/2 gives erfc(sqrt(3/8 / 2)) = 0.5403; on
    1/4 vs 2/4, erfc(sqrt(8/15 / 2)) = 0.4652."""
    vs = "a vs b"
    return published.Study.model_validate({
        "study": "tiny", "title": "Tiny study", "arms": ["a", "b"], "timepoints": {"6m": 182, "1y": 365},
        "sources": {"paper": {"citation": "A paper."}}, "criteria": [],
        "numbers": [
            {**number("n_a", "count", 4, 0, "a"), "measure": "n_patients", "outcome": None, "timepoint": None},
            {**number("n_b", "count", 4, 0, "b"), "measure": "n_patients", "outcome": None, "timepoint": None},
            number("cr_6m_a", "percent", 50.0, 1, "a", timepoint="6m"),
            number("cr_6m_b", "percent", 33.3, 1, "b", timepoint="6m"),
            number("cr_1y_a", "percent", 25.0, 1, "a"),
            number("pr_1y_a", "percent", 50.0, 1, "a", outcome="PR"),
            number("cr_1y_b", "percent", 50.0, 1, "b"),
            number("pr_1y_b", "percent", 50.0, 1, "b", outcome="PR"),
            number("p_rising", "p_value", 0.465, 3, vs),
            number("p_never", "p_value", 0.010, 3, vs),
            number("p_coarse", "p_value", 0.54, 2, vs),
        ],
    })


def test_tiny_cells_and_denominators(tiny):
    assert feasibility.stated_denominators(tiny) == {("6m", "a"): 4, ("1y", "a"): 4, ("6m", "b"): 3, ("1y", "b"): 2}
    s = feasibility.setting(tiny, "1y", "paper")
    assert s.cells == ((feasibility.Cell(4, 1, 2),),
                       (feasibility.Cell(2, 1, 1), feasibility.Cell(4, 2, 2, feasibility.RISE)))
    assert s.ceilings == (4, 3) and s.split is None   # CR and PR published: no split to assume


def test_tiny_reached(tiny):
    v = feasibility.verdict(tiny, "p_coarse")
    assert v.kind == "reached" and (v.hits[0].test, v.hits[0].counts) == ("pearson", "1/4 vs 1/2")
    assert v.text.startswith("Reached under the stated assumptions: Pearson chi-square on 1/4 vs 1/2 gives 0.5403. "
                             "0.54 at two decimals means 0.535 <= p < 0.545; the source prints its other p-values at "
                             "three decimals, where 0.5403 would have been printed as 0.540.")


def test_tiny_not_reached_names_follow_up_that_never_rises(tiny):
    """On 1/4 vs 1/2 no test gives 0.465 (Pearson 0.540, Yates 1, Fisher 1, mid-p 11/15, Barnard 0.783,
    Boschloo 0.726, z 0.546, CR/PR/NR 0.687); Pearson on 1/4 vs 2/4 does, with 4 b patients at 1 year."""
    v = feasibility.verdict(tiny, "p_rising")
    assert v.kind == "not_reached" and len(v.hits) == 1
    hit = v.hits[0]
    assert (hit.test, hit.counts, round(hit.p, 4), hit.breaks) == ("pearson", "1/4 vs 2/4", 0.4652, feasibility.RISE)
    assert hit.why == "4 evaluated b patients at 1y, more than the 3 at 6m"
    assert "without follow-up that never rises (Pearson chi-square on 1/4 vs 2/4 gives 0.4652" in v.text
    assert "(the nearest is 0.5403, Pearson chi-square on 1/4 vs 1/2)" in v.text


def test_tiny_infeasible_gives_the_nearest_and_what_was_searched(tiny):
    """The nearest of every test on both tables is the z-test on 1/4 vs 2/4: z = 0.25 / sqrt(0.1875/4 +
    0.25/4) = 0.756, p = 0.4497."""
    v = feasibility.verdict(tiny, "p_never")
    assert v.kind == "infeasible" and v.hits == ()
    assert (v.nearest.test, v.nearest.counts, round(v.nearest.p, 4)) == ("wald", "1/4 vs 2/4", 0.4497)
    assert "Searched: a n = 4 (where 25.0% CR, 50.0% PR are possible); b n = 2, 4" in v.text
    assert v.tables == 2 and set(v.ranges) == set(feasibility.TESTS)


def test_tiny_check_and_difference_ranges(tiny):
    check = feasibility.check_range(tiny, "p_coarse")
    assert (round(check.low, 4), round(check.high, 4), check.could_fail) == (0.4652, 0.5403, True)
    assert (round(check.stated_low, 4), check.stated_could_fail, check.stated_tables) == (0.5403, False, 1)
    cr = feasibility.difference_range(tiny, "CR", "1y")
    assert (cr.low, cr.high, cr.forced) == (-0.25, -0.25, -1)   # 1/4 against 1/2 or 2/4
    assert "the direction is forced: higher in b" in cr.text()
    pr = feasibility.difference_range(tiny, "PR", "1y")
    assert (pr.low, pr.high, pr.forced) == (0.0, 0.0, 0)


def test_no_significant_difference_between_five_and_five():
    """Fisher on 5/5 vs 0/5 gives 2/252, on 4/5 vs 0/5 (and 5/5 vs 1/5) 10/210 = 0.048: significant.
    3/5 vs 0/5 and 5/5 vs 2/5 give 20/120 = 0.167, 4/5 vs 1/5 52/252 = 0.206: a difference of 60 points."""
    r = feasibility.no_difference_range(5, 5)
    assert (r.low, r.high, r.forced) == (pytest.approx(-0.6), pytest.approx(0.6), 0)


# --- study A ---------------------------------------------------------------------------------

def test_stated_denominators_are_the_reconstructions():
    assert feasibility.stated_denominators(A) == consistent_denominators(A)[1]


def test_six_months_is_infeasible():
    """At 6 months every percentage of the paper (49.5% and 33.0%; 56.6% and 24.1%) is possible only with
    91 and 83 patients: one table, 45/30/16 vs 47/20/16, and no test on it gives 0.308 or 0.213."""
    s = feasibility.setting(A, "6m", "kjim2025")
    assert s.cells == ((feasibility.Cell(91, 45, 30),), (feasibility.Cell(83, 47, 20),))
    cr, pr = feasibility.verdict(A, "cr_6m_p"), feasibility.verdict(A, "pr_6m_p")
    assert cr.kind == pr.kind == "infeasible"
    assert (cr.nearest.test, cr.nearest.counts, round(cr.nearest.p, 4)) == ("midp", "45/91 vs 47/83", 0.3263)
    assert (pr.nearest.test, pr.nearest.counts, round(pr.nearest.p, 4)) == ("midp", "30/91 vs 20/83", 0.2116)
    assert {t: round(lo, 3) for t, (lo, _) in cr.ranges.items()} == {
        "pearson": 0.344, "yates": 0.427, "fisher": 0.365, "midp": 0.326, "barnard": 0.515, "boschloo": 0.352,
        "wald": 0.342, "response_table": 0.432}


def test_one_year():
    cr = feasibility.verdict(A, "cr_1y_p")
    assert cr.kind == "reached" and str(cr.hits[0]) == "Pearson chi-square on 46/88 vs 57/78 gives 0.0058"
    overall = feasibility.verdict(A, "or_1y_p")   # the overall response is free: any count from CR to n
    assert overall.kind == "reached"
    assert ("0.15 at two decimals means 0.145 <= p < 0.155; the source prints its other p-values at three "
            "decimals") in overall.text


def test_two_years_is_reached_only_with_a_lopsided_pr_split():
    """No 2 x 2 test reaches 0.031 on any consistent table (nearest: z on 53/91 vs 61/85, 0.057); the
    CR/PR/NR table does at the stated denominators with PR in 12 of the 33 tacrolimus patients not in CR
    and 14 of the 22 others (0.0309): no share is common to both arms."""
    assert round(float(feasibility.response_table_p(np.array([[46, 12, 21]]), np.array([[56, 14, 8]]))[0]), 4) \
        == 0.0309
    assert not feasibility.neutral("PR", np.array([[79, 46, 12]]), np.array([[78, 56, 14]]))[0]
    v = feasibility.verdict(A, "cr_2y_p")
    assert v.kind == "not_reached" and [h.breaks for h in v.hits] == [feasibility.SPLIT]
    assert v.hits[0].test == "response_table" and round(v.hits[0].p, 4) == 0.0309
    assert "consistent tables reach it without the neutral split (" in v.text
    assert "No 2 x 2 test reaches it on any consistent table (the nearest is 0.0572, unpooled z-test on 53/91 vs " \
           "61/85)" in v.text


def test_three_years_is_excluded_by_follow_up_that_never_rises_or_the_neutral_split():
    """Fisher mid-p on 46/61 vs 69/83 gives 0.2523 and fits 75.4% (46/61 = 75.41%) and 83.1% (69/83 =
    83.13%); 83 is more than the 78 non-tacrolimus patients at 2 years."""
    assert round(compare_proportions(46, 61, 69, 83, "midp")["p"], 4) == 0.2523
    v = feasibility.verdict(A, "or_3y_p")
    assert v.kind == "not_reached"
    rising, split = v.hits
    assert (rising.test, rising.counts, rising.breaks) == ("midp", "46/61 vs 69/83", feasibility.RISE)
    assert rising.why == "83 evaluated no tacrolimus patients at 3y, more than the 78 at 2y"
    assert split.test == "response_table" and split.breaks == feasibility.SPLIT
    assert "consistent tables reach it without follow-up that never rises (Fisher mid-p on 46/61 vs 69/83 gives " \
           "0.2523" in v.text


def test_five_years_printed_at_one_decimal():
    v = feasibility.verdict(A, "or_5y_p")
    assert v.kind == "reached" and str(v.hits[0]) == "Pearson chi-square on 43/59 vs 48/55 gives 0.0557"
    assert ("0.1 at one decimal means 0.05 <= p < 0.15; the source prints its other p-values at three decimals, "
            "where 0.0557 would have been printed as 0.056.") in v.text
    # 63 non-tacrolimus patients fit 87.3% (55/63) but not the 2023 abstract's 85.5%
    s = feasibility.setting(A, "5y", "kjim2025")
    assert {c.n: c.breaks for c in s.cells[1]}[63] == feasibility.SOURCES


def test_could_the_five_year_check_have_failed():
    """Under the stated assumptions (tacrolimus 48 or 59 patients, never more than the 69 at 3 years; 55
    others, the one number fitting both sources) Pearson gives 0.056 (43/59 vs 48/55) to 0.066 (35/48 vs
    48/55): every one prints as 0.1. With follow-up free, 62/85 vs 69/79 gives 0.022."""
    check = feasibility.check_range(A, "or_5y_p")
    assert (round(check.stated_low, 3), round(check.stated_high, 3), check.stated_could_fail) == (0.056, 0.066, False)
    assert (round(check.low, 3), check.could_fail) == (0.022, True)
    assert round(compare_proportions(62, 85, 69, 79)["p"], 3) == 0.022
    one_year = feasibility.check_range(A, "cr_1y_p")
    assert (round(one_year.low, 3), round(one_year.high, 3), one_year.could_fail) == (0.006, 0.086, True)
    assert one_year.stated_could_fail


def test_one_year_pr_is_higher_with_tacrolimus_if_the_overall_p_is_015():
    """CR is 52.3% against 73.1%; an overall response 'similar (p = 0.15)' leaves the tacrolimus group more
    PR: at least 3/65 against 0/26 (+4.6 points), at most 29/88 against 0/26."""
    free = feasibility.difference_range(A, "PR", "1y")
    assert free.forced == 0
    pinned = feasibility.difference_range(A, "PR", "1y", p_value="or_1y_p")
    assert pinned.forced == 1 and (pinned.low_counts, pinned.high_counts) == ("3/65 vs 0/26", "29/88 vs 0/26")
    assert (pinned.low, pinned.high) == (pytest.approx(3 / 65), pytest.approx(29 / 88))


def test_two_year_pr_is_not_pinned():
    """PR from 0 to n - CR: at most 23 of 55 tacrolimus patients (32 in CR) against none, at least none
    against 24 of 85 (61 in CR)."""
    r = feasibility.difference_range(A, "PR", "2y")
    assert (r.low, r.high, r.forced) == (pytest.approx(-24 / 85), pytest.approx(23 / 55), 0)


def test_renal_flares_with_no_significant_difference():
    r = feasibility.no_difference_range(92, 87)
    assert (r.low_counts, r.high_counts, r.forced) == ("44/92 vs 55/87", "48/92 vs 32/87", 0)
    assert (round(r.low, 3), round(r.high, 3)) == (-0.154, 0.154)


def test_fisher_for_every_table_matches_scipy_table_by_table():
    from scipy.stats import fisher_exact
    every = feasibility.fisher_all(12, 9)
    for k1 in range(13):
        for k2 in range(10):
            expected = fisher_exact([[k1, 12 - k1], [k2, 9 - k2]])[1]
            assert abs(every[k1, k2] - expected) <= 1e-12, (k1, k2)


def test_verdicts_are_decided_once_and_read_back_from_the_build_cache(tmp_path, monkeypatch):
    """On study A with one p-value (CR at 6 months; a search of 0.1 s instead of 4 s for all nine)."""
    one_p = A.model_copy(update={"numbers": [n for n in A.numbers
                                             if n.statistic not in ("p_value", "logrank_p") or n.id == "cr_6m_p"]})
    monkeypatch.setattr(feasibility, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(feasibility, "_VERDICTS", {})
    first = feasibility.verdicts(one_p)
    assert list(first) == ["cr_6m_p"] and first["cr_6m_p"].kind == "infeasible"
    files = list(tmp_path.glob("study_a-*.json"))
    assert len(files) == 1
    monkeypatch.setattr(feasibility, "_VERDICTS", {})
    monkeypatch.setattr(feasibility, "_search", lambda pub, n: pytest.fail("searched again despite the cache"))
    assert feasibility.verdicts(one_p) == first
    files[0].write_text("{not json")            # a broken cache is decided again, not trusted
    monkeypatch.setattr(feasibility, "_VERDICTS", {})
    monkeypatch.undo()
    monkeypatch.setattr(feasibility, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(feasibility, "_VERDICTS", {})
    assert feasibility.verdicts(one_p) == first


def test_ranges_are_computed_once_and_read_back_from_the_build_cache(tiny, monkeypatch):
    check, pinned = feasibility.check_range(tiny, "p_coarse"), feasibility.difference_range(tiny, "CR", "1y")
    files = sorted(feasibility.RANGES_DIR.glob("tiny-*.json"))
    assert [f.name.split("-")[2] for f in files] == sorted(["CheckRange", "DifferenceRange"])
    monkeypatch.setattr(feasibility, "_STORED", {})
    monkeypatch.setattr(feasibility, "_check_range", lambda *a: pytest.fail("computed again despite the cache"))
    monkeypatch.setattr(feasibility, "_difference_range", lambda *a: pytest.fail("computed again despite the cache"))
    assert feasibility.check_range(tiny, "p_coarse") == check
    assert feasibility.difference_range(tiny, "CR", "1y") == pinned
    assert feasibility.difference_range(tiny, "CR", "1y").arms == pinned.arms == tuple(tiny.arms)
    for f in files:                                # a broken cache is computed again, not trusted
        f.write_text("{not json")
    monkeypatch.undo()
    monkeypatch.setattr(feasibility, "RANGES_DIR", files[0].parent)
    monkeypatch.setattr(feasibility, "_STORED", {})
    assert feasibility.check_range(tiny, "p_coarse") == check
    assert feasibility.difference_range(tiny, "CR", "1y") == pinned
    assert "not json" not in files[0].read_text()
