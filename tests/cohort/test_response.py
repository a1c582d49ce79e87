"""Response classification: each criterion, each threshold, the visit window, missing data."""
import pandas as pd
import pytest

from helpers.cohort.data import Cohort
from helpers.cohort.response import Criteria, classify, summarise

TIMEPOINTS = {"6m": 182}


def cohort(rows, sex="F", arm="tacrolimus"):
    """One patient per row: baseline (upcr, creatinine, egfr) and 6-month (upcr, creatinine, egfr)."""
    patients = pd.DataFrame({"patient_id": [f"P{i}" for i in range(len(rows))], "arm": arm, "sex": sex,
                             "prior_response": None})
    labs = []
    for i, (base, later) in enumerate(rows):
        labs.append({"patient_id": f"P{i}", "day": 0, "upcr_g_g": base[0], "creatinine_mg_dl": base[1],
                     "egfr": base[2]})
        if later is not None:
            labs.append({"patient_id": f"P{i}", "day": later[3] if len(later) > 3 else 182,
                         "upcr_g_g": later[0], "creatinine_mg_dl": later[1], "egfr": later[2]})
    return Cohort(patients, pd.DataFrame(labs), pd.DataFrame(columns=["patient_id", "day", "event", "category"]))


def responses(rows, **kwargs):
    graded = classify(cohort(rows), TIMEPOINTS, **kwargs)["response"].astype(object)
    return list(graded.where(graded.notna(), None))


def test_each_category_by_the_published_criteria():
    rows = [
        ((2.0, 0.8, 100), (0.3, 0.8, 100)),   # CR: UPCR < 0.5, creatinine unchanged
        ((2.0, 0.8, 100), (0.8, 0.8, 100)),   # PR: 60% reduction, < 3.0, GFR normal
        ((2.0, 0.8, 100), (1.2, 0.8, 100)),   # NR: only 40% reduction
        ((8.0, 0.8, 100), (3.5, 0.8, 100)),   # NR: halved but still nephrotic (>= 3.0)
        ((2.0, 0.8, 100), (0.3, 0.95, 85)),   # not CR: creatinine +19% from a normal baseline -> PR
        ((2.0, 1.5, 45), (0.3, 1.6, 42)),     # not CR: baseline creatinine high, still high; PR: eGFR within 10%
        ((2.0, 1.5, 45), (0.3, 0.9, 80)),     # CR: baseline abnormal, back to normal
        ((2.0, 0.8, 100), None),              # no visit: not evaluated
    ]
    assert responses(rows) == ["CR", "PR", "NR", "NR", "PR", "PR", "CR", None]


def test_pr_needs_near_normal_gfr():
    rows = [((2.0, 1.0, 70), (0.8, 1.6, 40))]   # halved UPCR but eGFR 40 and 43% below baseline
    assert responses(rows) == ["NR"]


def test_thresholds_are_parameters():
    rows = [((2.0, 0.8, 100), (0.4, 0.8, 100))]
    assert responses(rows) == ["CR"]
    assert responses(rows, criteria=Criteria(cr_upcr_max=0.3)) == ["PR"]
    assert responses(rows, criteria=Criteria(cr_upcr_max=0.3, pr_upcr_reduction_min=0.9)) == ["NR"]


def test_visit_window_and_nonresponder_imputation():
    rows = [((2.0, 0.8, 100), (0.3, 0.8, 100, 250))]   # visit 68 days after the 6-month mark
    assert responses(rows, window=45) == [None]
    assert responses(rows, window=90) == ["CR"]
    assert responses(rows, window=45, missing="nonresponder") == ["NR"]


def test_closest_visit_in_window_is_used():
    c = cohort([((2.0, 0.8, 100), (0.3, 0.8, 100, 150))])
    extra = pd.DataFrame([{"patient_id": "P0", "day": 190, "upcr_g_g": 1.5, "creatinine_mg_dl": 0.8, "egfr": 100}])
    c.labs = pd.concat([c.labs, extra], ignore_index=True)
    out = classify(c, TIMEPOINTS)
    assert out.loc[0, "visit_day"] == 190 and out.loc[0, "response"] == "NR"


def test_criteria_from_params_rejects_unknown_names():
    assert Criteria.from_params({"cr_upcr_max": "0.3"}).cr_upcr_max == 0.3
    with pytest.raises(ValueError, match="unknown response criteria: cr_upcr"):
        Criteria.from_params({"cr_upcr": 0.3})


def test_summarise_counts_and_denominators():
    rows = [((2.0, 0.8, 100), (0.3, 0.8, 100)), ((2.0, 0.8, 100), (0.8, 0.8, 100)),
            ((2.0, 0.8, 100), (1.5, 0.8, 100)), ((2.0, 0.8, 100), None)]
    table = summarise(classify(cohort(rows), TIMEPOINTS))
    assert table[["n", "CR", "PR", "NR", "overall"]].iloc[0].tolist() == [3, 1, 1, 1, 2]


def test_input_frames_are_not_modified():
    c = cohort([((2.0, 0.8, 100), (0.3, 0.8, 100))])
    before = (c.patients.copy(), c.labs.copy())
    classify(c, TIMEPOINTS)
    pd.testing.assert_frame_equal(c.patients, before[0])
    pd.testing.assert_frame_equal(c.labs, before[1])


# --- response as a study defines it: rules, limits and named presets ------------------------------

def test_creatinine_rules_inclusive_limits_and_no_partial_response():
    rows = [((2.0, 1.0, 90), (0.3, 1.14, 80))]   # UPCR 0.3, creatinine +14%
    assert responses(rows, criteria=Criteria(cr_creatinine="no_rise")) == ["CR"]
    rows = [((2.0, 1.5, 45), (0.3, 1.6, 42))]    # raised creatinine that stays raised (+7%)
    assert responses(rows) == ["PR"]                                                    # the default: back to normal
    assert responses(rows, criteria=Criteria(cr_creatinine="no_rise")) == ["CR"]        # or not more than +15%
    assert responses(rows, criteria=Criteria(cr_creatinine="none", cr_egfr_min=60)) == ["PR"]   # eGFR 42: not CR
    at_limit = [((2.0, 0.8, 100), (0.5, 0.8, 100))]
    assert responses(at_limit) == ["PR"] and responses(at_limit, criteria=Criteria(cr_upcr_inclusive=True)) == ["CR"]
    partial = [((2.0, 0.8, 100), (0.8, 0.8, 100))]
    assert responses(partial, criteria=Criteria(partial_response=False)) == ["NR"]


def test_no_reduction_asked_and_a_creatinine_condition_on_the_partial_response():
    rows = [((1.0, 0.8, 100), (0.7, 0.8, 100))]   # a 30% fall only
    assert responses(rows) == ["NR"]
    assert responses(rows, criteria=Criteria(pr_upcr_reduction_min=0.0, pr_upcr_max=0.7, pr_upcr_inclusive=True)) \
        == ["PR"]
    risen = [((2.0, 0.8, 100), (0.8, 1.0, 100))]   # halved, creatinine +25%
    assert responses(risen, criteria=Criteria(pr_creatinine_rise_max=0.15)) == ["NR"]
    no_gfr = [((2.0, 1.0, 70), (0.8, 1.6, 40))]    # no GFR condition at all
    assert responses(no_gfr, criteria=Criteria(pr_egfr_min=None, pr_egfr_drop_max=None)) == ["PR"]


def test_presets_are_the_published_definitions():
    from helpers.cohort.response import PRESETS
    assert set(PRESETS) == {"ajou_2022", "kdigo_2024", "eular_2019", "bliss_ln", "aurora_1"}
    for name, preset in PRESETS.items():
        assert preset.citation and preset.quote and preset.url, name
        Criteria.from_params({"preset": name})   # every preset's values are Criteria's
    assert Criteria.from_params({"preset": "ajou_2022"}) == Criteria()
    bliss = Criteria.from_params({"preset": "bliss_ln"})
    rows = [((2.0, 0.8, 100), (0.45, 0.8, 85)),   # UPCR < 0.5 but eGFR 85, 15% below baseline: PERR, not CRR
            ((2.0, 0.8, 100), (0.45, 0.8, 95)),   # CRR
            ((2.0, 0.8, 100), (0.7, 0.8, 65)),    # UPCR 0.7 (<= 0.7) and eGFR >= 60: PERR
            ((2.0, 0.8, 100), (0.71, 0.8, 100))]  # UPCR 0.71: neither
    assert responses(rows, criteria=bliss) == ["PR", "CR", "PR", "NR"]
    aurora = Criteria.from_params({"preset": "aurora_1"})
    assert responses([((2.0, 0.8, 100), (0.5, 0.8, 75)), ((2.0, 0.8, 100), (0.8, 0.8, 100))], criteria=aurora) == \
        ["CR", "NR"]   # 0.5 or less and eGFR within 20%; one grade, no partial response
    kdigo = Criteria.from_params({"preset": "kdigo_2024"})
    assert responses([((2.0, 1.5, 45), (0.3, 1.6, 42))], criteria=kdigo) == ["CR"]   # within 15% of baseline eGFR


def test_a_preset_with_overrides_and_unknown_presets():
    assert Criteria.from_params({"preset": "bliss_ln", "pr_upcr_max": 0.5}).pr_upcr_max == 0.5
    assert Criteria.from_params({"preset": "bliss_ln"}).cr_egfr_min == 90.0
    with pytest.raises(ValueError, match="unknown response criteria preset 'kdigo'; known: ajou_2022"):
        Criteria.from_params({"preset": "kdigo"})
    with pytest.raises(ValueError, match="cr_creatinine must be one of"):
        Criteria.from_params({"cr_creatinine": "normal"})


def test_every_threshold_has_a_unit_for_the_pages():
    from dataclasses import fields

    from helpers.cohort.response import CRITERIA_UNITS, Criteria
    assert {f.name for f in fields(Criteria)} == set(CRITERIA_UNITS)
    assert CRITERIA_UNITS["creatinine_uln_female"] == "mg/dL" and CRITERIA_UNITS["pr_egfr_min"] == "mL/min/1.73 m²"
