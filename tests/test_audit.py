"""The audit finds the sources' known inconsistencies (and nothing where there is none)."""
from helpers import audit, published

A, B = published.load("study_a"), published.load("study_b")


def test_study_b_percentages_cannot_come_from_20_patients():
    table = audit.grim_percentages(B).set_index("id")
    assert table["verdict"].str.startswith("INCONSISTENT").all()
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
    assert table.loc["cr_1y_p", "verdict"].startswith("reproducible")
    assert table.loc["cr_6m_p", "verdict"] == "NOT reproducible by these tests"
    assert table.loc["or_1y_p", "verdict"] == "the percentages behind it are not published"


def test_subgroup_means_at_24_weeks_cannot_mix():
    table = audit.subgroup_mixtures(B).set_index("timepoint")
    assert table.loc["24w", "totals that fit (split)"] == "none"
    assert "29" not in table.loc["baseline", "totals that fit (split)"]
