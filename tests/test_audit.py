"""The audit finds the sources' known inconsistencies (and nothing where there is none)."""
from helpers import audit, published

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
    row = table[table["quantity"].str.contains("5y")].iloc[0]
    assert "48/55 vs 47/55" in row["verdict"]


def test_p_values_verdicts():
    table = audit.p_values(A).set_index("id")
    assert table.loc["cr_1y_p", "verdict"] == "reproducible: Pearson chi-square on 46/88 vs 57/78 (p = 0.0058)"
    assert table.loc["cr_6m_p", "verdict"].startswith("NOT reproducible: No standard test")
    assert "the nearest is 0.326 (Fisher mid-p on 45/91 vs 47/83)" in table.loc["cr_6m_p", "verdict"]
    assert table.loc["or_1y_p", "verdict"] == "the percentages behind it are not published"


def test_p_value_search_proofs():
    """2-year CR p = 0.031: the nearest any test comes is 0.072 on consistent counts, 0.057 on any counts;
    3-year overall p = 0.252: reached (mid-p) only with more patients than another percentage allows."""
    two_years = audit.p_value_search(A, A.number("cr_2y_p"))
    assert not two_years.reachable and round(two_years.nearest[2], 3) == 0.072
    assert round(two_years.nearest_anywhere[2], 3) == 0.057 and two_years.nearest_anywhere[0] == "unpooled z-test"
    three_years = audit.p_value_search(A, A.number("or_3y_p"))
    assert not three_years.reachable
    assert three_years.hits_elsewhere[0][:2] == ("Fisher mid-p", "46/61 vs 69/83")
    assert "contradict another published percentage" in three_years.proof()
    five_years = audit.p_value_search(A, A.number("or_5y_p"))
    assert five_years.hits[0][:2] == ("Pearson chi-square", "43/59 vs 48/55")


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
