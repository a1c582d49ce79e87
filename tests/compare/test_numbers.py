"""Any published number recomputed from the rows by what it declares (helpers.compare.numbers)."""
import pandas as pd
import pytest

from helpers.cohort.data import Cohort
from helpers.compare import numbers
from helpers.publication import published

QUOTE = "a quote of ten characters"


def study(*items, arms=("a", "b")):
    return published.Study.model_validate({
        "study": "s", "title": "t", "arms": list(arms), "timepoints": {"6m": 182}, "sources": {"x": {"citation": "c"}},
        "numbers": [{"id": f"n{i}", "source": "x", "quote": QUOTE, "group": "all", "decimals": 1, "value": 0, **item}
                    for i, item in enumerate(items)]})


def cohort():
    """Four patients: two per arm; baseline and 6-month labs; events."""
    patients = pd.DataFrame({
        "patient_id": ["P1", "P2", "P3", "P4"], "study": "s", "arm": ["a", "a", "b", "b"], "sex": ["F", "F", "M", "F"],
        "age": [30.0, 40.0, 50.0, 60.0], "isn_class": ["III", "IV", "V", "IV+V"], "induction": None,
        "maintenance": None, "prior_response": None, "last_followup_day": [400, 400, 300, 400],
        "weight_kg": [60.0, 70.0, 80.0, None], "disease_duration_months": [12.0, 24.0, 0.0, 36.0]})
    labs = pd.DataFrame({
        "patient_id": ["P1", "P1", "P2", "P2", "P3", "P3", "P4", "P4"], "day": [0, 182, 0, 182, 0, 182, 0, 182],
        "upcr_g_g": [3.0, 0.3, 2.0, 0.8, 4.0, 3.5, 2.5, 0.4],
        "creatinine_mg_dl": [1.0, 0.9, 0.8, 0.8, 1.5, 1.6, 0.7, 0.7],
        "egfr": [70.0, 80.0, 95.0, 95.0, 55.0, 50.0, 100.0, 100.0],
        "albumin_g_dl": [2.5, 3.5, 3.0, 3.2, 2.0, 2.2, 3.1, 3.6]})
    events = pd.DataFrame({"patient_id": ["P1", "P1", "P3", "P2"], "day": [50, 90, 100, 200],
                           "event": ["adverse_event", "adverse_event", "adverse_event", "renal_flare"],
                           "category": ["infection", "infection", "infection", None]})
    return Cohort(patients, labs, events)


def value(**item):
    pub = study(item)
    rows = numbers.rows(pub, cohort())
    assert len(rows) == 1, rows
    return rows[0]["value"], rows[0]["detail"]


def test_labs_in_their_published_units_and_any_statistic():
    assert value(measure="albumin", unit="g/L", statistic="mean", timepoint="baseline")[0] == pytest.approx(26.5)
    assert value(measure="albumin", statistic="median", timepoint="baseline")[0] == pytest.approx(2.75)
    assert value(measure="creatinine", unit="µmol/L", statistic="max", timepoint="baseline")[0] == pytest.approx(132.6)
    assert value(measure="upcr", unit="mg/mmol", statistic="min", timepoint="6m")[0] == pytest.approx(0.3 * 113.12)
    assert value(measure="upcr", statistic="q3", timepoint="baseline")[0] == pytest.approx(3.25)
    assert value(measure="disease_duration", unit="years", statistic="mean", timepoint="baseline")[0] == 1.5


def test_shares_below_a_threshold_class_sets_and_women_as_counts():
    assert value(measure="egfr", threshold="< 60", statistic="percent", timepoint="baseline") == (25.0, "1/4")
    assert value(measure="egfr", threshold=">= 95", statistic="count", decimals=0, timepoint="6m") == (2.0, "2/4")
    assert value(measure="isn_class", level=["III", "IV"], statistic="count", decimals=0) == (2.0, "2/4")
    assert value(measure="female", statistic="count", decimals=0, group="a") == (2.0, "2/2")


def test_kidney_function_by_its_own_equation():
    from helpers.cohort import renal
    found, detail = value(measure="egfr_ckd_epi_2021", statistic="mean", timepoint="baseline")
    expected = renal.ckd_epi_2021([1.0, 0.8, 1.5, 0.7], [30, 40, 50, 60], ["F", "F", "M", "F"]).mean()
    assert found == pytest.approx(expected) and detail == "n = 4"
    found, detail = value(measure="creatinine_clearance", statistic="mean", timepoint="baseline")
    assert detail == "n = 3"                                       # P4 has no weight
    assert found == pytest.approx(renal.cockcroft_gault([1.0, 0.8, 1.5], [30, 40, 50], ["F", "F", "M"],
                                                        [60, 70, 80]).mean())


def test_responses_as_counts_and_no_response():
    assert value(measure="response", outcome="CR", timepoint="6m", statistic="count", decimals=0) == (2.0, "2/4")
    assert value(measure="response", outcome="NR", timepoint="6m", statistic="percent") == (25.0, "1/4")


def test_events_as_events_and_as_patients():
    assert value(measure="adverse_event", level=["infection"], statistic="count", decimals=0, unit="events") == \
        (3.0, "3 events in 4 patients")
    assert value(measure="adverse_event", level=["infection"], statistic="count", decimals=0) == (2.0, "2/4")
    assert value(measure="renal_flare", statistic="percent", group="a") == (50.0, "1/2")


def test_effect_sizes_with_their_intervals():
    from helpers.methods.proportions import difference, risk_ratio
    item = dict(measure="response", outcome="overall", timepoint="6m", group="a vs b")
    assert value(**item, statistic="odds_ratio")[0] == pytest.approx(difference(2, 2, 1, 2)["or"])
    assert value(**item, statistic="risk_ratio_low")[0] == pytest.approx(risk_ratio(2, 2, 1, 2)["rr_low"])
    assert value(**item, statistic="risk_difference")[0] == pytest.approx(50.0)                  # percentage points
    assert value(**item, statistic="risk_difference", unit="fraction")[0] == pytest.approx(0.5)
    found, detail = value(measure="adverse_event", level=["infection"], group="a vs b", statistic="hazard_ratio")
    assert detail == "1/2 vs 1/2 patients" and found > 0


def test_what_the_rows_cannot_give_says_why():
    pub = study({"measure": "sledai", "statistic": "mean", "not_expressible": "no SLEDAI in the format"},
                {"measure": "albumin", "statistic": "mean", "group": "a vs b", "timepoint": "baseline"},
                {"measure": "albumin", "statistic": "p_value", "group": "a vs b", "timepoint": "baseline"},
                {"measure": "age", "statistic": "hazard_ratio", "group": "a vs b"})
    why = {n.id: numbers.why_not(pub, n) for n in pub.numbers}
    assert why["n0"] == "no SLEDAI in the format" and "only a p-value or an effect size compares" in why["n1"]
    assert "does not name the test" in why["n2"] and "not about an event" in why["n3"]
    assert numbers.rows(pub, cohort()) == []


def test_rows_already_written_by_a_chapter_are_not_repeated():
    pub = study({"measure": "age", "statistic": "mean", "timepoint": "baseline"})
    have = [{"measure": "age", "outcome": None, "timepoint": "baseline", "group": "all", "statistic": "mean"}]
    assert numbers.rows(pub, cohort(), have=have) == []
    assert numbers.rows(None, cohort()) == []
