"""Chapters follow the data: each analysis chapter shows every study of the cohort it applies to,
under that study's own name, and says which studies it does not apply to."""

import pandas as pd
import pytest
from notebook_run import run_chapter

from helpers.paths import RECONSTRUCTED_DIR

pytestmark = pytest.mark.slow   # runs whole chapters with papermill: left out of `make test-fast`

TIMEPOINTS = {"6m": 182, "1y": 365}


@pytest.fixture(scope="module")
def two_arm_studies(tmp_path_factory):
    """Study A's reconstruction, and a copy of it given as a second study ('hospital', no study file),
    with its patients renamed; study B beside them (single arm, groups)."""
    root = tmp_path_factory.mktemp("chapters") / "cohort"
    for study in ("study_a", "study_b"):
        (root / study).mkdir(parents=True)
        for name in ("patients.csv", "labs.csv", "events.csv"):
            (root / study / name).write_bytes((RECONSTRUCTED_DIR / study / name).read_bytes())
    (root / "hospital").mkdir()
    for name in ("patients.csv", "labs.csv", "events.csv"):
        frame = pd.read_csv(RECONSTRUCTED_DIR / "study_a" / name, dtype=str, keep_default_na=False)
        frame["patient_id"] = "H" + frame["patient_id"]
        if "study" in frame:
            frame["study"] = "hospital"
        frame.to_csv(root / "hospital" / name, index=False, lineterminator="\n")
    return root


def run(notebook, tmp_path, **parameters):
    text = run_chapter(notebook, tmp_path, **parameters)
    return text, pd.read_csv(next((tmp_path / "results").glob("*.csv")), dtype={"timepoint": str})


@pytest.mark.parametrize("notebook", ["02_response.ipynb", "03_safety_flares.ipynb"])
def test_an_arms_chapter_shows_every_study_with_arms_under_its_own_name(two_arm_studies, tmp_path, notebook):
    text, rows = run(notebook, tmp_path, data_dir=str(two_arm_studies), timepoints=TIMEPOINTS)
    assert set(rows["study"]) == {"study_a", "hospital"}
    a, h = (rows[rows["study"] == s].drop(columns="study").reset_index(drop=True) for s in ("study_a", "hospital"))
    # the same patients give the same numbers under each name (without a study file the arms are in
    # alphabetical order, so a comparison's label and counts read the other way round; its p is the same)
    compared = a["group"].str.contains(" vs ")
    keys = ["measure", "statistic", "group", "outcome", "timepoint"]   # per-arm rows come in the arms' order
    pd.testing.assert_frame_equal(a[~compared].sort_values(keys, ignore_index=True),
                                  h[~h["group"].str.contains(" vs ")].sort_values(keys, ignore_index=True))
    pd.testing.assert_series_equal(a.loc[compared, "value"], h.loc[compared, "value"])
    assert "Tacrolimus-based maintenance therapy" in text and "hospital" in text   # each under its title
    assert "does not apply to" in text and "refractory lupus nephritis: it has no arms to compare" in text


def test_the_groups_chapter_shows_the_single_arm_study_and_says_what_it_leaves_out(two_arm_studies, tmp_path):
    text, rows = run("04_refractory_multitarget.ipynb", tmp_path, data_dir=str(two_arm_studies))
    assert set(rows["study"]) == {"study_b"}
    assert "does not apply to" in text and "lupus nephritis: it has no groups" in text
    assert "hospital: it has no groups" in text


def test_a_named_study_is_the_only_one_shown(two_arm_studies, tmp_path):
    _, rows = run("02_response.ipynb", tmp_path, data_dir=str(two_arm_studies), study="hospital",
                  timepoints=TIMEPOINTS)
    assert set(rows["study"]) == {"hospital"}


def test_a_chapter_ends_with_its_own_code_collapsed():
    from helpers.chapters import notebook as chapter
    block = chapter.code("02_response")._repr_html_()
    assert block.startswith('<details class="ln-code"><summary>') and "<details open" not in block
    assert "response.arm_response(" in block and "notebook.code(" not in block
