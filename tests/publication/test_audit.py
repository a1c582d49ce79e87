"""The audit finds the sources' known inconsistencies (and nothing where there is none)."""
from helpers.publication import audit, feasibility, published

A, B = published.load("study_a"), published.load("study_b")


def test_study_b_percentages_cannot_come_from_20_patients():
    table = audit.grim_percentages(B).set_index("id")
    abstract = [n.id for n in B.numbers if n.source == "abstract81" and n.statistic == "percent"]
    assert table.loc[abstract, "verdict"].str.startswith("INCONSISTENT").all()
    assert "smallest n that fits is 29" in table.loc["female_pct", "verdict"]
    assert "smallest n that fits is 27" in table.loc["cr_24w", "verdict"]


def test_study_a_percentages_are_all_possible():
    assert not audit.grim_percentages(A)["verdict"].str.startswith("INCONSISTENT").any()


def test_cohort_size_170_disagrees_with_92_plus_87():
    table = audit.sample_sizes(A).set_index("id")
    assert table.loc["n_total", "verdict"] == "agrees with the sum of the arms"
    assert table.loc["n_total_lsm2022", "verdict"].startswith("DISAGREES")


def test_five_year_figures_differ_by_one_patient():
    table = audit.related_figures(A)
    row = table[table["quantity"].str.contains("at 5 years")].iloc[0]
    assert "48/55 vs 47/55" in row["verdict"]


def test_p_values_verdicts():
    table = audit.p_values(A).set_index("id")
    assert table.loc["cr_1y_p", "verdict"].startswith(
        "Reached under the stated assumptions: Pearson chi-square on 46/88 vs 57/78 gives 0.0058.")
    assert table.loc["cr_6m_p", "verdict"].startswith(
        "Infeasible: no count table consistent with the published numbers gives p = 0.308 under any of the named "
        "tests; the nearest is 0.3263 (Fisher mid-p on 45/91 vs 47/83).")
    assert table.loc["cr_2y_p", "verdict"].startswith("Not reached under the stated assumptions")
    assert table.loc["or_1y_p", "verdict"].startswith("Reached")     # the overall response is free at 1 year
    assert table.loc["or_5y_p", "Pearson p: consistent tables; stated assumptions"] == \
        "0.022–0.066; 0.056–0.066 (all print as published: the check could not have failed)"


def test_the_feasibility_verdicts():
    """2-year CR p = 0.031: reached only with a lopsided PR split; 3-year overall p = 0.252: reached
    (mid-p) only with more patients than at 2 years, or with a lopsided CR split
    (tests/publication/test_feasibility.py)."""
    assert feasibility.verdict(A, A.number("cr_2y_p")).kind == "not_reached"
    assert feasibility.verdict(A, A.number("or_3y_p")).hits[0].counts == "46/61 vs 69/83"
    assert feasibility.verdict(A, A.number("poor_outcome_logrank_p")) is None


def test_two_reported_subgroups_cannot_mix_into_the_overall_mean_at_24_weeks():
    table = audit.subgroup_mixtures(B).set_index("timepoint")
    assert table.loc["24w", "totals that fit (split)"] == "none"
    assert "29" not in table.loc["baseline", "totals that fit (split)"]


def test_with_the_unreported_flare_group_the_overall_means_can_hold():
    """The full paper's 17 flare patients, whom the abstract never names, make the overall UPCR possible:
    8 partial / 4 none leaves them 3.04 ± 3.38 g/g at baseline and 2.74 ± 4.33 at 24 weeks."""
    table = audit.unreported_group(B)
    chosen = table[(table["partial"] == 8) & (table["none"] == 4)].set_index("timepoint")
    assert chosen.loc["baseline", "flare mean ± SD needed"] == "3.04 ± 3.38"
    assert chosen.loc["24w", "flare mean ± SD needed"] == "2.74 ± 4.33"
    assert set(chosen["verdict"]) == {"possible"}
    assert (table.loc[table["partial"] == 2, "verdict"] == "IMPOSSIBLE").any()


def test_the_book_names_each_audited_number_in_clinical_words_not_by_its_id():
    shown = audit.in_words(A, audit.grim_percentages(A))
    assert "id" not in shown and shown.loc[1, "published number"] == "Complete response at 6 months, tacrolimus (%)"
    assert shown.loc[1, "source"] == "Kim et al., Korean J Intern Med 2025 (journal paper)"
    p = audit.in_words(A, audit.p_values(A)).set_index("published number")
    assert p.loc["Complete response at 1 year (p)", "published p"] == 0.006
    mixtures = audit.in_words(B, audit.unreported_group(B))
    assert "Flare after complete response mean ± SD needed" in mixtures and "24 weeks" in set(mixtures["timepoint"])
