"""One real-cohort book shared by tests/book/test_faults.py and tests/book/test_own_cohort.py (a whole-book build
costs 15-25 s; the two used to build nearly the same book each): the reconstructed cohorts copied outside the
repository, so a real cohort to the pipeline, with

- every patient id replaced by a unique planted token (no identifier may reach the book),
- the folder named like an HTML attack (the parameters may reach the pages only escaped),
- min_cell 5 (small counts suppressed).

Under `pytest -n` the files in FILES run in one worker, in file order, on one build (tests/conftest.py); the
fixture itself is `real_cohort_book_built` in tests/book/conftest.py."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.paths import RECONSTRUCTED_DIR, REPO_ROOT

GROUP = "real_cohort_book"
FILES = ("tests/book/test_faults.py", "tests/book/test_own_cohort.py")   # the files that use it
NAME = f"real_cohort_test_{os.getpid()}"
VARIANT = REPO_ROOT / "_build" / "variants" / NAME / "html"
STAGING = REPO_ROOT / "_build" / "staging" / NAME
PAYLOAD = "<img src=x onerror=alert(1)>"
MIN_CELL = 5


@dataclass(frozen=True)
class Book:
    params: Path              # the params file the book was built from (its stem is the variant's name)
    cohort: Path              # the cohort folder, named PAYLOAD
    tokens: list[str]         # the planted patient ids
    generated: dict           # {name: text} of the generated pages (book/generated/*.md of the build)


def planted_cohort(root: Path) -> list[str]:
    """The reconstructed cohorts with every patient id replaced by a unique planted token; returns the tokens."""
    tokens = []
    for study in ("study_a", "study_b"):
        (root / study).mkdir(parents=True)
        patients = pd.read_csv(RECONSTRUCTED_DIR / study / "patients.csv")
        mapping = {pid: f"ZQ{uuid.uuid4().hex[:10].upper()}" for pid in patients["patient_id"]}
        tokens += mapping.values()
        for name in ("patients.csv", "labs.csv", "events.csv"):
            frame = pd.read_csv(RECONSTRUCTED_DIR / study / name, dtype=str, keep_default_na=False)
            frame["patient_id"] = frame["patient_id"].map(mapping).fillna(frame["patient_id"])
            frame.to_csv(root / study / name, index=False, lineterminator="\n")
    return tokens


def params_text(cohort: Path) -> str:
    return f"data_dir: {json.dumps(str(cohort))}\nmin_cell: {MIN_CELL}\n"


def build(params: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers", "book", "--params", str(params)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)


def built(root: Path):
    """Writes the cohort and params under `root`, builds the book; yields a Book, then removes the variant."""
    cohort = root / PAYLOAD
    tokens = planted_cohort(cohort)
    params = root / f"{NAME}.yaml"
    params.write_text(params_text(cohort), encoding="utf-8")
    result = build(params)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    pieces = STAGING / "source" / "book" / "generated"
    generated = {p.name: p.read_text(encoding="utf-8") for p in pieces.glob("*.md")}
    yield Book(params, cohort, tokens, generated)
    shutil.rmtree(VARIANT.parent, ignore_errors=True)
    shutil.rmtree(STAGING, ignore_errors=True)
