"""helpers.chapters.findings: each chapter's 'What this shows', written from its result rows."""
import math

from helpers.chapters import findings
from helpers.compare import results
from helpers.compare.marks import Marker
from helpers.publication import audit, published

A = published.load("study_a")
ARMS = ["tacrolimus", "no_tacrolimus"]
VS = " vs ".join(ARMS)


def _rows(cr_2y=(46, 79, 56, 78), p_2y=0.075):
    k1, n1, k2, n2 = cr_2y
    return [results.row("study_a", "response", "percent", 100 * k1 / n1, "tacrolimus", "CR", "2y", f"{k1}/{n1}"),
            results.row("study_a", "response", "percent", 100 * k2 / n2, "no_tacrolimus", "CR", "2y", f"{k2}/{n2}"),
            results.row("study_a", "response", "p_value", p_2y, VS, "CR", "2y", "", "Pearson chi-square")]


def test_the_paper_s_2_year_p_is_said_not_to_come_from_its_own_percentages():
    text = findings.response(_rows(), "study_a", ARMS, {"2y": 730}, Marker(A))
    assert "Complete response was lower with tacrolimus than with no tacrolimus at every timepoint" in text
    assert ("the published p = 0.031 cannot come from the source's own 58.2% vs 71.8%; those give p = 0.075 here "
            "(Pearson chi-square)") in text
    assert "_" not in text and "{" not in text                    # clinical words, no ids, no JSON


def test_the_words_follow_the_rows():
    text = findings.response(_rows((60, 79, 40, 78), 0.001), "study_a", ARMS, {"2y": 730}, Marker(A))
    assert "higher with tacrolimus" in text and "p < 0.05 at 2 years (75.9% vs 51.3%, p = 0.001)" in text


def test_a_real_cohort_gets_the_finding_without_a_comparison():
    text = findings.response(_rows(), "study_a", ARMS, {"2y": 730}, Marker(None, reconstructed=False))
    assert "Complete response" in text and "published" not in text and "assumption" not in text


def test_the_tally_counts_each_role_apart():
    rows = [results.row("study_a", "response", "percent", 100 * 45 / 91, "tacrolimus", "CR", "6m"),
            results.row("study_a", "response", "p_value", 0.0061, VS, "CR", "1y"),
            results.row("study_a", "response", "p_value", math.nan, VS, "CR", "2y")]
    text = findings.tally(rows, "study_a", Marker(A))
    assert text == ("Of the 2 published numbers this chapter recomputes, 2 are reproduced: 1 target (◎, built to "
                    "match) and 1 independent check (✓, not used to build the rows).")


def test_the_audit_says_in_words_what_the_sources_cannot_all_say():
    a, b = published.load("study_a"), published.load("study_b")
    said = findings.audit(a, audit.grim_percentages(a), audit.p_values(a), audit.sample_sizes(a))
    assert "Of 15 published percentages, 2 fit the sample size their source states" in said
    assert "2 by no count table consistent with the published percentages" in said
    assert "(Complete response at 6 months (p) and Partial response at 6 months (p))" in said
    assert "give 170 patients in all, which is not the sum of the arms (92 + 87 = 179)" in said
    said = findings.audit(b, audit.grim_percentages(b), audit.p_values(b), audit.sample_sizes(b))
    assert "7 fit no sample size up to the stated one (Female sex (%) = 82.8%: the smallest n that fits is 29)" in said
    assert "p-value" not in said     # study B publishes none


def test_timepoints_not_shown_are_named_and_a_small_p_reads_p_below():
    """A hospital book: 1 and 2 years suppressed, one timepoint shown twice never, 'p < 0.001' not 'p = < 0.001'."""
    rows = [results.row("h", "response", "percent", 40.0, "tacrolimus", "CR", "6m", "16/40"),
            results.row("h", "response", "percent", 2.5, "no_tacrolimus", "CR", "6m", "1/40"),
            results.row("h", "response", "p_value", 0.00002, VS, "CR", "6m", "", "Pearson chi-square"),
            results.row("h", "response", "percent", math.nan, "tacrolimus", "CR", "1y"),
            results.row("h", "response", "percent", math.nan, "no_tacrolimus", "CR", "1y")]
    text = findings.response(rows, "h", ARMS, {"6m": 183, "1y": 365}, Marker(None, reconstructed=False))
    assert ("Complete response was higher with tacrolimus than with no tacrolimus at every timepoint shown "
            "(6 months; not shown: 1 year): 40.0% vs 2.5% at 6 months;") in text
    assert "p < 0.001)" in text and "= <" not in text and text.count("at 6 months") == 2


def test_a_mixed_course_names_the_timepoints_where_one_arm_is_lower():
    rows = [results.row("study_a", "response", "percent", v, arm, "overall", tp)
            for tp, a, b in (("6m", 82.5, 80.0), ("1y", 50.0, 82.5)) for arm, v in (("tacrolimus", a),
                                                                                 ("no_tacrolimus", b))]
    text = findings.response(rows, "study_a", ARMS, {"6m": 183, "1y": 365}, Marker(None, reconstructed=False))
    assert ("Overall response (CR or PR) was lower with tacrolimus than with no tacrolimus at 1 of the 2 timepoints "
            "shown (50.0% vs 82.5% at 1 year) and not lower at the others") in text


def test_the_statements_in_words_are_counted_by_role_and_a_failing_check_is_named():
    from helpers.chapters import notebook
    cohort = notebook.cohorts("data/reconstructed/study_a", 0, {})["study_a"]
    said = findings.statements(notebook.statements(cohort, "study_a", ["followup"], 45)[1])
    assert said.startswith("Of the 5 statements in words from the sources that this chapter tests on the rows, 4 hold: "
                           "4 of 5 independent checks (could have failed); C3 (mg/dL) does not")
    assert "p = 0.033 (Mann-Whitney U" in said and said.endswith("an independent check that fails).")
    baseline = findings.statements(notebook.statements(cohort, "study_a", ["baseline"], 45)[1])
    assert "18 hold: 11 targets (built to hold) and 7 repeats of them by another source (counted once)" in baseline
    assert findings.statements(None) == ""
