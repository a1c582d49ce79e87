import pytest

from helpers.cohort.renal import ckd_epi_2009


def test_ckd_epi_2009_hand_computed():
    # female, 30 y, 0.8 mg/dL: 141 * (0.8/0.7)^-1.209 * 0.993^30 * 1.018
    assert round(float(ckd_epi_2009(0.8, 30, "F")), 1) == 98.9
    # male, 50 y, 0.7 mg/dL: 141 * (0.7/0.9)^-0.411 * 0.993^50 (online CKD-EPI 2009 calculators: 110)
    assert round(float(ckd_epi_2009(0.7, 50, "M")), 1) == 110.0


def test_exact_equation_agrees_with_the_float_one():
    from helpers.cohort.renal import ckd_epi_2009_exact
    for creat, age, sex in [(0.45, 19, "F"), (0.7, 30, "F"), (0.71, 30, "F"), (0.9, 50, "M"), (2.35, 63, "M"),
                            (8.1, 40, "F")]:
        assert float(ckd_epi_2009_exact(creat, age, sex)) == pytest.approx(float(ckd_epi_2009(creat, age, sex)),
                                                                           rel=1e-13)


def test_egfr_tenths_rounds_the_exact_value_half_up():
    from decimal import Decimal

    from helpers.cohort.renal import ckd_epi_2009_exact, egfr_tenths
    assert egfr_tenths(80, 30, "F") == 989                         # 98.9, as by hand above
    exact = ckd_epi_2009_exact(Decimal("1.23"), 41, "M")
    assert egfr_tenths(123, 41, "M") == int((exact * 10 + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))


def test_ckd_epi_2021_race_free_hand_computed():
    from helpers.cohort.renal import ckd_epi_2021, ckd_epi_2021_exact
    # female, 40 y, 1.0 mg/dL: 142 * (1.0/0.7)^-1.200 * 0.9938^40 * 1.012
    assert round(float(ckd_epi_2021(1.0, 40, "F")), 1) == 73.0
    # male, 50 y, 0.7 mg/dL: 142 * (0.7/0.9)^-0.302 * 0.9938^50 (online CKD-EPI 2021 calculators: 112)
    assert round(float(ckd_epi_2021(0.7, 50, "M"))) == 112
    for creat, age, sex in [(0.45, 19, "F"), (0.9, 50, "M"), (2.35, 63, "M")]:
        assert float(ckd_epi_2021_exact(creat, age, sex)) == pytest.approx(float(ckd_epi_2021(creat, age, sex)),
                                                                           rel=1e-13)
    assert float(ckd_epi_2021(1.0, 40, "F")) > float(ckd_epi_2009(1.0, 40, "F"))   # no race term, higher for most


def test_cockcroft_gault_hand_computed():
    from helpers.cohort.renal import cockcroft_gault
    assert round(float(cockcroft_gault(1.0, 40, "F", 60)), 2) == 70.83   # (140 - 40) x 60 / 72 x 0.85
    assert round(float(cockcroft_gault(1.2, 40, "M", 72)), 2) == 83.33
    assert cockcroft_gault(1.0, 40, "F", float("nan")) != cockcroft_gault(1.0, 40, "F", float("nan"))  # no weight: NaN
