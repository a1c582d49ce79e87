"""GRIM and rounding helpers against hand-checked values."""
from helpers.publication.consistency import grim_mean, mixture_splits, percent_counts, rounds_clearly_to, rounds_to


def test_rounds_half_up_like_people():
    assert rounds_to(0.0999, 0.1, 1)
    assert rounds_to(49.45054945, 49.5, 1)        # 45/91
    assert rounds_to(0.25, 0.3, 1) and not rounds_to(0.2499, 0.3, 1)
    assert rounds_to(0.0557, 0.1, 1) and not rounds_to(0.0449, 0.1, 1)


def test_percent_counts():
    assert percent_counts(49.5, 1, 91) == [45]
    assert percent_counts(82.8, 1, 20) == []       # 16/20 = 80.0, 17/20 = 85.0
    assert percent_counts(33.0, 1, 91) == [30]


def test_grim_mean_brown_heathers_example():
    # Brown & Heathers (2017): a mean of 5.19 from 28 integer responses is impossible
    assert not grim_mean(5.19, 2, 28)
    assert grim_mean(5.18, 2, 28)                  # 145/28 = 5.1786
    assert grim_mean(27.9, 1, 29)


def test_mixture_splits():
    # 10 values of mean 1 and 10 of mean 3 mix into 2.0
    assert 10 in mixture_splits(2.0, 1.0, 3.0, 1, 20)
    # study B's baseline UPCR subgroups cannot mix into the overall mean for 29 patients
    assert mixture_splits(3.06, 1.82, 5.61, 2, 29) == []


def test_rounds_clearly_to_leaves_out_values_at_a_boundary():
    assert rounds_clearly_to(0.1547, 0.15, 2) and not rounds_clearly_to(0.155, 0.16, 2)
    assert not rounds_clearly_to(0.14999999999999, 0.1, 1)   # a float this close could round either way
