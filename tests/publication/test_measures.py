"""Measures, units and statistics as data: one table of exact conversions; thresholds; keys of result rows."""
from fractions import Fraction

import pytest

from helpers.publication import measures, published


def test_one_table_of_exact_conversions():
    assert measures.convert(30, "albumin", "g/L") == 3                      # g/L -> g/dL
    assert measures.convert(3, "albumin", "g/dL", "g/L") == 30
    assert measures.convert(88.4, "creatinine", "µmol/L") == 1              # µmol/L -> mg/dL
    assert measures.convert(1, "creatinine", "mg/dL", "umol/l") == Fraction(884, 10)
    assert float(measures.convert(50, "upcr", "mg/mmol")) == pytest.approx(0.442, abs=5e-4)   # 113.12 mg/mmol per g/g
    assert measures.convert(500, "upcr", "mg/g") == Fraction(1, 2)
    assert measures.convert(2, "disease_duration", "years") == 24           # months as stored
    assert measures.convert(1, "c3", "g/L") == 100
    with pytest.raises(ValueError):
        measures.convert(1, "proteinuria_24h", "g/g")                        # g/day is its own measure


def test_unit_spellings_and_thresholds():
    assert measures.unit_name("μmol/L") == measures.unit_name("umol/l") == "µmol/L"   # Greek mu, micro sign, u
    assert measures.unit_name("ml/min/1.73m2") == measures.EGFR_UNIT
    assert measures.unit_name("furlongs") is None
    assert measures.threshold("< 60") == ("<", 60.0) and measures.threshold("≥3.5") == (">=", 3.5)
    with pytest.raises(ValueError, match="is not of the form"):
        measures.threshold("below 60")


def number(**over):
    base = dict(id="x", source="s", quote="a quote of ten characters", measure="albumin", group="all",
                statistic="mean", value=30, decimals=0, timepoint="baseline")
    return published.Number.model_validate({**base, **over})


def test_a_number_says_what_is_wrong_with_it_in_words():
    with pytest.raises(ValueError, match="unknown measure 'protein'"):
        number(measure="protein")
    with pytest.raises(ValueError, match="unit 'mmol/L' is not a unit of albumin; known: g/dL, g/L"):
        number(unit="mmol/L")
    with pytest.raises(ValueError, match="an odds ratio compares two groups"):
        number(measure="response", outcome="CR", timepoint="6m", statistic="odds_ratio", value=1.5, decimals=1)
    with pytest.raises(ValueError, match="outcome 'remission' is not a response grade"):
        number(measure="response", outcome="remission", timepoint="6m", statistic="percent")
    with pytest.raises(ValueError, match="a threshold"):
        number(statistic="mean", threshold="< 3")
    assert number(measure="protein", not_expressible="not in the format").measure == "protein"   # said, not checked


def test_result_row_keys_tell_levels_thresholds_units_and_events_apart():
    assert number().key == "albumin"
    assert number(unit="g/L").key == "albumin (g/L)" and number(unit="g/dL").key == "albumin"
    assert number(measure="isn_class", level=["III", "IV"], statistic="percent").key == "isn_class[III/IV]"
    assert number(measure="egfr", threshold="< 60", statistic="percent").key == "egfr < 60"
    assert number(measure="adverse_event", level=["infection"], statistic="count", unit="events").key == \
        "adverse_event[infection] events"


def test_a_bound_agrees_on_its_side():
    p = number(measure="response", outcome="CR", timepoint="6m", group="a vs b", statistic="p_value", value=0.001,
               decimals=3, bound="<")
    assert p.agrees(0.0004) and not p.agrees(0.002) and not p.agrees(float("nan"))
    assert number(value=30).agrees(30.4) and not number(value=30).agrees(30.5)
