"""Values on a grid that reproduce published means and SDs exactly at their rounding.

`fit` takes seeded starting values (plausible draws), finds the closest values
(in a scaled least-squares sense) whose group means and SDs equal the targets and
that satisfy linear inequalities (response categories, bounds), then rounds them
to the grid of the data (0.01 g/g, 1 year, ...) and repairs the rounding with
single grid steps until every target rounds to its published value.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .consistency import rounds_to


@dataclass(frozen=True)
class Target:
    index: tuple[int, ...]   # positions in the value vector
    mean: float
    sd: float                # sample SD (n - 1)
    decimals: int

    def holds(self, x: np.ndarray) -> bool:
        v = x[list(self.index)]
        return rounds_to(v.mean(), self.mean, self.decimals) and rounds_to(v.std(ddof=1), self.sd, self.decimals)

    def miss(self, x: np.ndarray) -> float:
        """How far (in units of the last published digit) mean and SD are from the target."""
        v = x[list(self.index)]
        unit = 10.0 ** -self.decimals
        tol = 0.45 * unit
        return (max(0.0, abs(v.mean() - self.mean) - tol) + max(0.0, abs(v.std(ddof=1) - self.sd) - tol)) / unit


class FitError(RuntimeError):
    pass


def fit(x0, lower, upper, targets: list[Target], A=None, c=None, grid: float = 0.01,
        scale=None, max_steps: int = 5000, restarts_max: int = 20) -> np.ndarray:
    """Values near `x0` within [lower, upper], with A @ x + c >= 0, matching `targets`."""
    x0 = np.asarray(x0, float)
    lower, upper = np.broadcast_to(lower, x0.shape).astype(float), np.broadcast_to(upper, x0.shape).astype(float)
    scale = np.ones_like(x0) if scale is None else np.broadcast_to(scale, x0.shape).astype(float)
    A = np.zeros((0, x0.size)) if A is None else np.asarray(A, float)
    c = np.zeros(A.shape[0]) if c is None else np.asarray(c, float)

    constraints = [{"type": "ineq", "fun": lambda x: A @ x + c, "jac": lambda x: A}] if A.size else []
    for t in targets:  # means are linear: exact constraints; SDs go in the objective (SLSQP copes better)
        idx = list(t.index)
        constraints.append({"type": "eq", "fun": lambda x, idx=idx, m=t.mean: x[idx].mean() - m})

    def objective(x):
        sd_miss = sum((x[list(t.index)].std(ddof=1) - t.sd) ** 2 / t.sd ** 2 for t in targets)
        return 1e4 * sd_miss + 1e-3 * np.sum(((x - x0) / scale) ** 2) / x0.size

    restarts = np.random.default_rng(0)
    result = None
    for attempt in range(restarts_max):
        start = x0 if attempt == 0 else x0 * np.exp(restarts.normal(0, 0.3, x0.size))
        result = minimize(objective, np.clip(start, lower, upper), method="SLSQP", bounds=list(zip(lower, upper)),
                          constraints=constraints, options={"maxiter": 2000, "ftol": 1e-14})
        x = result.x
        if all(t.miss(x) <= 0.2 for t in targets) and (not A.size or (A @ x + c).min() >= -1e-6):
            break
    else:
        raise FitError(f"no values satisfy the targets and constraints after {restarts_max} starts "
                       f"({result.message})")
    # second pass from that feasible point: the values closest to the plausible draws x0
    # with the SDs as exact constraints (kept only if it succeeds)
    sd_constraints = [{"type": "eq", "fun": lambda x, idx=list(t.index), s=t.sd: x[idx].std(ddof=1) - s}
                      for t in targets]
    closer = minimize(lambda x: np.sum(((x - x0) / scale) ** 2), x, method="SLSQP", bounds=list(zip(lower, upper)),
                      constraints=constraints + sd_constraints, options={"maxiter": 2000, "ftol": 1e-12})
    if closer.success and all(t.miss(closer.x) <= 0.2 for t in targets) and \
            (not A.size or (A @ closer.x + c).min() >= -1e-6):
        x = result.x = closer.x

    x = np.round(x / grid) * grid
    feasible = lambda v: (v >= lower - 1e-9).all() and (v <= upper + 1e-9).all() and \
        (not A.size or (A @ v + c).min() >= -1e-9)
    for _ in range(max_steps):  # rounding may cross a constraint: step its largest term back inside
        if feasible(x):
            break
        x = np.clip(x, lower, upper)
        slack = A @ x + c
        if slack.min() < -1e-9:
            row = A[int(np.argmin(slack))]
            j = int(np.argmax(np.abs(row)))
            x[j] = round((x[j] + grid * np.sign(row[j])) / grid) * grid
    total_miss = lambda v: sum(t.miss(v) for t in targets)
    for _ in range(max_steps):
        current = total_miss(x)
        if current == 0 and all(t.holds(x) for t in targets):
            return x
        best, best_x = current, None
        for i in range(x.size):
            for step in (grid, -grid):
                trial = x.copy()
                trial[i] = round((trial[i] + step) / grid) * grid
                if feasible(trial):
                    miss = total_miss(trial)
                    if miss < best - 1e-12:
                        best, best_x = miss, trial
        if best_x is None:  # no single step helps: move two values in opposite directions (keeps the mean)
            for i in range(x.size):
                for j in range(x.size):
                    if i == j:
                        continue
                    trial = x.copy()
                    trial[i] += grid
                    trial[j] -= grid
                    trial = np.round(trial / grid) * grid
                    if feasible(trial):
                        miss = total_miss(trial)
                        if miss < best - 1e-12:
                            best, best_x = miss, trial
        if best_x is None:
            break
        x = best_x
    if all(t.holds(x) for t in targets):
        return x
    raise FitError("rounded values cannot be repaired to match every target")
