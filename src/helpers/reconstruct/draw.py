"""Portable random draws: the same values on every machine.

Only the integer output of a seeded generator reaches a stored value, through integer
arithmetic, IEEE-exact float operations (+, -, *, / are correctly rounded everywhere)
and decimal arithmetic for exponentials and logarithms. No BLAS, no vectorised
transcendental function (whose last bit depends on the CPU's vector unit), no optimiser.

Values live on the integer grid of their stored precision: a UPCR of 2.35 g/g is
235 units of 0.01.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from functools import lru_cache

import numpy as np

_IRWIN_HALL_BITS = 40
_TRIES = 2000  # rejection-sampling attempts before a truncated draw falls back to a uniform one


class Draws:
    """A seeded source of portable draws (numpy's PCG64 integers underneath)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    # --- integers (numpy's integer streams are the same on every platform) -------------
    def integer(self, lo: int, hi: int) -> int:
        """A whole number in [lo, hi], uniformly."""
        return int(self.rng.integers(lo, hi + 1))

    def permutation(self, n: int) -> list[int]:
        return [int(i) for i in self.rng.permutation(n)]

    def choice(self, n: int, size: int) -> list[int]:
        """`size` distinct positions of range(n), in random order."""
        return [int(i) for i in self.rng.choice(n, size=size, replace=False)]

    # --- real numbers --------------------------------------------------------------------
    def uniform(self) -> float:
        """A uniform number in [0, 1) with 53 random bits (exact: k / 2**53)."""
        return int(self.rng.integers(0, 2 ** 53)) / 2 ** 53

    def normal(self) -> float:
        """An approximately standard normal number: the Irwin-Hall sum of 12 uniforms minus 6
        (mean 0, SD 1, within +/- 6), computed exactly from integers."""
        total = int(self.rng.integers(0, 2 ** _IRWIN_HALL_BITS, size=12).sum())   # int64: exact, 12 * 2**bits < 2**63
        return (total - 6 * 2 ** _IRWIN_HALL_BITS) / 2 ** _IRWIN_HALL_BITS

    # --- values on a grid, truncated by rejection (never clipped to a bound) -------------
    def normal_units(self, mean: float, sd: float, lo: int, hi: int, unit: float) -> int:
        """A value on the grid of `unit`, normal(mean, sd) truncated to [lo, hi] units."""
        for _ in range(_TRIES):
            value = to_units(mean + sd * self.normal(), unit)
            if lo <= value <= hi:
                return value
        return self.integer(lo, hi)

    def lognormal_units(self, mu: float, sigma: float, lo: int, hi: int, unit: float) -> int:
        """A value on the grid of `unit`, exp(normal(mu, sigma)) truncated to [lo, hi] units."""
        for _ in range(_TRIES):
            value = to_units(exp(mu + sigma * self.normal()), unit)
            if lo <= value <= hi:
                return value
        return self.integer(lo, hi)

    def uniform_units(self, lo: int, hi: int) -> int:
        return self.integer(lo, hi)


def exp(x: float) -> Decimal:
    """e**x in decimal arithmetic (correctly rounded to 28 digits on every machine)."""
    with localcontext() as ctx:
        ctx.prec = 28
        return Decimal(repr(x)).exp()


@lru_cache(maxsize=None, typed=True)
def ln(x) -> float:
    """The natural logarithm in decimal arithmetic, returned as the nearest float."""
    with localcontext() as ctx:
        ctx.prec = 28
        return float(Decimal(repr(x) if isinstance(x, float) else x).ln())


def to_units(value, unit: float) -> int:
    """The nearest grid point (in whole units of `unit`, ties to even) of a float or Decimal."""
    with localcontext() as ctx:
        ctx.prec = 28
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return int((exact / Decimal(repr(unit))).to_integral_value(rounding=ROUND_HALF_EVEN))


def lognormal_parameters(mean: float, sd: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal distribution with this mean and SD."""
    ratio = sd / mean
    sigma2 = ln(1 + ratio * ratio)
    return ln(mean) - sigma2 / 2, float(Decimal(repr(sigma2)).sqrt())
