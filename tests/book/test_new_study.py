"""A new study is its study file: no code change (tests/fixtures/study_d.yaml: two arms with subgroups).

tests/fixtures/study_c.yaml (one arm, two subgroups of its own, 6 and 12 months, more patients
evaluated at 12 months than at 6, and an overall response of 53.9% that is the sum of two rounded
percentages) is dropped into data/published/ of a copy of the repository. There, as an analyst
would: the reconstruction is written, checked, and a book is built on it. study_d and three published studies of other
shapes are reconstructed and checked each alone, then built as one book of several studies (one build, not four).
"""
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.slow   # builds a whole book: left out of `make test-fast`

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "study_c.yaml"
# published studies of other shapes, quoted from their stored abstracts: (study, what the check says of them,
# a chapter that shows it and words it must hold)
PUBLISHED = {
    "rituxilup": ("published numbers: 17; expressed in the rows: 7, of which reproduced 7 (targets 7 of 7",
                  "02_response.html", "One arm: all patients, no between-arm test."),
    "korea_ln_cohort": ("published numbers: 23; expressed in the rows: 14, of which reproduced 14 (targets 14 of 14",
                        "01_cohort_description.html", "All patients"),
    "bliss_ln": ("published numbers: 19; expressed in the rows: 15, of which reproduced 11 (targets 7 of 7",
                 "02_response.html", "Odds ratio (95% CI)"),
}


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
    return [p for p in listed.stdout.decode().split("\0") if p and (REPO_ROOT / p).is_file()]


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("new_study") / "repo"
    for relative in tracked_files():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / relative, root / relative)
    shutil.copy(FIXTURE, root / "data" / "published" / "study_c.yaml")
    shutil.copy(FIXTURE.with_name("study_d.yaml"), root / "data" / "published" / "study_d.yaml")
    for name in PUBLISHED:
        shutil.copy(FIXTURE.with_name(f"{name}.yaml"), root / "data" / "published" / f"{name}.yaml")
    return root


def run(copy, *args, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(copy / "src")}   # the copy's helpers, not the repository's
    return subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def built(copy):
    steps = {"reconstruct": run(copy, "-m", "helpers", "reconstruct", "--study", "study_c"),
             "check": run(copy, "-m", "helpers", "reconstruct", "--check", "--study", "study_c")}
    (copy / "params" / "study_c.yaml").write_text("data_dir: data/reconstructed/study_c\n", encoding="utf-8")
    steps["book"] = run(copy, "-m", "helpers", "book", "--params", "params/study_c.yaml", timeout=900)
    return steps


def test_the_cli_knows_the_study_from_its_file(copy):
    result = run(copy, "-m", "helpers", "reconstruct", "--help")
    assert "study_c" in result.stdout


def test_reconstruct_and_check_reproduce_every_target_and_name_the_infeasible_one(built, copy):
    assert built["reconstruct"].returncode == 0, built["reconstruct"].stderr[-3000:]
    check = built["check"]
    assert check.returncode == 0, check.stderr[-3000:]
    assert "targets 14 of 14 reproduced" in check.stdout
    assert ("or_6m (infeasible): 53.9% fits no n <= 29" in check.stdout
            and "It equals 15.4% + 38.5%, a sum of rounded parts" in check.stdout), check.stdout[-3000:]
    patients = pd.read_csv(copy / "data" / "reconstructed" / "study_c" / "patients.csv")
    assert set(patients["prior_response"]) == {"new_onset", "relapse"} and set(patients["arm"]) == {"rituximab_add_on"}


def test_a_book_is_built_on_it_with_its_own_scorecard(built, copy):
    book = built["book"]
    assert book.returncode == 0, book.stdout[-3000:] + book.stderr[-3000:]
    card = pd.read_csv(copy / "_build" / "staging" / "study_c" / "scorecard.csv")
    assert set(card["study"]) == {"study_c"}                            # only the study in the data
    assert (card["status"] != "not computed").all()
    assert card.set_index("id").loc["or_6m", "role"] == "infeasible"
    assert (card[card["role"] == "target"]["status"] == "reproduced").all()
    chapter = (copy / "_build" / "variants" / "study_c" / "html" / "book" / "executed"
               / "04_refractory_multitarget.html").read_text(encoding="utf-8")
    assert "New onset" in chapter and "1 year" in chapter and "6 months" in chapter
    assert not (copy / "_build" / "variants" / "study_c" / "html" / "book" / "executed" / "02_response.html").exists()


@pytest.fixture(scope="module")
def several(copy):
    """study_d and the published studies of other shapes, each reconstructed and checked alone, then one book
    on the whole data/reconstructed/ folder (one sub-folder per study), as an analyst holding several studies
    would build it: {study: (reconstruct, check, check's csv)}, and the book's run under "book"."""
    steps = {}
    for study in ["study_d", *PUBLISHED]:
        csv = copy / f"{study}-check.csv"
        steps[study] = (run(copy, "-m", "helpers", "reconstruct", "--study", study),
                        run(copy, "-m", "helpers", "reconstruct", "--check", "--study", study, "--csv", str(csv)), csv)
    (copy / "params" / "several.yaml").write_text("data_dir: data/reconstructed\n", encoding="utf-8")
    steps["book"] = run(copy, "-m", "helpers", "book", "--params", "params/several.yaml", timeout=900)
    return steps


def several_page(copy, page: str) -> str:
    """A page of the book of several studies, by its path under book/."""
    return (copy / "_build" / "variants" / "several" / "html" / "book" / page).read_text(encoding="utf-8")


def test_a_two_arm_study_with_subgroups_is_reconstructed_checked_and_built(several, copy):
    """tests/fixtures/study_d.yaml: two arms, each with two subgroups of its own labels."""
    reconstructed, check, _ = several["study_d"]
    assert reconstructed.returncode == 0, reconstructed.stderr[-3000:]
    assert check.returncode == 0, check.stdout[-3000:]
    assert "study_d: 6 numbers and 0 statements in words; targets 6 of 6" in check.stdout, check.stdout[-3000:]
    patients = pd.read_csv(copy / "data" / "reconstructed" / "study_d" / "patients.csv")
    assert patients.groupby(["arm", "prior_response"]).size().to_dict() == {
        ("add_on", "new_onset"): 10, ("add_on", "relapse"): 10, ("standard", "new_onset"): 10,
        ("standard", "relapse"): 10}
    book = several["book"]
    assert book.returncode == 0, book.stdout[-3000:] + book.stderr[-3000:]
    assert "Add-on therapy" in several_page(copy, "executed/02_response.html")               # by arm
    assert "New onset" in several_page(copy, "executed/04_refractory_multitarget.html")      # by group


@pytest.mark.parametrize("study", list(PUBLISHED))
def test_published_studies_of_other_shapes_are_reconstructed_checked_and_built(several, copy, study):
    """A randomized trial with its own grades and effect sizes, a single-arm cohort in SI units, a cohort published
    as class shares: each its study file alone, no code change. The book's scorecard says of every number what
    the check says."""
    said, page, words = PUBLISHED[study]
    reconstructed, check, csv = several[study]
    assert reconstructed.returncode == 0, reconstructed.stderr[-3000:]
    assert check.returncode == 0 and said in check.stdout, check.stdout[-3000:] + check.stderr[-2000:]
    assert "Traceback" not in check.stderr
    book = several["book"]
    assert book.returncode == 0, book.stdout[-3000:] + book.stderr[-3000:]
    card = pd.read_csv(copy / "_build" / "staging" / "several" / "scorecard.csv")
    card = card[card["study"] == study].set_index("id")
    checked = pd.read_csv(csv).set_index("id")
    # the book computes what the check does
    assert not card.empty and card["status"].to_dict() == checked["status"].to_dict()
    assert words in several_page(copy, f"executed/{page}")
    reference = several_page(copy, "study_file.html")
    assert "not_expressible" in reference and "kdigo_2024" in reference
