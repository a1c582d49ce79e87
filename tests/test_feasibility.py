"""helpers.feasibility: can a published p-value be true, and how far do the sources pin a comparison?

Hand-worked values: a tiny study built here, and study A's known cases."""
from __future__ import annotations

import pytest

from helpers.proportions import compare_proportions

# --- Barnard and Boschloo take the arms as the two samples ----------------------------------

def test_barnard_and_boschloo_on_a_hand_worked_table():
    """1 of 2 against 0 of 2. Barnard (pooled z): |z| >= 1.155 everywhere but the three tables with equal
    rates, so p = 1 - min over pi of (1 - pi)^4 + 4 pi^2 (1 - pi)^2 + pi^4 = 1 - 6/16 = 0.625 (at pi = 1/2).
    Boschloo: the one-sided Fisher p of the observed table is 1/2; the tables as extreme, (1, 0), (2, 0) and
    (2, 1), have probability pi (1 - pi) (2 - 3 pi + 3 pi^2), at most 5/16; scipy doubles it: 0.625.
    (Columns taken as the samples, scipy would give 0.3125 and 0.520.)"""
    assert compare_proportions(1, 2, 0, 2, "barnard")["p"] == pytest.approx(0.625, abs=1e-6)
    assert compare_proportions(1, 2, 0, 2, "boschloo")["p"] == pytest.approx(0.625, abs=1e-6)


def test_barnard_and_boschloo_at_six_months():
    assert round(compare_proportions(45, 91, 47, 83, "barnard")["p"], 3) == 0.515
    assert round(compare_proportions(45, 91, 47, 83, "boschloo")["p"], 3) == 0.352
