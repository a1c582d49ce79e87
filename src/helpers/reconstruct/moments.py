"""Whole-number values that reproduce a published mean and SD exactly at their rounding.

Values live on the integer grid of their stored precision (a UPCR of 2.35 g/g is 235
units of 0.01). A published mean and SD of n values become two integer windows:

- the sum S of the values (in units), and
- D = n * Q - S**2, where Q is the sum of their squares: the sample variance is
  D / (n (n - 1)) units squared, so an SD rounding to the published one is a window for D.

Both windows are open (a value exactly on a rounding boundary is left out, so a float
recomputation cannot fall on the wrong side of it). `solve` starts from plausible draws
and moves values along their ladders (the grid points each value may take: its band)
until S and D are inside their windows, in a fixed order with seeded perturbations:
every decision is made in integer arithmetic, so the result is the same on every machine.
A group may share its target with values already fixed (`fixed_sum`, `fixed_squares`):
that is how a subgroup nobody reports is fitted to the overall mean and SD.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from helpers.reconstruct.draw import Draws

STEPS = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89)   # ladder steps tried for one value
PAIR_STEPS = (1, 2, 3)                           # ladder steps tried for two values at once
STALL = 300                                      # moves without progress before the search gives up


class SolveError(RuntimeError):
    """No values in their bands reproduce the target (or none were found); `ids`: the published
    numbers it is about, when it is about some."""

    def __init__(self, message: str, ids: tuple[str, ...] = ()):
        super().__init__(message)
        self.ids = tuple(ids)


@dataclass(frozen=True)
class Target:
    """A published mean and sample SD (n - 1) of `n` values, printed with `decimals`
    decimals, for values on a grid of `unit` (a decimal string: '0.01', '1')."""
    mean: float
    sd: float
    decimals: int
    unit: str
    n: int
    label: str = ""
    ids: tuple[str, ...] = ()   # the published mean and SD it stands for

    def windows(self) -> tuple[int, int, int, int]:
        """(S_lo, S_hi, D_lo, D_hi): inclusive integer windows for S and D (see the module)."""
        half = Fraction(5, 10 ** (self.decimals + 1))
        unit, n = Fraction(self.unit), self.n
        mean, sd = Fraction(repr(self.mean)), Fraction(repr(self.sd))
        s_lo = math.floor((mean - half) * n / unit) + 1
        s_hi = math.ceil((mean + half) * n / unit) - 1
        low = max(sd - half, Fraction(0))
        d_lo = math.floor(n * (n - 1) * low ** 2 / unit ** 2) + 1 if low > 0 else 0
        d_hi = math.ceil(n * (n - 1) * (sd + half) ** 2 / unit ** 2) - 1
        return s_lo, s_hi, d_lo, d_hi

    def holds(self, total: int, squares: int) -> bool:
        """Do n values with this sum and sum of squares (units) reproduce the target?"""
        s_lo, s_hi, d_lo, d_hi = self.windows()
        return s_lo <= total <= s_hi and d_lo <= self.n * squares - total * total <= d_hi

    def violation(self, total: int, squares: int) -> float:
        """How far n values with this sum and sum of squares are from the target (0 when it holds):
        the gap of S in units plus the gap of D in units of a typical one-step change of D."""
        s_lo, s_hi, d_lo, d_hi = self.windows()
        d = self.n * squares - total * total
        return max(s_lo - total, total - s_hi, 0) + max(d_lo - d, d - d_hi, 0) / (2.0 * self.n * self.sd_units)

    @property
    def sd_units(self) -> float:
        return float(Fraction(repr(self.sd)) / Fraction(self.unit)) or 1.0

    def describe(self) -> str:
        return f"{self.label or 'target'}: mean {self.mean} ± SD {self.sd} of {self.n} values"


def best_start(candidates: list[list[int]], target: Target, fixed_sum: int = 0, fixed_squares: int = 0) -> int:
    """The index of the candidate vector of values (drawn in advance) closest to the target."""
    def miss(values):
        return target.violation(fixed_sum + sum(values), fixed_squares + sum(v * v for v in values))
    return min(range(len(candidates)), key=lambda i: (miss(candidates[i]), i))


def solve(ladders: list[list[int]], start: list[int], target: Target, draws: Draws,
          fixed_sum: int = 0, fixed_squares: int = 0, max_iterations: int = 4000) -> list[int]:
    """Positions on `ladders` (one ascending list of allowed grid values per free value) such
    that the free values, with the fixed ones, reproduce `target`. `start` holds the positions
    of the plausible draws; moves stay close to them (one SD of the target costs 1)."""
    k = len(ladders)
    if k == 0:
        raise SolveError(f"{target.describe()}: no free values", target.ids)
    if len(start) != k:
        raise ValueError("one start position per ladder")
    s_lo, s_hi, d_lo, d_hi = target.windows()
    n = target.n
    sd_units = target.sd_units
    width = max(len(ladder) for ladder in ladders)
    grid = np.full((k, width + 2 * STEPS[-1]), -1, dtype=np.int64)   # padded ladders, -1 outside
    for i, ladder in enumerate(ladders):
        grid[i, STEPS[-1]:STEPS[-1] + len(ladder)] = ladder
    pos = np.array(start, dtype=np.int64) + STEPS[-1]
    origin = grid[np.arange(k), pos].astype(float)
    if (grid[np.arange(k), pos] < 0).any():
        raise ValueError("a start position lies outside its ladder")
    rows = np.arange(k)

    def score(total, squares, values):
        """Violation (0 when the target holds) plus a small pull towards the draws."""
        gap_s = np.maximum(np.maximum(s_lo - total, total - s_hi), 0)
        d = n * squares - total * total
        gap_d = np.maximum(np.maximum(d_lo - d, d - d_hi), 0)
        violation = gap_s + gap_d / (2.0 * n * sd_units)
        return violation, violation + 1e-3 * values / (sd_units * sd_units)

    def pull(new_value, old_value, index):   # change of the sum of squared distances to the draws
        return (new_value - origin[index]) ** 2 - (old_value - origin[index]) ** 2

    best_violation, since_best, moves = math.inf, 0, 0
    while moves < max_iterations:
        moves += 1
        values = grid[rows, pos]
        total = fixed_sum + int(values.sum())
        squares = fixed_squares + int((values * values).sum())
        if s_lo <= total <= s_hi and d_lo <= n * squares - total * total <= d_hi:
            return [int(p) - STEPS[-1] for p in pos]
        base_violation, base = score(np.int64(total), np.int64(squares), 0.0)
        if base_violation < best_violation - 1e-9:
            best_violation, since_best = base_violation, 0
        else:
            since_best += 1
            if since_best > STALL:
                break
        # one value moved by a ladder step
        index = np.repeat(rows, 2 * len(STEPS))
        offsets = np.tile(np.array([s * sign for s in STEPS for sign in (1, -1)]), k)
        new = grid[index, pos[index] + offsets]
        ok = new >= 0
        old = values[index]
        _, single = score(total + new - old, squares + new * new - old * old, pull(new, old, index))
        single = np.where(ok, single, np.inf)
        # two values moved at once (one up, one down): changes the spread at a nearly constant sum
        i, j, a, b = (m.ravel() for m in np.meshgrid(rows, rows, PAIR_STEPS, PAIR_STEPS, indexing="ij"))
        keep = i != j
        i, j, a, b = i[keep], j[keep], a[keep], b[keep]
        new_i, new_j = grid[i, pos[i] + a], grid[j, pos[j] - b]
        ok2 = (new_i >= 0) & (new_j >= 0)
        old_i, old_j = values[i], values[j]
        _, double = score(total + new_i - old_i + new_j - old_j,
                          squares + new_i * new_i - old_i * old_i + new_j * new_j - old_j * old_j,
                          pull(new_i, old_i, i) + pull(new_j, old_j, j))
        double = np.where(ok2, double, np.inf)
        best_single, best_double = int(np.argmin(single)), int(np.argmin(double))
        if min(single[best_single], double[best_double]) < base - 1e-12:
            if single[best_single] <= double[best_double]:
                pos[index[best_single]] += offsets[best_single]
            else:
                pos[i[best_double]] += a[best_double]
                pos[j[best_double]] -= b[best_double]
            continue
        # stuck in a local minimum: a seeded random pair move, then go on descending
        for _ in range(100):
            x, y = draws.choice(k, 2) if k > 1 else (0, 0)
            step_x, step_y = draws.integer(1, 3), draws.integer(1, 3)
            if grid[x, pos[x] + step_x] >= 0 and grid[y, pos[y] - step_y] >= 0:
                pos[x] += step_x
                if y != x:
                    pos[y] -= step_y
                break
    raise SolveError(f"{target.describe()}: no values within their bands found (closest: {best_violation:.3g} "
                     f"from the windows after {moves} moves)", target.ids)
