"""A real cohort's book, without building it: compare_with checked against the cohort (its studies, its arms, the
study file's arms), `exclude` against its tables, and the source folder of a book about the cohort (its own title,
its own pages, no reconstruction page). The cohort is tests/hospital_cohort.py's."""
from __future__ import annotations

from pathlib import Path

import hospital_cohort
import pytest
import yaml

from helpers.bookbuild import config, pages, publish
from helpers.paths import REPO_ROOT


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hospital") / "cohort"
    hospital_cohort.write(folder)
    return folder


def params(tmp_path: Path, cohort: Path, text: str = "") -> config.Params:
    path = tmp_path / "hosp.yaml"
    path.write_text(f"data_dir: {cohort}\ntimepoints: {{6m: 182, 1y: 365}}\n{text}", encoding="utf-8")
    return config.load_params(path)


def error(tmp_path, cohort, text: str, check=config.check_comparisons) -> str:
    loaded = params(tmp_path, cohort, text)
    with pytest.raises(config.ParamsError) as err:
        check(loaded)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{loaded.path}: "), message
    return message[len(str(loaded.path)) + 2:]


def test_compare_with_matches_the_cohort_s_arms_to_the_paper_s(tmp_path, cohort):
    mapping = "compare_with: {hospital_x: {study: study_a, arms: {other: no_tacrolimus, tac: tacrolimus}}}"
    matched, notes = config.check_comparisons(params(tmp_path, cohort, mapping))
    assert matched["hospital_x"].study == "study_a" and notes == []
    assert list(matched["hospital_x"].arms.items()) == [("tac", "tacrolimus"), ("other", "no_tacrolimus")]  # its order
    matched, notes = config.check_comparisons(params(tmp_path, cohort, "compare_with: {hospital_x: {study: study_a, "
                                                                       "arms: {tac: tacrolimus}}}"))
    assert matched["hospital_x"].arms == {"tac": "tacrolimus"}
    assert notes == ["compare_with.hospital_x: arm 'other' has no counterpart in study_a (tacrolimus, no_tacrolimus): "
                     "its numbers are not compared"]


def test_a_build_warms_the_verdicts_of_the_studies_it_compares_with_only(tmp_path, cohort):
    mapping = "compare_with: {hospital_x: {study: study_a, arms: {other: no_tacrolimus, tac: tacrolimus}}}"
    compared = params(tmp_path, cohort, mapping)
    assert config.studies_compared(compared, config.check_comparisons(compared)[0]) == ["study_a"]
    alone = params(tmp_path, cohort)
    assert config.studies_compared(alone, config.check_comparisons(alone)[0]) == []
    default = config.load_params(REPO_ROOT / "params" / "default.yaml")
    assert config.studies_compared(default, {}) == ["study_a", "study_b"]


@pytest.mark.parametrize("text, says", [
    ("compare_with: {my_cohort: study_a}\n",
     "compare_with.my_cohort: 'my_cohort' is not a study of the cohort in "),
    ("compare_with: {hospital_x: study_a}\n",
     "compare_with.hospital_x: the arms of hospital_x (tac, other) are not those of study_a (tacrolimus, "
     "no_tacrolimus); name them, e.g. compare_with: {hospital_x: {study: study_a, arms: {tac: tacrolimus, "
     "other: no_tacrolimus}}}"),
    ("compare_with: {hospital_x: {study: study_a, arms: {tacro: tacrolimus}}}\n",
     "compare_with.hospital_x.arms.tacro: not an arm of hospital_x (its arms: tac, other)"),
])
def test_a_compare_with_that_does_not_fit_names_the_valid_names(tmp_path, cohort, text, says):
    message = error(tmp_path, cohort, text)
    assert says in message
    if "not a study" in message:
        assert message.endswith("(its studies: 'hospital_x'); name one of them")


def test_exclude_names_a_table_of_the_cohort(tmp_path, cohort):
    config.check_exclude(params(tmp_path, cohort, "exclude: {labs: [28]}\n"))
    assert error(tmp_path, cohort, "exclude: {lab: [28]}\n", config.check_exclude) == (
        f"`exclude` names 'lab', not a table of {cohort} (its tables: events, labs, patients)")


def test_a_real_cohort_s_toc_has_no_reconstruction_page():
    every = {c.get("file") for part in yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())["parts"]
             for c in part["chapters"]}
    for compared in (False, True):
        toc = publish.real_cohort_toc(compared)
        files = {c.get("file") for part in toc["parts"] for c in part["chapters"]}
        left_out = set(publish.RECONSTRUCTION_PAGES) | ({"book/scorecard"} if not compared else set())
        assert files == every - left_out
        assert [part["caption"] for part in toc["parts"]][-1] == ("Results" if compared else "References")
    assert set(publish.RECONSTRUCTION_PAGES) == {"book/reconstruction", "book/own_cohort", "book/study_file"}
    for page in publish.COHORT_PAGES.glob("*.md"):   # each replaces a page of book/ of the same name
        assert (REPO_ROOT / "book" / page.name).exists(), page.name


def test_the_source_folder_of_a_real_cohort_s_book(tmp_path, cohort):
    loaded = params(tmp_path, cohort, "min_cell: 5\n")
    source = publish.prepare_source(loaded, config.load_params(config.DEFAULT_PARAMS), tmp_path / "staging")
    book = yaml.safe_load((source / "_config.yml").read_text())
    assert book["title"] == "Lupus nephritis in hospital_x: 80 patients" == pages.book_title(loaded)
    assert "announcement" not in book["sphinx"]["config"]["html_theme_options"]
    for name in ("intro.md", "methods.md", "scorecard.md"):
        assert (source / "book" / name).read_text() == (publish.COHORT_PAGES / name).read_text()
    assert not (source / "book" / "cohort").exists()
    assert "book/reconstruction" not in (source / "_toc.yml").read_text()
