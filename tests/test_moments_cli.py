"""Moment fitting and the command line."""
import subprocess
import sys

import numpy as np
import pytest

from helpers.consistency import rounds_to
from helpers.moments import FitError, Target, fit


def test_fit_matches_mean_and_sd_on_the_grid_within_bounds():
    x0 = np.random.default_rng(1).normal(30, 10, 25)
    x = fit(x0, 16, 60, [Target(tuple(range(25)), 27.9, 8.2, 1)], grid=1, scale=5)
    assert np.allclose(x, np.round(x)) and x.min() >= 16 and x.max() <= 60
    assert rounds_to(x.mean(), 27.9, 1) and rounds_to(x.std(ddof=1), 8.2, 1)


def test_fit_respects_linear_constraints():
    x0 = np.linspace(1, 3, 10)
    A = np.zeros((1, 10))
    A[0, 0] = -1                                   # x[0] <= 0.5
    x = fit(x0, 0.1, 10, [Target(tuple(range(10)), 2.0, 0.8, 2)], A=A, c=np.array([0.5]))
    assert x[0] <= 0.5 and rounds_to(x.mean(), 2.0, 2)


def test_impossible_targets_raise():
    with pytest.raises(FitError):
        fit(np.ones(5), 0, 1, [Target(tuple(range(5)), 0.5, 5.0, 1)], restarts_max=2)


def run(*args):
    return subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True, text=True)


def test_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0 and "reconstruct" in out.stdout and "validate" in out.stdout


def test_validate_exit_codes(valid_cohort, tmp_path):
    assert run("validate", str(valid_cohort)).returncode == 0
    (valid_cohort / "labs.csv").write_text("patient_id,day\n", encoding="utf-8")
    out = run("validate", str(valid_cohort))
    assert out.returncode == 2 and "labs.csv, line 1" in out.stderr


def test_reconstruct_check_prints_one_row_per_published_number(tmp_path):
    csv = tmp_path / "check.csv"
    out = run("reconstruct", "--check", "--csv", str(csv))
    assert out.returncode == 0, out.stderr
    assert "summary:" in out.stdout and "published numbers reproduced from the rows" in out.stdout
    import pandas as pd
    from helpers import published
    table = pd.read_csv(csv)
    assert len(table) == sum(len(published.load(s).numbers) for s in published.STUDIES)


def test_the_template_cohort_is_valid():
    from helpers.paths import REPO_ROOT
    out = run("validate", str(REPO_ROOT / "data" / "template"))
    assert out.returncode == 0, out.stderr
