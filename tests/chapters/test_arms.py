"""Any number of arms: one arm is all patients (no between-arm test, said once); three or more get an
omnibus test and Holm-adjusted pairs; the arms keep the study file's order (a real cohort: the order the
patients file names them), never the alphabet's."""
import pandas as pd
import pytest

from helpers.chapters import check, description, notebook, response, safety
from helpers.cohort import data, schema
from helpers.paths import REPO_ROOT
from helpers.present import tables
from helpers.publication import published
from helpers.reconstruct import builder

FIXTURES = REPO_ROOT / "tests" / "fixtures"


def cohort_of(name, tmp_path):
    pub = published.load(name, FIXTURES)
    built = builder.build(pub)
    folder = tmp_path / name
    folder.mkdir()
    for file, fields in schema.FILES.items():
        frame = built[file][[f.name for f in fields if not f.may_be_absent or f.name in built[file]]]
        frame.to_csv(folder / file, index=False, lineterminator="\n")
    return pub, data.load(folder)


def test_one_arm_is_all_patients_with_no_test_said_once(tmp_path):
    pub, cohort = cohort_of("rituxilup", tmp_path)
    assert notebook.applies("arms", pub) and notebook.applies("groups", pub)   # 02, 03 and 04 show it
    run = response.arm_response(cohort, pub.arms, pub.timepoints, criteria=published.criteria(pub))
    table = response.outcome_table(run.comparisons["CR"], "CR", run.arms, run.timepoints)
    assert table.notes.count(tables.ONE_ARM) == 1 and not any("not estimable" in n for n in table.notes)
    assert "p" not in table.frame.columns
    assert response.differences_sentence(run.comparisons, 0.05, run.timepoints, arms=run.arms).startswith("One arm")
    one = description.table_one_view(cohort, "arm", pub.arms)
    assert "All patients (N = 50)" in one.frame.columns and "Rituxilup" not in one.frame.columns \
        and "p" not in one.frame
    times, tests = safety.survival(cohort)
    events = safety.event_table(times, tests, pub.arms)
    assert events.notes == [tables.ONE_ARM] and "p (log-rank)" not in events.frame.columns
    ae = safety.adverse_event_view(safety.adverse_event_comparison(cohort, pub.arms), pub.arms)
    assert ae.notes.count(tables.ONE_ARM) == 1


def test_three_arms_an_omnibus_test_and_pairs(tmp_path):
    pub, cohort = cohort_of("study_e", tmp_path)
    run = response.arm_response(cohort, pub.arms, pub.timepoints, criteria=published.criteria(pub))
    table = response.outcome_table(run.comparisons["overall"], "overall", run.arms, run.timepoints)
    columns = list(table.frame.columns)
    assert "p, all arms" in columns and "p, low dose vs high dose (Holm)" in columns and \
        "p, high dose vs control (Holm)" in columns
    assert any("Holm-adjusted over the pairs" in n for n in table.notes)
    rows = run.rows("study_e")
    pairs = {r["group"] for r in rows if r["statistic"] == "p_value"}
    assert pairs == {"low_dose vs high_dose vs control", "low_dose vs high_dose", "low_dose vs control",
                     "high_dose vs control"}
    assert list(table.frame.columns[1:4]) == ["Low dose, n/N (%)", "High dose, n/N (%)", "Control, n/N (%)"]


def test_a_real_cohort_keeps_the_order_of_its_patients_file(tmp_path):
    patients = pd.DataFrame({"patient_id": ["A", "B", "C"], "arm": ["zeta", "alpha", "zeta"]})
    cohort = data.Cohort(patients, pd.DataFrame(), pd.DataFrame())
    assert notebook.arms_for("not_a_published_study", cohort) == ["zeta", "alpha"]


def test_the_check_computes_what_the_book_shows_for_any_arms(tmp_path):
    pub, cohort = cohort_of("rituxilup", tmp_path)
    rows = check.study_rows(pub, cohort)
    flares = {r["measure"]: r["value"] for r in rows if r["measure"].startswith("renal_flare")
              and r["statistic"] == "count"}
    assert flares == {"renal_flare events": 12, "renal_flare": 11}
    assert {r["group"] for r in rows if r["measure"] == "response"} == {"rituxilup", "all"}


@pytest.mark.slow   # the marks ask the p-value search (seconds the first time for 224-patient arms)
def test_a_published_odds_ratio_is_marked_beside_the_rows_one(tmp_path):
    from helpers.compare.marks import Marker
    pub, cohort = cohort_of("bliss_ln", tmp_path)
    run = response.arm_response(cohort, pub.arms, pub.timepoints, criteria=published.criteria(pub))
    table = response.outcome_table(run.comparisons["CR"], "CR", run.arms, run.timepoints, Marker(pub))
    assert table.frame["Odds ratio (95% CI)"].iloc[0].endswith("✓")           # 1.75 rounds to the published 1.7
    assert any("the study's own grade: complete renal response" in n for n in table.notes)
    overall = response.outcome_table(run.comparisons["overall"], "overall", run.arms, run.timepoints, Marker(pub))
    assert "primary efficacy renal response" in " ".join(overall.notes)
