"""helpers.compare.scorecard: published numbers beside computed ones, with small hand-made result frames."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers import paths
from helpers.compare import results, scorecard
from helpers.methods.stats import compare_proportions
from helpers.publication import published
from helpers.text import literal

PEARSON_P = round(compare_proportions(5, 10, 2, 10, "pearson")["p"], 3)


def number(id, measure, statistic, value, decimals, group="all", outcome=None, timepoint=None):
    return {"id": id, "source": "paper", "quote": f"quoted sentence for {id}", "measure": measure, "group": group,
            "statistic": statistic, "value": value, "decimals": decimals, "outcome": outcome, "timepoint": timepoint}


@pytest.fixture
def study() -> published.Study:
    """Two arms of 10; CR 50.0% vs 20.0% at 6m with two p-values (one reachable, one not)."""
    vs = "a vs b"
    return published.Study.model_validate({
        "study": "demo", "title": "Demo study", "arms": ["a", "b"], "timepoints": {"6m": 182},
        "sources": {"paper": {"citation": "A paper."}, "abstract": {"citation": "An abstract."}},
        "criteria": [],
        "numbers": [
            number("n_a", "n_patients", "count", 10, 0, group="a"),
            number("n_b", "n_patients", "count", 10, 0, group="b"),
            number("n_all", "n_patients", "count", 20, 0),
            number("n_all_abstract", "n_patients", "count", 19, 0) | {"source": "abstract"},
            number("cr_a", "response", "percent", 50.0, 1, group="a", outcome="CR", timepoint="6m"),
            number("cr_b", "response", "percent", 20.0, 1, group="b", outcome="CR", timepoint="6m"),
            number("cr_p", "response", "p_value", PEARSON_P, 3, group=vs, outcome="CR", timepoint="6m"),
            number("or_p", "response", "p_value", 0.001, 3, group=vs, outcome="overall", timepoint="6m"),
            number("pr_a", "response", "percent", 30.0, 1, group="a", outcome="PR", timepoint="6m"),
        ],
        "resolutions": [{"id": "n20", "about": ["n_all", "n_all_abstract"], "choice": "20 patients.",
                         "why": "The abstract's 19 contradicts its own arm sizes.", "sets_aside": ["n_all_abstract"]}],
        "assumptions": [{"id": "pr_split", "what": "PR counts are not published.", "by_construction": ["pr_a"]}],
    })


def frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=results.COLUMNS)


def by_id(card: pd.DataFrame) -> dict:
    return {r["id"]: r for r in card.to_dict("records")}


def test_reproduced_when_the_computed_value_rounds_to_the_published_one(study):
    card = by_id(scorecard.build(frame(
        results.row("demo", "n_patients", "count", 10, group="a"),
        results.row("demo", "response", "percent", 49.95, group="a", outcome="CR", timepoint="6m", detail="5/10"),
    ), [study]))
    assert card["n_a"]["status"] == "reproduced" and card["n_a"]["reason"] == ""
    assert card["cr_a"]["status"] == "reproduced"          # 49.95 rounds half up to 50.0
    assert card["cr_a"]["detail"] == "5/10" and card["cr_a"]["published"] == 50.0


def test_not_reproduced_just_below_the_rounding_boundary(study):
    card = by_id(scorecard.build(frame(
        results.row("demo", "response", "percent", 49.9499, group="a", outcome="CR", timepoint="6m")), [study]))
    assert card["cr_a"]["status"] == "differs"     # a target that differs: the build set it aside (issue 19)
    assert card["cr_a"]["reason"] == ("Not reached by the reconstruction's draws: the build sets a target aside when "
                                      "its draws keep missing it, builds the rows without aiming at it, and says why "
                                      "in its message (`python -m helpers reconstruct --study demo`).")


def test_a_target_the_build_set_aside_is_checked_with_the_builds_reason(study):
    rows = [results.row("demo", "response", "percent", 40.0, group="a", outcome="CR", timepoint="6m"),
            results.row("demo", "response", "percent", 40.0, group="b", outcome="CR", timepoint="6m")]
    card = by_id(scorecard.check(study, rows, {"cr_a": "Not reached in 10 draws (the reason)."}))
    assert card["cr_a"]["reason"] == "Not reached in 10 draws (the reason)."
    assert card["cr_b"]["reason"].startswith("Not reached by the reconstruction's draws")


def test_not_computed_without_a_matching_row(study):
    card = by_id(scorecard.build(frame(
        results.row("other_study", "n_patients", "count", 10, group="a"),                       # other study
        results.row("demo", "response", "percent", 50.0, group="a", outcome="CR", timepoint="1y"),  # other timepoint
        results.row("demo", "response", "count", 5, group="a", outcome="CR", timepoint="6m"),     # other statistic
    ), [study]))
    assert {r["status"] for r in card.values()} == {"not computed"}
    assert card["cr_a"]["reason"] == "No notebook wrote this number."
    assert math.isnan(card["cr_a"]["computed"])


def test_one_computed_number_serves_every_published_number_with_its_keys(study):
    card = by_id(scorecard.build(frame(results.row("demo", "n_patients", "count", 20)), [study]))
    assert card["n_all"]["status"] == "reproduced"
    assert card["n_all_abstract"]["status"] == "differs"
    assert card["n_all_abstract"]["reason"] == "The abstract's 19 contradicts its own arm sizes."


def test_roles(study):
    card = by_id(scorecard.build(frame(), [study]))
    assert {i: card[i]["role"] for i in card} == {
        "n_a": "target", "n_b": "target", "n_all": "target", "n_all_abstract": "resolution", "cr_a": "target",
        "cr_b": "target", "cr_p": "check", "or_p": "check", "pr_a": "target"}
    assert card["pr_a"]["role_why"] == "Chosen to make it hold: PR counts are not published."


def test_a_differing_check_says_which_counts_would_give_it(study):
    card = by_id(scorecard.build(frame(
        results.row("demo", "response", "p_value", 0.5, group="a vs b", outcome="CR", timepoint="6m",
                    detail="5/10 vs 3/10", test="Pearson chi-square"),
        results.row("demo", "response", "p_value", 0.5, group="a vs b", outcome="overall", timepoint="6m"),
    ), [study]))
    assert card["cr_p"]["status"] == "differs" and card["cr_p"]["role"] == "check"
    assert card["cr_p"]["reason"].startswith("Not reproduced by these rows; Pearson chi-square on 5/10 vs 2/10")
    assert card["cr_p"]["test"] == "Pearson chi-square"
    # or_p: the overall response is 8/10 in a (CR 50.0% + PR 30.0%), free from 2 to 10 of 10 in b (only CR 20.0%)
    assert card["or_p"]["reason"] == "Not reproduced by these rows; unpooled z-test on 8/10 vs 2/10 would give p = " \
                                     "0.0008."


def test_unreachable_p_value_is_infeasible_with_its_proof(study):
    data = study.model_dump()
    data["numbers"] = [n | ({"outcome": "CR"} if n["id"] == "or_p" else {}) for n in data["numbers"]]
    data["numbers"] = [n for n in data["numbers"] if n["id"] != "cr_p"]
    changed = published.Study.model_validate(data)
    card = by_id(scorecard.build(frame(
        results.row("demo", "response", "p_value", 0.5, group="a vs b", outcome="CR", timepoint="6m")), [changed]))
    assert card["or_p"]["role"] == "infeasible" and card["or_p"]["status"] == "differs"
    assert card["or_p"]["reason"].startswith("Infeasible: no count table consistent with the published numbers "
                                             "gives p = 0.001 under any of the named tests")


def test_notebooks_that_disagree_make_a_number_differ(study):
    card = by_id(scorecard.build(frame(
        results.row("demo", "n_patients", "count", 10, group="a"),
        results.row("demo", "n_patients", "count", 11, group="a"),
    ), [study]))
    assert card["n_a"]["status"] == "differs" and card["n_a"]["reason"] == "Notebooks disagree: 10, 11."


def test_suppressed_cells_in_every_notebook_do_not_disagree(study):
    card = by_id(scorecard.build(frame(
        results.row("demo", "n_patients", "count", math.nan, group="a"),
        results.row("demo", "n_patients", "count", math.nan, group="a"),
    ), [study]))
    assert card["n_a"]["status"] == "differs" and "disagree" not in card["n_a"]["reason"]


def test_rows_read_back_from_csv_join_like_the_frame(study, tmp_path):
    """Empty outcome / timepoint cells in a result CSV match numbers without them."""
    results.write([results.row("demo", "n_patients", "count", 10, group="a"),
                   results.row("demo", "response", "percent", 20.0, group="b", outcome="CR", timepoint="6m")],
                  tmp_path, "nb")
    card = by_id(scorecard.build(results.read_all(tmp_path), [study]))
    assert card["n_a"]["status"] == card["cr_b"]["status"] == "reproduced"


def test_summary_counts(study):
    card = scorecard.build(frame(
        results.row("demo", "n_patients", "count", 20),                       # n_all ok, n_all_abstract differs
        results.row("demo", "n_patients", "count", 10, group="a"),            # reproduced
        results.row("demo", "response", "percent", 30.0, group="a", outcome="PR", timepoint="6m"),  # target
    ), [study])
    total = scorecard.summary(card).set_index("study").loc["total"].to_dict()
    assert total == {"published": 9, "claims": 0, "targets": 6, "targets reproduced": 3, "checks": 2,
                     "checks reproduced": 0, "checks that could fail": 2, "infeasible": 0, "not reached": 0,
                     "resolutions": 1, "repeats": 0,
                     "not expressible": 0, "not computed": 5, "suppressed": 0}
    sentence = scorecard.summary_sentence(card)
    assert "Of **9** published numbers and **0** statements in words, **3 of 6** targets are reproduced" in sentence
    assert "**0 of 2** independent checks" in sentence and "**5** are not computed" in sentence


def test_p_values_printed_with_few_decimals_are_also_shown_at_three():
    assert scorecard.shown(0.0557, 0.1, 1, "p_value") == "0.1 (0.056)"
    assert scorecard.shown(0.15497, 0.15, 2, "p_value") == "0.15 (0.15497)"  # 0.155 would read as 0.16
    assert scorecard.shown(0.1437, 0.14, 2, "p_value") == "0.14 (0.144)"
    assert scorecard.shown(3.061, 3.06, 2, "mean") == "3.06"


def test_a_p_value_below_0_001_reads_the_same_whatever_the_published_decimals():
    assert scorecard.shown(7.7e-06, 0.308, 3, "p_value") == "< 0.001"      # not '0.000'
    assert scorecard.shown(7.7e-06, 0.15, 2, "p_value") == "< 0.001"       # not '0.00 (< 0.001)'
    assert scorecard.shown(2e-05, 0.1, 1, "logrank_p") == "< 0.001"
    assert scorecard.shown(5e-05, 0.0001, 4, "p_value") == "< 0.0001" and scorecard.shown(4e-04, 4e-04, 4,
                                                                                         "p_value") == "0.0004"
    assert scorecard.shown(2e-05, 0.5, 1, "mean") == "0.0"                # only p-values


def test_a_real_cohort_s_comparison_says_what_the_sources_say_not_how_the_reconstruction_uses_it():
    pub = published.load("study_a")
    card = scorecard.build(pd.DataFrame(columns=results.COLUMNS), [pub], reconstructed=False)
    page = scorecard.render_comparison(card, {}, {"study_a": "hospital_x"})
    notes = page[page.index("What the sources' own numbers say"):].replace("\\", "")   # literal() escapes
    assert "`or_5y_non`" in notes                                                # the resolution is there
    assert "would explain neither printed p." in notes and "Infeasible" not in notes
    assert "No count table consistent with the published numbers gives p = 0.308" in notes
    assert not scorecard.RECONSTRUCTION_WORDS.search(page), scorecard.RECONSTRUCTION_WORDS.search(page)
    assert scorecard.of_the_sources("Kept; both p-values become targets of this choice.") == "Kept."
    assert scorecard.of_the_sources("Multi-target therapy; kept.") == "Multi-target therapy; kept."


def test_the_input_frame_is_not_modified(study):
    data = frame(results.row("demo", "n_patients", "count", 10, group="a"))
    before = data.copy()
    scorecard.build(data, [study])
    pd.testing.assert_frame_equal(data, before)


def test_render_lists_every_number_and_escapes_pipes(study):
    card = scorecard.build(frame(
        results.row("demo", "response", "percent", 50.0, group="a", outcome="CR", timepoint="6m", detail="5|10")),
        [study])
    text = scorecard.render(card, {"demo": "Demo study"})
    assert "## Summary" in text and "## Demo study" in text
    for id in card["id"]:
        assert literal(id, "code") in text
    assert "5\\|10" in text
    table = [line for line in text.splitlines() if line.startswith("| `")]
    assert table
    assert all(line.count(" | ") == 6 for line in table if "\\|" not in line)


def test_every_real_published_number_gets_exactly_one_row():
    studies = [published.load(s) for s in paths.studies()]
    card = scorecard.build(pd.DataFrame(columns=results.COLUMNS), studies)
    statements = sum(len(c.items()) for s in studies for c in s.claims)
    assert len(card) == sum(len(s.numbers) for s in studies) + statements
    assert set(card["status"]) == {"not computed", "not expressible"}
    assert not card.duplicated(["study", "id"]).any()


# --- a real cohort compared with a publication -------------------------------------------------------

def test_a_real_cohort_joins_by_the_published_arms_in_the_published_order(study):
    """Arms 'x' (the publication's a) and 'y' (its b), sorted the other way round by the chapter: the
    comparison is read in the publication's order, its counts with it, a difference turned round."""
    rows = frame(
        results.row("mine", "response", "percent", 50.0, group="x", outcome="CR", timepoint="6m", detail="5/10"),
        results.row("mine", "response", "p_value", 0.2, group="y vs x", outcome="CR", timepoint="6m",
                    detail="2/10 vs 5/10; small", test="Pearson chi-square"),
        results.row("mine", "response", "difference", -30.0, group="y vs x", outcome="CR", timepoint="6m"),
        results.row("other", "response", "percent", 10.0, group="a", outcome="CR", timepoint="6m"))
    named = scorecard.as_published(rows, {"mine": ("demo", {"x": "a", "y": "b"})})
    assert list(named["study"]) == ["demo"] * 3 and list(named["group"]) == ["a", "a vs b", "a vs b"]
    assert list(named["detail"]) == ["5/10", "5/10 vs 2/10; small", ""]
    assert list(named["value"]) == [50.0, 0.2, 30.0]
    card = by_id(scorecard.build(named, [study], reconstructed=False))
    assert card["cr_a"]["status"] == "reproduced" and card["cr_p"]["detail"] == "5/10 vs 2/10; small"
    assert card["cr_p"]["status"] == "differs" and card["cr_p"]["reason"] == ""   # no reconstruction's counts
    assert {r["role"] for r in card.values()} <= {"check", "resolution"}


def test_a_suppressed_number_is_suppressed_never_differs(study):
    hidden = frame(results.row("demo", "response", "percent", math.nan, group="a", outcome="CR", timepoint="6m",
                               detail="suppressed"),
                   results.row("demo", "response", "p_value", math.nan, group="a vs b", outcome="CR",
                               timepoint="6m", detail="suppressed"))
    for reconstructed in (True, False):
        card = by_id(scorecard.build(hidden, [study], reconstructed=reconstructed))
        assert card["cr_a"]["status"] == card["cr_p"]["status"] == "suppressed", reconstructed
    page = scorecard.render_comparison(scorecard.build(hidden, [study], reconstructed=False), {}, {"demo": "mine"})
    assert "**2** are suppressed" in page and "| suppressed |" in page and "differs |" not in page


def test_no_difference_on_no_events_in_either_arm_is_a_check_that_could_not_fail(study):
    """Issue 19: 'no significant difference in renal flares' agreed with 0/92 vs 0/87 and counted as an independent
    check that could have failed; on none against none it could not."""
    from helpers.compare import claims
    pub = study.model_copy(update={"claims": [published.Claim.model_validate(
        {"id": "similar", "source": "paper", "quote": "No difference in flares or adverse events.",
         "holds": "no_difference", "about": ["renal_flare", "adverse_event"]})]})
    card = by_id(scorecard.build(frame(
        results.row("demo", claims.key(pub.claims[0], "renal_flare"), "p_value", 1.0, group="a vs b",
                    detail="0/10 vs 0/10 patients", test="Fisher exact"),
        results.row("demo", claims.key(pub.claims[0], "adverse_event"), "p_value", 1.0, group="a vs b",
                    detail="1/10 vs 1/10 patients", test="Fisher exact")), [pub]))
    flares, events = card["similar:renal_flare"], card["similar:adverse_event"]
    assert flares["status"] == "reproduced" and flares["role"] == "check" and flares["could_fail"] == "no"
    assert "no such event in any arm" in flares["could_fail_why"]
    assert events["could_fail"] == "yes"


def test_the_build_s_closing_line_for_a_comparison_adds_up_as_its_page_counts():
    pub = published.load("study_a")
    card = scorecard.build(pd.DataFrame(columns=results.COLUMNS), [pub], reconstructed=False)
    numbers = card.index[card["says"].astype(str) == ""]
    card.loc[numbers[:12], "status"], card.loc[numbers[12:19], "status"] = "differs", "suppressed"
    line = scorecard.comparison_line(card)
    assert line == (f"of {len(numbers)} published numbers, 0 the same in this cohort, 12 differ, 7 suppressed and "
                    f"{len(numbers) - 19} not computed; of {len(card) - len(numbers)} statements in words, "
                    f"{len(card) - len(numbers) - 1} not tested and 1 not expressible in the patient-level format")
    counts = scorecard.comparison_counts(card)
    assert sum(counts[s] for s in scorecard.STATUSES) == counts["published"] == len(numbers)
    page = scorecard.comparison_sentence(card, "hospital_x")
    assert f"Of **{len(numbers)}** published numbers" in page and "**12** differ" in page \
        and "**7** are suppressed" in page and f"**{len(numbers) - 19}** are not computed" in page
