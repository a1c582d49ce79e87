"""A real cohort through the whole pipeline (the real-cohort book of tests/real_cohort_book.py, shared with
test_faults.py: planted patient ids, min_cell 5): nothing disclosed, bad input stops the build with a precise
message, and nothing is lost (inputs and the previous book are untouched)."""
import hashlib
import shutil

import pytest
import real_cohort_book
from real_cohort_book import VARIANT

from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.slow   # builds a whole book: left out of `make test-fast`


def tree_hash(folder):
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def own_book(real_cohort_book_built):
    return real_cohort_book_built


def test_no_patient_identifier_reaches_the_built_book(own_book):
    assert VARIANT.joinpath("index.html").exists()
    leaks = []
    for path in (p for p in VARIANT.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="ignore")
        leaks += [f"{path.relative_to(VARIANT)}: {t}" for t in own_book.tokens if t in text]
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


def test_bad_input_stops_the_build_and_loses_nothing(own_book, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(own_book.cohort, bad)
    labs = bad / "study_a" / "labs.csv"
    lines = labs.read_text(encoding="utf-8").splitlines(keepends=True)
    fields = lines[4].split(",")
    fields[2] = "abc"                                      # upcr_g_g of the 4th data row
    lines[4] = ",".join(fields)
    labs.write_text("".join(lines), encoding="utf-8")
    before = {"input": tree_hash(bad), "variant": tree_hash(VARIANT)}
    default_book = REPO_ROOT / "_build" / "html"
    before["default"] = tree_hash(default_book) if default_book.exists() else None

    params = tmp_path / own_book.params.name                # the same variant, another cohort folder
    params.write_text(real_cohort_book.params_text(bad), encoding="utf-8")
    result = real_cohort_book.build(params)
    assert result.returncode != 0
    assert "labs.csv, line 5, column 'upcr_g_g'" in result.stderr, result.stderr[-2000:]
    assert "'abc' is not a number" in result.stderr
    assert tree_hash(bad) == before["input"]
    assert tree_hash(VARIANT) == before["variant"]         # the previous book of this variant is intact
    if before["default"]:
        assert tree_hash(default_book) == before["default"]
