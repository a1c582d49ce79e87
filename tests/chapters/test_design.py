"""helpers.chapters.notebook: what a comparison of arms rests on, said once at the top of a chapter (arm sizes, the
timepoints read, those no patient was followed to), and no output at all when a chapter has nothing to say."""
import hospital_cohort
import pandas as pd
import pytest

from helpers.chapters import notebook
from helpers.cohort.data import Cohort
from helpers.compare import scorecard


def cohort(arms: dict[str, int], last: int = 760) -> Cohort:
    patients = pd.DataFrame({"patient_id": [f"P{i}" for i in range(sum(arms.values()))],
                             "arm": [a for a, n in arms.items() for _ in range(n)], "last_followup_day": last})
    return Cohort(patients, pd.DataFrame(), pd.DataFrame())


POINTS = {"6m": 182, "1y": 365, "2y": 730, "5y": 1826}


def test_the_arm_sizes_the_timepoints_read_and_those_none_reached():
    said = notebook.design("mine", cohort({"tac": 40, "other": 38}), ["tac", "other"], POINTS, 45)
    assert repr(said) == ("mine: 78 patients, 40 in the arm Tac and 38 in the arm Other; response read at 6 months, "
                          "1 year and 2 years (the visit closest to each, within 45 days). No patient was followed "
                          "to 5 years.")
    assert notebook.followed_to(cohort({"a": 5}, last=1800), POINTS, 45) == POINTS   # within the window of 5 years
    assert notebook.not_followed(cohort({"a": 5}, last=300), POINTS, 45) == \
        "No patient was followed to 1 year, 2 years or 5 years."


def test_a_small_arm_is_suppressed_with_what_would_give_it_away():
    said = repr(notebook.design("mine", cohort({"big": 40, "small": 3}), ["big", "small"], {"6m": 182}, 45, 5))
    assert said.startswith("mine: 43 patients, suppressed in the arm Big and suppressed in the arm Small;")


def test_nothing_to_say_shows_nothing(monkeypatch):
    shown = []
    monkeypatch.setattr(notebook, "display", lambda *parts: shown.append(parts))
    notebook.show(None, None, "")
    assert shown == []
    notebook.show(None, notebook.say("a sentence"))
    assert [repr(p) for p in shown[0]] == ["a sentence"]


def test_a_chapter_that_does_not_apply_names_the_data_folder_as_a_folder(tmp_path):
    """The reason the first page gives for a chapter left out reads right whatever the folder is called (here
    'cohort', which could be read as a missing word), the name set as code."""
    written = hospital_cohort.write(tmp_path / "cohort")
    with pytest.raises(notebook.NotApplicable) as raised:
        notebook.select(str(tmp_path / "cohort"), needs="groups", min_cell=5, exclude={"labs": [written["lab_row"]]})
    reason = str(raised.value)
    assert reason == ("no study in the data folder `cohort` has groups by response before the switch "
                      "(column prior_response)")
    assert scorecard.marked(reason).startswith("no study in the data folder ` cohort ` has groups")   # a code span
    assert notebook.data_folder("/x/odd`name") == "the data folder odd`name"   # a backtick in the name: left bare
