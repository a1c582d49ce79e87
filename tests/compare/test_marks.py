"""helpers.compare.marks on the reconstructed cohort: one example of every mark, and none on a real cohort."""
from helpers.compare.marks import Marker
from helpers.publication import published

A, B = published.load("study_a"), published.load("study_b")
VS = "tacrolimus vs no_tacrolimus"


def test_a_reproduced_target_is_not_marked_as_a_check():
    assert Marker(A).mark(100 * 45 / 91, "response", "percent", "tacrolimus", "CR", "6m") == " ◎"


def test_a_reproduced_independent_check():
    assert Marker(A).mark(0.0061, "response", "p_value", VS, "CR", "1y") == " ✓"


def test_reproduced_p_printed_coarsely_shows_the_published_value():
    assert Marker(A).mark(0.0557, "response", "p_value", VS, "overall", "5y") == " ◎ (published 0.1)"


def test_differs_shows_the_published_value():
    # the 2023 abstract's 85.5% is kept (resolution five_year_non_tacrolimus); the paper's 87.3% set aside
    assert Marker(A).mark(80.0, "response", "percent", "no_tacrolimus", "overall", "5y") == " ≠ (published 85.5)"


def test_infeasible_shows_the_published_value():
    assert Marker(A).mark(0.344, "response", "p_value", VS, "CR", "6m") == " ✗ (published 0.308)"


def test_not_reached_under_the_stated_assumptions_has_its_own_mark():
    assert Marker(A).mark(0.075, "response", "p_value", VS, "CR", "2y") == " ⊘ (published 0.031)"


def test_derived_from_published_counts():
    marker = Marker(A)
    assert marker.mark(82.4, "response", "percent", "tacrolimus", "overall", "6m") == " ‡"
    assert "‡ the sum of the published CR and PR counts" in marker.footnotes()


def test_assumed_names_its_assumption():
    marker = Marker(A)
    assert marker.mark(58.0, "response", "percent", "tacrolimus", "CR", "3y") == " †"
    assert any(note.startswith("† PR (and so overall response) at 1 and 2 years;") for note in marker.footnotes())
    other = Marker(A)
    assert other.mark(25.0, "response", "percent", "tacrolimus", "PR", "1y") == " †"
    assert any(note.startswith("† PR (and so overall response) at 1 and 2 years;") for note in other.footnotes())


def test_legend_lists_only_the_marks_used_and_their_sources():
    marker = Marker(A)
    marker.mark(100 * 45 / 91, "response", "percent", "tacrolimus", "CR", "6m")
    legend = marker.legend()
    assert legend.startswith("Marks: ◎ the published value, reproduced; the reconstruction was built") \
        and "†" not in legend and "✓" not in legend
    assert marker.footnotes()[0] == ("Published values from: kjim2025 = Kim et al., Korean J Intern Med 2025 "
                                     "(journal paper).")


def test_another_sources_value_is_noted():
    marker = Marker(B)
    assert marker.mark(29, "n_patients", "count") == " ⇄"       # the sources give 29 and 20: a resolution
    marker.published_value("n_patients", "count")
    assert ("abstract81 gives 20 (All patients); set aside: the reconstruction keeps 29 patients at baseline "
            "(the full paper's number), 27 with a 24-week evaluation.") in marker.footnotes()


def test_no_marks_on_a_real_cohort():
    marker = Marker(None, reconstructed=False)
    assert marker.mark(49.5, "response", "percent", "tacrolimus", "CR", "6m") == ""
    assert marker.footnotes() == []


def test_an_assumed_comparison_says_how_far_the_sources_pin_it():
    marker = Marker(A)
    assert marker.assumed("PR", "1y", A.arms) and not marker.assumed("CR", "1y", A.arms)
    text = marker.pinned_text("PR", "1y", "1 year")
    # with CR 46/88 vs 57/78 and the overall p = 0.15, PR must be higher with tacrolimus
    assert "from +4.6 to +33.0 percentage points" in text and "higher with tacrolimus in every table" in text
    assert "either arm may be higher" in marker.pinned_text("PR", "2y", "2 years")


def test_events_no_source_counts_are_pinned_by_the_claim_of_no_difference():
    text = Marker(A).pinned_events("renal_flare", (92, 87))
    assert "from −15.4 to +15.4 percentage points" in text and "(kjim2025)" in text
    assert Marker(None, reconstructed=False).pinned_events("renal_flare", (92, 87)) is None


def test_no_sentence_calls_an_assumed_difference_significant():
    import pandas as pd

    from helpers.chapters import response
    timepoints = {"1y": 365}

    def comparison(p):
        return pd.DataFrame({"timepoint": ["1y"], "p": [p]})
    comparisons = {"CR": comparison(0.006), "PR": comparison(0.047)}
    plain = response.differences_sentence(comparisons, 0.05, timepoints)
    assert "partial response at 1 year" in plain.split("(no correction")[0]
    marked = response.differences_sentence(comparisons, 0.05, timepoints, Marker(A), A.arms)
    first, rest = marked.split("(no correction")[0], marked.split("(no correction")[1]
    assert "complete response at 1 year" in first and "partial response" not in first
    assert "Not called significant" in rest and "partial response at 1 year; the sources force it higher" in rest
