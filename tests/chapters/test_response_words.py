"""Chapter 02's tables under disclosure control: a timepoint at which every number is hidden (the numbers
evaluated included) is named once, in words that do not tell a small count from one hidden to protect it."""
import math

import pandas as pd

from helpers.chapters import response
from helpers.methods import stats
from helpers.present import tables

TIMEPOINTS = {"6m": 182, "1y": 365, "2y": 730}


def comparisons(hidden_n: dict) -> dict:
    """CR and overall comparisons of two arms of 40, with the numbers evaluated at `hidden_n` {timepoint: arms}
    hidden (NaN, as arm_response leaves them) and, there, every count of that arm."""
    summary = pd.DataFrame({"timepoint": pd.Categorical([tp for tp in TIMEPOINTS for _ in "ab"],
                                                        categories=list(TIMEPOINTS)),
                            "arm": ["a", "b"] * 3, "n": [40] * 6, "CR": [16, 10] * 3, "PR": [10, 10] * 3,
                            "NR": [14, 20] * 3})
    summary["overall"] = summary["CR"] + summary["PR"]
    out = {}
    for outcome in ("CR", "overall"):
        c = stats.response_comparison(summary, outcome, ["a", "b"])
        for tp, arms in hidden_n.items():
            for arm in arms:
                c.loc[c["timepoint"].astype(str) == tp, [f"{arm}_k", f"{arm}_n"]] = math.nan
        out[outcome] = c
    return out


def test_a_timepoint_with_every_number_hidden_is_named_once_under_the_tables():
    tables.new_chapter()
    found = comparisons({"1y": ["a"], "2y": ["a", "b"]})                 # 1 year: arm b still shows its counts
    cr, overall = (response.outcome_table(found[o], o, ["a", "b"], TIMEPOINTS, min_cell=5) for o in ("CR", "overall"))
    said = ("At 2 years every number is suppressed, the numbers of patients evaluated included: shown, they would "
            "give away a count of fewer than 5 patients (see Methods).")
    assert said in cr.notes and said in overall.notes
    assert cr.frame.iloc[2, 1:3].tolist() == ["suppressed", "suppressed"]
    html = cr._repr_html_() + overall._repr_html_()
    assert html.count(said) == 1 and "<p class=\"ln-note\"></p>" not in html   # said once in the chapter
    assert response.silent_timepoints(found["CR"], ["a", "b"]) == ["2y"]


def test_no_such_note_when_every_timepoint_shows_something_or_nothing_is_hidden():
    assert response.silent_note(comparisons({"1y": ["a"]})["CR"], ["a", "b"], TIMEPOINTS, 5) == ""
    assert response.silent_note(comparisons({})["CR"], ["a", "b"], TIMEPOINTS, 0) == ""
    two = response.silent_note(comparisons({"1y": ["a", "b"], "2y": ["a", "b"]})["CR"], ["a", "b"], TIMEPOINTS, 5)
    assert two.startswith("At 1 year and 2 years every number is suppressed")
