"""Internal-consistency tests of published aggregates (GRIM and friends).

GRIM (Brown & Heathers 2017): a percentage or a mean of integer data reported at
a given rounding is possible for a sample size n only if some integer total
divided by n rounds to it.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction


def rounds_to(value: float, reported: float, decimals: int) -> bool:
    """Does `value` round (half up, as people round) to `reported` at `decimals`?"""
    q = Decimal(1).scaleb(-decimals)
    # repr() avoids binary noise: 0.4945 stays 0.4945, not 0.49449999...
    return Decimal(repr(float(value))).quantize(q, rounding=ROUND_HALF_UP) == Decimal(repr(float(reported))).quantize(q)


def rounds_clearly_to(value: float, reported: float, decimals: int, margin: float = 1e-9) -> bool:
    """`rounds_to`, also for every value within a relative `margin`: a float computed this close
    to a rounding boundary could fall on either side of it on another machine, so it is not taken."""
    return all(rounds_to(v, reported, decimals) for v in (value * (1 - margin), value, value * (1 + margin)))


def percent_counts(percent: float, decimals: int, n: int) -> list[int]:
    """Every count k (0..n) with 100*k/n rounding to `percent`."""
    centre = percent * n / 100
    return [k for k in range(max(0, math.floor(centre) - 1), min(n, math.ceil(centre) + 1) + 1)
            if rounds_to(100 * k / n, percent, decimals)]


def grim_mean(mean: float, decimals: int, n: int, resolution: float = 1.0) -> bool:
    """Can n values on a grid of `resolution` (1 for whole years) have this mean at this rounding?"""
    units = mean * n / resolution
    return any(rounds_to(total * resolution / n, mean, decimals)
               for total in range(math.floor(units) - 1, math.ceil(units) + 2))


def grimmer(mean: float, sd: float, decimals: int, n: int) -> bool:
    """Can n whole numbers have this mean and sample SD, both rounded to `decimals`? (GRIMMER: a sum S
    and a sum of squares Q, with Q of the parity of S, such that S/n and sqrt((Q - S^2/n)/(n - 1))
    round to the published values.)"""
    if n < 2:
        return False
    half = Fraction(5, 10 ** (decimals + 1))
    m, s = Fraction(repr(mean)), Fraction(repr(sd))
    for total in range(math.floor((m - half) * n), math.ceil((m + half) * n) + 1):
        if not rounds_to(total / n, mean, decimals):
            continue
        # D = nQ - S^2 = n(n - 1) SD^2 must lie in [n(n-1)(sd - half)^2, n(n-1)(sd + half)^2)
        low, high = n * (n - 1) * max(s - half, Fraction(0)) ** 2, n * (n - 1) * (s + half) ** 2
        q_lo, q_hi = math.ceil((low + total * total) / n), math.floor((high + total * total) / n)
        for squares in range(q_lo, q_hi + 1):
            if (squares - total) % 2 == 0 and squares * n >= total * total and \
                    rounds_to(math.sqrt((squares - total * total / n) / (n - 1)), sd, decimals):
                return True
    return False


def mixture_splits(overall: float, part_a: float, part_b: float, decimals: int, n: int) -> list[int]:
    """Sizes k of part A (n - k in part B) for which the two reported subgroup means
    can mix into the reported overall mean, allowing for the rounding of all three."""
    half = 0.5 * 10 ** -decimals
    splits = []
    for k in range(0, n + 1):
        lo = (k * (part_a - half) + (n - k) * (part_b - half)) / n
        hi = (k * (part_a + half) + (n - k) * (part_b + half)) / n
        if lo < overall + half and hi >= overall - half:  # the two possible ranges overlap
            splits.append(k)
    return splits
