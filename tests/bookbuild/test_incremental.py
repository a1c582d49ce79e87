"""Incremental builds: a notebook is re-executed only when one of its inputs changed (content
hashes), and the benchmarks run. Smoke versions of `make bench`, fast enough for `make test`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from helpers.bookbuild import config, execute, uptodate
from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.slow   # builds a whole book: left out of `make test-fast`

NOTEBOOKS = ["02_response.ipynb", "03_safety_flares.ipynb"]  # only 02_response reads alpha


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """Copies of two notebooks, a params file (a copy of params/default.yaml), helper code to hash."""
    missing = [n for n in NOTEBOOKS if not (REPO_ROOT / "notebooks" / n).exists()]
    if missing:
        pytest.skip(f"notebooks missing: {missing}")
    (tmp_path / "notebooks").mkdir()
    for name in NOTEBOOKS:
        shutil.copy(REPO_ROOT / "notebooks" / name, tmp_path / "notebooks" / name)
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "code.py").write_text("X = 1\n")
    monkeypatch.setattr(execute, "HELPERS_DIR", helpers)  # stands in for src/helpers/*.py
    params = yaml.safe_load((REPO_ROOT / "params" / "default.yaml").read_text(encoding="utf-8"))
    return tmp_path, params


def run(tmp_path, params: dict, capsys) -> dict:
    """run_notebooks under `params`; {notebook stem: 'executed' or 'up to date'} from its printed lines."""
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(params), encoding="utf-8")
    notebooks = uptodate.find_notebooks(tmp_path / "notebooks")
    results = execute.run_notebooks(config.load_params(path), notebooks, tmp_path / "staging", jobs=2)
    assert sorted(p.name for p in results.glob("*.csv")) == ["02_response.csv", "03_safety_flares.csv"]
    out = capsys.readouterr().out
    said = {}
    for nb in notebooks:
        for state in ("executed", "up to date"):
            if f" {nb.stem}: {state}" in out:
                said[nb.stem] = state
    assert len(said) == len(notebooks), out
    return said


def test_only_notebooks_whose_inputs_changed_are_executed(setup, capsys):
    tmp_path, params = setup
    both = {"02_response": "executed", "03_safety_flares": "executed"}
    assert run(tmp_path, params, capsys) == both
    for nb in (tmp_path / "notebooks").iterdir():  # a newer timestamp alone is no change
        os.utime(nb)
    assert run(tmp_path, params, capsys) == {"02_response": "up to date", "03_safety_flares": "up to date"}
    assert (tmp_path / "staging" / "notebooks" / "02_response.key").exists()

    assert run(tmp_path, params | {"alpha": 0.01}, capsys) == {"02_response": "executed",
                                                               "03_safety_flares": "up to date"}

    (execute.HELPERS_DIR / "code.py").write_text("X = 2\n")  # the helper code changed
    assert run(tmp_path, params | {"alpha": 0.01}, capsys) == both


def test_hashes_are_of_content(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.csv").write_text("1\n")
    before = uptodate.hash_files(tmp_path / "a")
    os.utime(tmp_path / "a" / "x.csv", (0, 0))
    assert uptodate.hash_files(tmp_path / "a") == before
    (tmp_path / "a" / "x.csv").write_text("2\n")
    assert uptodate.hash_files(tmp_path / "a") != before
    (tmp_path / "a" / "x.csv").write_text("1\n")
    (tmp_path / "a" / "y.csv").write_text("")  # a new, even empty, file is a change
    assert uptodate.hash_files(tmp_path / "a") != before


def test_bench_scripts_show_their_help():
    for script in ("bench_build.py", "bench_registry.py"):
        done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / script), "--help"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "usage" in done.stdout, done.stderr


def test_registry_benchmark_smoke():
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "bench_registry.py"), "--sizes", "2000",
                           "--skip-tableone", "--repeat", "1"], capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    header = next((line for line in done.stdout.splitlines() if line.startswith("patients")), "")
    assert "classify" in header and "pipeline" in header, done.stdout
    assert "2,000" in done.stdout


def test_the_no_op_check_loads_no_analysis_stack():
    """`python -m helpers book` on an unchanged book answers from bookbuild.uptodate: standard library only."""
    code = ("import sys; import helpers.cli, helpers.bookbuild.uptodate; "
            "print(sorted(m for m in ('pandas', 'pydantic', 'scipy', 'papermill', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
