"""Shared fixtures and the grouping of tests for `pytest -n` (pytest-xdist); bench/ on the
path, for the tests of the benchmarks' own code (table1, registry), and
tests/ itself, for the helpers the tests share (attack_cohort, grid_oracle). The tests mirror the package:
tests/<wing>/test_<module>.py; whole-book tests (attacks, faults, browser, new study, own cohort) in tests/book/."""
import sys
from pathlib import Path

import pytest


def pytest_xdist_make_scheduler(config, log):
    """Under `pytest -n` (make test: -n auto) each file runs whole in one worker, in order (a notebook's nbval
    cells share its kernel; a module's fixtures are built once), and the files that share the real-cohort book
    (real_cohort_book.FILES) run together in one worker, so that book is built once. (xdist's own `--dist
    loadgroup` does not group under pytest 9, which no longer reads the node id it rewrites.)"""
    from real_cohort_book import FILES, GROUP
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::")[0]
            return GROUP if path in FILES else path

    return ByFile(config, log)


def pytest_collection_modifyitems(items):
    """A file that uses the real-cohort book must be one of real_cohort_book.FILES (else `pytest -n` would build it
    again in another worker, beside the first)."""
    from real_cohort_book import FILES
    users = {item.nodeid.split("::")[0] for item in items
             if "real_cohort_book_built" in getattr(item, "fixturenames", ())}
    if users - set(FILES):
        raise pytest.UsageError(f"add {sorted(users - set(FILES))} to FILES in tests/real_cohort_book.py")


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
def valid_cohort(tmp_path: Path) -> Path:
    """A small valid cohort folder (patients.csv, labs.csv, events.csv); returns its path.

    3 patients (one per arm), 6 lab rows, 2 events. Plain CSV without quotes,
    '\\n' line endings and a final newline, so the header is line 1 and the
    first data row is line 2 of every file.
    """
    folder = tmp_path / "cohort"
    folder.mkdir()
    files = {
        "patients.csv": [
            "patient_id,study,arm,sex,age,isn_class,induction,maintenance,prior_response,last_followup_day",
            "P01,demo,tacrolimus,F,31.5,IV,MMF+TAC,MMF,,365",
            "P02,demo,no_tacrolimus,M,44,III+V,MMF,AZA,,400",
            "P03,demo,multitarget,F,27,V,,,partial,180",
        ],
        "labs.csv": [
            "patient_id,day,upcr_g_g,creatinine_mg_dl,egfr,albumin_g_dl,c3_mg_dl,c4_mg_dl,anti_dsdna_iu_ml",
            "P01,0,3.2,1.1,72,2.9,60,8,400",
            "P01,90,1.1,0.9,88,3.5,80,14,120",
            "P01,180,0.3,0.8,95,3.9,95,18,40",
            "P02,0,2.5,1.4,55,3.1,70,10,",
            "P02,90,0.4,1.2,60,3.8,,,",
            "P03,0,4.0,0.7,110,2.4,50,6,800",
        ],
        "events.csv": [
            "patient_id,day,event,category",
            "P01,150,renal_flare,",
            "P02,30,adverse_event,infection",
        ],
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    return folder
