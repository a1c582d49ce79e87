"""The command line."""
import re
import subprocess
import sys

import pandas as pd
import pytest

from helpers import paths
from helpers.paths import REPO_ROOT
from helpers.publication import published


def run(*args):
    return subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True, text=True)


def test_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0 and "reconstruct" in out.stdout and "validate" in out.stdout


def test_validate_exit_codes(valid_cohort, tmp_path):
    assert run("validate", str(valid_cohort)).returncode == 0
    (valid_cohort / "labs.csv").write_text("patient_id,day\n", encoding="utf-8")
    out = run("validate", str(valid_cohort))
    assert out.returncode == 2 and "labs.csv, line 1" in out.stderr


def test_validate_says_which_exclude_line_would_leave_an_impossible_timeline_out(valid_cohort, tmp_path):
    with open(valid_cohort / "events.csv", "a", encoding="utf-8") as events:
        events.write("P02,95,death,\n")                       # P02: a lab on day 90 only, follow-up to day 400
    refused = run("validate", str(valid_cohort))
    assert refused.returncode == 2 and "patients.csv, line 3, column 'last_followup_day': day 400 is after the " \
        "patient's death (day 95)" in refused.stderr
    assert refused.stderr.rstrip().endswith("add to the params file: exclude: {patients: [3]} (the build then lists "
                                            "them in its log)")
    params = tmp_path / "site.yaml"
    params.write_text("exclude: {patients: [3]}\n", encoding="utf-8")
    out = run("validate", str(valid_cohort), "--params", str(params))
    assert out.returncode == 0, out.stderr
    assert "patients.csv, line 3, column 'last_followup_day': day 400 is after the patient's death (day 95); " \
           "follow-up ended at the death" in out.stdout
    params.write_text("exclude: {patient: [3]}\n", encoding="utf-8")
    out = run("validate", str(valid_cohort), "--params", str(params))
    assert out.returncode == 2 and out.stderr.startswith(f"error: {params}: `exclude` names 'patient', not a table")


def test_reconstruct_check_prints_one_row_per_published_number(tmp_path):
    csv = tmp_path / "check.csv"
    out = run("reconstruct", "--check", "--csv", str(csv))
    assert out.returncode == 0, out.stderr
    assert "summary" in out.stdout and re.search(r"independent checks \d+ of 7 reproduced", out.stdout)
    table = pd.read_csv(csv)
    studies = [published.load(s) for s in paths.studies()]
    assert len(table) == sum(len(s.numbers) + sum(len(c.items()) for c in s.claims) for s in studies)
    assert {"study_b", "or_6m_lupus2018"} <= set(table["study"]) | set(table["id"])   # the full paper's numbers


def test_check_shows_study_b_overall_upcr_reproduced_from_rows(tmp_path):
    csv = tmp_path / "check.csv"
    assert run("reconstruct", "--check", "--study", "study_b", "--csv", str(csv)).returncode == 0
    table = pd.read_csv(csv).set_index("id")
    for id in ("upcr_baseline_mean", "upcr_baseline_sd", "upcr_24w_mean", "upcr_24w_sd"):
        assert table.loc[id, "status"] == "reproduced" and table.loc[id, "role"] == "target", id


def test_the_template_cohort_is_valid():
    out = run("validate", str(REPO_ROOT / "data" / "template"))
    assert out.returncode == 0, out.stderr


def test_the_check_and_the_book_compute_the_same_numbers():
    """One measure layer: the check command's value for every published number equals the one the
    notebooks wrote for the book (when `make test` has built it)."""
    import math

    from helpers.chapters import check
    from helpers.cohort import data
    from helpers.compare import results, scorecard
    from helpers.paths import RECONSTRUCTED_DIR
    staged = REPO_ROOT / "_build" / "staging" / "default" / "results"
    if not staged.exists():
        import pytest
        pytest.skip("the default book is not built (make test builds it)")
    studies = [published.load(s) for s in paths.studies()]
    book = scorecard.build(results.read_all(staged), studies).set_index(["study", "id"])
    for pub in studies:
        checked = check.check(pub, data.load(RECONSTRUCTED_DIR / pub.study)).set_index("id")
        for number in pub.numbers:
            a, b = book.loc[(pub.study, number.id), "computed"], checked.loc[number.id, "computed"]
            assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9), (number.id, a, b)


# --- a study file the command line cannot use: said in words, never a traceback ----------------------

# Each of these copies the package into a folder of its own and runs it there, a command at a time (1.5 s
# of start-up each, and a reconstruction): left out of `make test-fast`, run by `make test`.
SLOW = pytest.mark.slow


def mini_repo(tmp_path, files: dict):
    """The package and the given study files (name -> text) in a folder of their own."""
    import shutil
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (root / "data" / "published").mkdir(parents=True)
    for name, text in files.items():
        (root / "data" / "published" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


def run_in(root, *args):
    import os
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run([sys.executable, "-m", "helpers", *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


@SLOW
def test_five_missing_assumptions_in_one_report_and_a_check_without_a_cohort(tmp_path):
    import yaml
    raw = yaml.safe_load((REPO_ROOT / "tests" / "fixtures" / "rituxilup.yaml").read_text(encoding="utf-8"))
    missing = ("female_fraction", "age", "isn_class", "induction", "maintenance")
    raw["assumptions"] = [a for a in raw["assumptions"] if a["id"] not in missing]
    root = mini_repo(tmp_path, {"rituxilup": yaml.safe_dump(raw, allow_unicode=True)})
    out = run_in(root, "reconstruct", "--study", "rituxilup")
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "rituxilup: not reconstructed: rituxilup.yaml: 5 problem(s), each with what to add:" in out.stderr
    assert all(f"no assumption '{m}'" in out.stderr for m in missing), out.stderr
    check = run_in(root, "reconstruct", "--check", "--study", "rituxilup")
    assert check.returncode == 2 and "Traceback" not in check.stderr
    assert "no reconstructed cohort in" in check.stderr and "run `python -m helpers reconstruct --study rituxilup`" \
        in check.stderr


@SLOW
def test_a_malformed_study_file_is_one_list_of_problems(tmp_path):
    import yaml
    raw = yaml.safe_load((REPO_ROOT / "tests" / "fixtures" / "korea_ln_cohort.yaml").read_text(encoding="utf-8"))
    raw["numbers"][1]["measure"] = "womanhood"
    raw["numbers"][5]["level"] = ["VII"]
    raw["numbers"][10]["unit"] = "furlongs"
    root = mini_repo(tmp_path, {"korea_ln_cohort": yaml.safe_dump(raw, allow_unicode=True)})
    for args in (("reconstruct",), ("reconstruct", "--check")):
        out = run_in(root, *args)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
        assert "numbers[1] (id female_n): unknown measure 'womanhood'" in out.stderr
        assert "numbers[5] (id class_iii): an ISN/RPS class number lists its classes in level" in out.stderr
        assert "numbers[10] (id cr_6m): unit 'furlongs'" in out.stderr


@SLOW
def test_reconstruct_and_check_a_new_study_report_what_is_expressed(tmp_path):
    text = (REPO_ROOT / "tests" / "fixtures" / "rituxilup.yaml").read_text(encoding="utf-8")
    root = mini_repo(tmp_path, {"rituxilup": text})
    assert run_in(root, "reconstruct").returncode == 0
    out = run_in(root, "reconstruct", "--check")
    assert out.returncode == 0, out.stderr
    assert "published numbers: 17; expressed in the rows: 7, of which reproduced 7 (targets 7 of 7" in out.stdout
    assert "not expressible: 10 (why: above)" in out.stdout
    assert "systemic_flares (not_expressible): a systemic (extra-renal) flare is not an event kind" in out.stdout


# --- rows checked against the study file they were built from ----------------------------------------

def single_arm(change=None) -> str:
    """tests/fixtures/single_arm.yaml as text, after `change(raw)`."""
    import yaml
    raw = yaml.safe_load((REPO_ROOT / "tests" / "fixtures" / "single_arm.yaml").read_text(encoding="utf-8"))
    if change:
        change(raw)
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


@SLOW
def test_a_check_after_a_failed_reconstruct_refuses_the_old_rows(tmp_path):
    """Issue 19: a reconstruct that fails leaves the earlier rows; the check must not compare the changed study
    file with them ('Differs ... no documented reason', exit 0), but say so, with what to do, and exit 2."""
    root = mini_repo(tmp_path, {"single_arm": single_arm()})
    assert run_in(root, "reconstruct", "--study", "single_arm").returncode == 0
    first = run_in(root, "reconstruct", "--check", "--study", "single_arm")
    assert first.returncode == 0 and "targets 5 of 5 reproduced" in first.stdout, first.stderr

    def changed(raw):
        next(n for n in raw["numbers"] if n["id"] == "cr_12m")["value"] = 50.0
        raw["assumptions"] = [a for a in raw["assumptions"] if a["id"] != "age"]
    (root / "data" / "published" / "single_arm.yaml").write_text(single_arm(changed), encoding="utf-8")
    failed = run_in(root, "reconstruct", "--study", "single_arm")
    assert failed.returncode == 2 and "no assumption 'age'" in failed.stderr
    check = run_in(root, "reconstruct", "--check", "--study", "single_arm")
    assert check.returncode == 2 and "Traceback" not in check.stderr, check.stderr
    assert "single_arm: not checked: the rows in" in check.stderr and \
        "were not built from single_arm.yaml as it is now" in check.stderr, check.stderr
    assert "run `python -m helpers reconstruct --study single_arm` and fix any problem it reports" in check.stderr
    assert "no assumption 'age'" in check.stderr              # what that reconstruct will ask for, said at once
    assert "Differs" not in check.stdout and "cr_12m" not in check.stdout


@SLOW
def test_rows_without_a_record_of_their_study_file_are_not_checked(tmp_path):
    root = mini_repo(tmp_path, {"single_arm": single_arm()})
    assert run_in(root, "reconstruct", "--study", "single_arm").returncode == 0
    (root / "data" / "reconstructed" / ".built-from.json").unlink()
    check = run_in(root, "reconstruct", "--check", "--study", "single_arm")
    assert check.returncode == 2 and "Traceback" not in check.stderr
    assert "have no record of the study file they were built from" in check.stderr, check.stderr


@SLOW
def test_a_target_the_build_set_aside_is_checked_with_the_builds_reason(tmp_path):
    """Issue 19: a mean and SD at 12 months that no draw reaches is set aside by the build ('not reached in 10
    draws'); the check gives that reason, not 'no documented reason'."""
    def at_12m(raw):
        quote = "At 12 months UPCR was 0.9 ± 0.7 g/g."
        raw["numbers"] += [{"id": "upcr_12m_mean", "source": "fixture", "measure": "upcr", "group": "all",
                            "statistic": "mean", "timepoint": "12m", "value": 0.9, "decimals": 1, "quote": quote},
                           {"id": "upcr_12m_sd", "source": "fixture", "measure": "upcr", "group": "all",
                            "statistic": "sd", "timepoint": "12m", "value": 0.7, "decimals": 1, "quote": quote}]
    root = mini_repo(tmp_path, {"single_arm": single_arm(at_12m)})
    built = run_in(root, "reconstruct", "--study", "single_arm")
    assert built.returncode == 0 and "upcr_12m_mean, upcr_12m_sd not reached in 10 draws" in built.stderr
    check = run_in(root, "reconstruct", "--check", "--study", "single_arm")
    assert check.returncode == 0, check.stderr
    for id in ("upcr_12m_mean", "upcr_12m_sd"):
        line = next(x for x in check.stdout.splitlines() if x.startswith(f"  {id} (target): "))
        assert "Not reached in 10 draws of the reconstruction (upcr of all patients at 12m" in line, line
    assert "no documented reason" not in check.stdout
