"""The exact building blocks of the reconstruction: integer moment windows, the integer search,
portable draws, and the exact log-rank statistic, against hand-computed values."""
import statistics
from fractions import Fraction

import numpy as np
import pytest
from lifelines.statistics import logrank_test

from helpers.publication.consistency import rounds_to
from helpers.reconstruct.draw import Draws, lognormal_parameters, to_units
from helpers.reconstruct.events import logrank_statistic, p_rounds_to, statistic_window
from helpers.reconstruct.moments import SolveError, Target, best_start, solve


def test_windows_by_hand():
    # 4 values on a grid of 1, mean 2.5 and SD 1.3 at one decimal:
    # S/4 in (2.45, 2.55) -> S = 10 only; D = 4Q - S^2, SD^2 = D / 12 in (1.25^2, 1.35^2) -> D in (18.75, 21.87)
    assert Target(2.5, 1.3, 1, "1", 4).windows() == (10, 10, 19, 21)


def test_holds_agrees_with_rounding_of_the_values():
    target = Target(2.5, 1.3, 1, "1", 4)
    for values in ([1, 2, 3, 4], [1, 2, 3, 3], [1, 1, 4, 4], [0, 3, 3, 4]):
        mean, sd = statistics.mean(values), statistics.stdev(values)
        expected = rounds_to(mean, 2.5, 1) and rounds_to(sd, 1.3, 1)
        assert target.holds(sum(values), sum(v * v for v in values)) == expected, values


def test_a_value_exactly_on_a_rounding_boundary_is_left_out():
    # mean 2.45 exactly rounds half up to 2.5, but a float may land on either side: not taken
    s_lo, s_hi, _, _ = Target(2.5, 1.3, 1, "0.01", 2).windows()
    assert s_lo == 491 and s_hi == 509     # 2 x 2.45 = 4.90 (490 units) and 2 x 2.55 = 510 are excluded


def test_solve_reaches_the_target_inside_the_ladders():
    draws = Draws(7)
    ladders = [list(range(10, 400))] * 12
    start = [5] * 12                                   # every value at 0.15, far from the target
    target = Target(1.82, 0.86, 2, "0.01", 12)
    values = [ladders[i][p] for i, p in enumerate(solve(ladders, start, target, draws))]
    assert all(10 <= v < 400 for v in values)
    assert rounds_to(statistics.mean(values) / 100, 1.82, 2) and rounds_to(statistics.stdev(values) / 100, 0.86, 2)


def test_solve_is_deterministic():
    def run():
        ladders = [list(range(100, 2000, 7))] * 9
        return solve(ladders, [3] * 9, Target(5.61, 2.93, 2, "0.01", 9), Draws(3))
    assert run() == run()


def test_solve_with_fixed_values_meets_the_overall_target():
    fixed = [150, 160, 170, 180]
    ladders = [list(range(0, 1000))] * 6
    target = Target(3.06, 3.00, 2, "0.01", 10)
    values = [ladders[i][p] for i, p in enumerate(solve(ladders, [300] * 6, target, Draws(1), sum(fixed),
                                                        sum(v * v for v in fixed)))]
    every = fixed + values
    assert rounds_to(statistics.mean(every) / 100, 3.06, 2) and rounds_to(statistics.stdev(every) / 100, 3.00, 2)


def test_impossible_target_raises():
    with pytest.raises(SolveError, match="no values within their bands"):
        solve([[1, 2, 3]] * 4, [0] * 4, Target(10.0, 1.0, 1, "1", 4), Draws(0))


def test_best_start_picks_the_closest_candidate():
    target = Target(2.0, 1.0, 1, "1", 3)
    assert best_start([[5, 5, 5], [1, 2, 3], [0, 0, 9]], target) == 1


def test_draws_are_exact_and_repeatable():
    a, b = Draws(11), Draws(11)
    xs = [a.normal() for _ in range(1000)]
    assert xs == [b.normal() for _ in range(1000)]
    assert all(-6 <= x <= 6 for x in xs) and abs(statistics.mean(xs)) < 0.1 and abs(statistics.stdev(xs) - 1) < 0.1
    assert all(Fraction(x).denominator <= 2 ** 40 for x in xs)   # sums of integers over 2**40: no rounding


def test_truncated_draws_stay_inside_without_piling_at_the_bounds():
    draws = Draws(5)
    values = [draws.lognormal_units(*lognormal_parameters(2.4, 1.3), 150, 1200, 0.01) for _ in range(2000)]
    assert min(values) >= 150 and max(values) <= 1200
    neighbours = sum(values.count(v) for v in range(151, 156)) / 5
    assert values.count(150) <= 2 * neighbours + 3      # as many at the bound as just inside it: no pile


def test_to_units_rounds_half_to_even_on_the_decimal_value():
    assert to_units(0.125, 0.01) == 12 and to_units(0.135, 0.01) == 14   # 0.135 is stored as 0.13500000000000000888
    assert to_units(2.675, 0.01) == 268                                  # its shortest repr is 2.675


def test_exact_logrank_equals_lifelines():
    rng = np.random.default_rng(0)
    days = rng.integers(100, 2000, 60)
    event = rng.random(60) < 0.25
    group = rng.random(60) < 0.5
    days[:4], event[:4] = 300, True                                      # tied event times
    ours = logrank_statistic(days, event, group)
    theirs = logrank_test(days[group], days[~group], event[group], event[~group]).test_statistic
    assert float(ours) == pytest.approx(theirs, rel=1e-12)


def test_statistic_window_matches_the_p_rounding():
    lo, hi = statistic_window(0.837, 3)
    assert p_rounds_to(Fraction((lo + hi) / 2), (lo, hi))
    assert not p_rounds_to(Fraction(lo), (lo, hi)) and not p_rounds_to(Fraction(hi), (lo, hi))



def test_batch_logrank_screen_equals_the_exact_statistic():
    from helpers.reconstruct.events import _logrank_batch
    rng = np.random.default_rng(4)
    first = rng.random(80) < 0.4
    days = np.repeat(rng.integers(1, 500, 80)[None, :], 20, axis=0)
    picked = np.array([rng.choice(80, 9, replace=False) for _ in range(20)])
    event_days = rng.integers(1, 300, (20, 9))
    event_days[:, 1] = event_days[:, 0]                                   # tied event times
    np.put_along_axis(days, picked, event_days, axis=1)
    screen = _logrank_batch(days, event_days, first[picked], first)
    for b in range(20):
        events = np.zeros(80, dtype=bool)
        events[picked[b]] = True
        assert screen[b] == pytest.approx(float(logrank_statistic(days[b], events, first)), rel=1e-12)
