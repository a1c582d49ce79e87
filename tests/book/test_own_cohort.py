"""A real cohort through the whole pipeline: nothing disclosed, bad input stops the build
with a precise message, and nothing is lost (inputs and the previous book are untouched)."""
import hashlib
import os
import shutil
import subprocess
import sys
import uuid

import pandas as pd
import pytest

from helpers.paths import RECONSTRUCTED_DIR, REPO_ROOT

pytestmark = pytest.mark.slow   # builds a whole book: left out of `make test-fast`

NAME = f"own_cohort_test_{os.getpid()}"
VARIANT = REPO_ROOT / "_build" / "variants" / NAME / "html"


def tree_hash(folder):
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def planted_cohort(root):
    """The reconstructed cohorts with every patient id replaced by a unique planted token."""
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


def build(params_file, data_dir):
    params_file.write_text(f"data_dir: {data_dir}\nmin_cell: 5\n", encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "helpers", "book", "--params", str(params_file)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)


@pytest.fixture(scope="module")
def own_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    tokens = planted_cohort(root / "cohort")
    params = root / f"{NAME}.yaml"
    result = build(params, root / "cohort")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield root, params, tokens
    shutil.rmtree(VARIANT.parent, ignore_errors=True)
    shutil.rmtree(REPO_ROOT / "_build" / "staging" / NAME, ignore_errors=True)


def test_no_patient_identifier_reaches_the_built_book(own_book):
    _, _, tokens = own_book
    assert VARIANT.joinpath("index.html").exists()
    leaks = []
    for path in (p for p in VARIANT.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="ignore")
        leaks += [f"{path.relative_to(VARIANT)}: {t}" for t in tokens if t in text]
    assert not leaks, leaks[:10]


def test_a_real_cohort_gets_no_banner_and_no_marks(own_book):
    for name in ("02_response.html", "04_refractory_multitarget.html"):
        chapter = next(VARIANT.rglob(name)).read_text(encoding="utf-8")
        assert "Reconstructed cohort" not in chapter and " ✓" not in chapter and " †" not in chapter, name
    default = (REPO_ROOT / "_build" / "html" / "book" / "executed" / "02_response.html")
    if default.exists():   # the reconstructed book, built by the same `make test`, has both
        text = default.read_text(encoding="utf-8")
        assert "Reconstructed cohort" in text and " ✓" in text and " †" in text


def test_small_counts_are_suppressed_in_the_real_cohort_book(own_book):
    chapter = next(VARIANT.rglob("04_refractory_multitarget.html")).read_text(encoding="utf-8")
    assert "suppressed" in chapter and "&lt; 5" not in chapter


def test_bad_input_stops_the_build_and_loses_nothing(own_book):
    root, params, _ = own_book
    bad = root / "bad"
    shutil.copytree(root / "cohort", bad)
    labs = bad / "study_a" / "labs.csv"
    lines = labs.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[4].split(",")
    fields[2] = "abc"                                      # upcr_g_g of the 4th data row
    lines[4] = ",".join(fields)
    labs.write_text("".join(lines), encoding="utf-8")
    before = {"input": tree_hash(bad), "variant": tree_hash(VARIANT)}
    default_book = REPO_ROOT / "_build" / "html"
    before["default"] = tree_hash(default_book) if default_book.exists() else None

    result = build(params, bad)
    assert result.returncode != 0
    assert "labs.csv, line 5, column 'upcr_g_g'" in result.stderr, result.stderr[-2000:]
    assert "'abc' is not a number" in result.stderr
    assert tree_hash(bad) == before["input"]
    assert tree_hash(VARIANT) == before["variant"]         # the previous book of this variant is intact
    if before["default"]:
        assert tree_hash(default_book) == before["default"]
