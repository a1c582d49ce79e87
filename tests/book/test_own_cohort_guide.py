"""book/own_cohort.md, followed as written, on a cohort of 60 patients written here by hand.

The guide's ```bash blocks are run in order (with /path/to/my_cohort and params/my_cohort.yaml
pointing into a temporary folder); its ```yaml blocks are the params file. The cohort uses what
hospitals have: dates instead of days, an Excel workbook beside CSV files, a column the format
does not use, the three tables directly in the folder, no prior_response and no study file.
"""
import os
import re
import shutil
import subprocess

import pandas as pd
import pytest

from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.slow   # builds a whole book: left out of `make test-fast`

GUIDE = REPO_ROOT / "book" / "own_cohort.md"
NAME = f"guide_cohort_{os.getpid()}"
VARIANT = REPO_ROOT / "_build" / "variants" / NAME / "html"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)


def hand_written_cohort(folder) -> None:
    """60 patients, two arms, visits at baseline, ~6, ~12 and ~24 months, as dates; a rule per patient
    decides the proteinuria course (no reconstruction code involved)."""
    patients, labs, events = [], [], []
    for i in range(60):
        pid = f"H{i + 1:03d}"
        arm = "tacrolimus" if i % 2 == 0 else "no_tacrolimus"
        base = pd.Timestamp("2018-01-01") + pd.Timedelta(days=7 * i)
        course = [3.0 + (i % 5) * 0.4, [0.3, 0.8, 1.9, 2.6][i % 4], [0.2, 0.4, 1.2, 2.8][(i + 1) % 4],
                  [0.2, 0.3, 0.9, 3.1][(i + 2) % 4]]
        days = [0, 180 + i % 7, 368 - i % 9, 735 + i % 5]
        last = 800 if i % 10 else 400                      # every tenth patient leaves after a year
        patients.append({"patient_id": pid, "study": "my_cohort", "arm": arm, "sex": "F" if i % 6 else "M",
                         "age": 24 + i % 30, "isn_class": ["III", "IV", "V", "IV+V"][i % 4],
                         "induction": "cyclophosphamide" if i % 3 else "mycophenolate",
                         "maintenance": "tacrolimus+mycophenolate" if arm == "tacrolimus" else "mycophenolate",
                         "prior_response": "", "baseline_date": base.date().isoformat(),
                         "last_followup_date": (base + pd.Timedelta(days=last)).date().isoformat(),
                         "ward": f"W{i % 3}"})                 # not in the format: kept out, reported
        for day, upcr in zip(days, course):
            if day <= last:
                labs.append({"patient_id": pid, "date": (base + pd.Timedelta(days=day)).date().isoformat(),
                             "upcr_g_g": upcr, "creatinine_mg_dl": 0.8 + (i % 4) * 0.1, "egfr": 95 - i % 20,
                             "albumin_g_dl": 3.5, "c3_mg_dl": 80, "c4_mg_dl": 15, "anti_dsdna_iu_ml": ""})
        if i % 7 == 3:
            events.append({"patient_id": pid, "date": (base + pd.Timedelta(days=300)).date().isoformat(),
                           "event": "adverse_event", "category": "infection"})
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():                         # the template copied by the guide's first step
        stale.unlink()
    pd.DataFrame(patients).to_csv(folder / "patients.csv", index=False)
    pd.DataFrame(labs).to_excel(folder / "labs.xlsx", index=False)
    pd.DataFrame(events).to_csv(folder / "events.csv", index=False)


def run(command: str, cohort, params) -> subprocess.CompletedProcess:
    command = command.replace("/path/to/my_cohort", str(cohort)).replace("params/my_cohort.yaml", str(params))
    return subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    root = tmp_path_factory.mktemp("guide")
    cohort, params = root / "my_cohort", root / f"{NAME}.yaml"
    commands, settings = blocks("bash"), blocks("yaml")
    assert len(commands) == 3 and len(settings) == 2, "the guide's steps changed: update this test"
    outputs = {}
    copied = run(commands[0], cohort, params)
    assert copied.returncode == 0 and (cohort / "patients.csv").exists(), copied.stderr
    outputs["template"] = run(commands[1], cohort, params)   # the template itself is valid
    hand_written_cohort(cohort)
    outputs["validate"] = run(commands[1], cohort, params)
    params.write_text(settings[0].replace("/path/to/my_cohort", str(cohort)), encoding="utf-8")
    outputs["build"] = run(commands[2], cohort, params)
    pages = {p.name: p.read_text(encoding="utf-8") for p in VARIANT.rglob("*.html")} if VARIANT.exists() else {}
    params.write_text(params.read_text(encoding="utf-8") + settings[1], encoding="utf-8")
    outputs["compare"] = run(commands[2], cohort, params)        # "build again"
    compared = {p.name: p.read_text(encoding="utf-8") for p in VARIANT.rglob("*.html")} if VARIANT.exists() else {}
    yield outputs, pages, compared, cohort
    shutil.rmtree(VARIANT.parent, ignore_errors=True)
    shutil.rmtree(REPO_ROOT / "_build" / "staging" / NAME, ignore_errors=True)


def test_the_guide_validates_the_template_and_the_cohort(guide):
    outputs, _, _, cohort = guide
    assert outputs["template"].returncode == 0, outputs["template"].stderr
    result = outputs["validate"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "60 patients" in result.stdout and "ward" in result.stdout + result.stderr


def test_the_guide_builds_a_book_that_knows_it_shows_a_real_cohort(guide):
    outputs, pages, _, _ = guide
    assert outputs["build"].returncode == 0, outputs["build"].stdout[-3000:] + outputs["build"].stderr[-3000:]
    assert {"01_cohort_description.html", "02_response.html", "03_safety_flares.html"} <= set(pages)
    assert "04_refractory_multitarget.html" not in pages and "05_audit.html" not in pages
    first = pages["intro.html"]
    assert "real cohort" in first and "prior_response" in first and "compared with no publication" in first
    for name in ("intro.html", "methods.html", "data_dictionary.html", "01_cohort_description.html",
                 "02_response.html", "03_safety_flares.html"):
        assert "econstruct" not in pages[name] and "synthetic" not in pages[name], name
    assert "reconstruction.html" not in pages and "scorecard.html" not in pages and "own_cohort.html" not in pages
    assert "<title>Introduction &#8212; Lupus nephritis in my_cohort: 60 patients" in first
    response = pages["02_response.html"]
    assert "2 years" in response and "H001" not in response


def test_compare_with_scores_the_cohort_against_the_paper_without_targets(guide):
    outputs, _, compared, _ = guide
    assert outputs["compare"].returncode == 0, outputs["compare"].stdout[-3000:] + outputs["compare"].stderr[-3000:]
    card = compared["scorecard.html"]
    assert "study_a" in card and "independent one" in card and "Comparison with published studies" in card
    assert "independent one" in compared["intro.html"]
    scorecard = pd.read_csv(REPO_ROOT / "_build" / "staging" / NAME / "scorecard.csv")
    assert set(scorecard["study"]) == {"study_a"} and not (scorecard["role"] == "target").any()
    computed = scorecard[~scorecard["status"].isin(["not computed", "not expressible"])]
    assert len(computed) > 10 and set(computed["timepoint"].dropna()) <= {"6m", "1y", "2y"}
    assert scorecard[scorecard["timepoint"].isin(["3y", "5y"])]["status"].isin(["not computed",
                                                                              "not expressible"]).all()
