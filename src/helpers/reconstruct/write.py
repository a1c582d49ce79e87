"""Build a study's reconstructed cohort and write its three CSV files."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .. import published, schema
from ..paths import RECONSTRUCTED_DIR
from ..response import WINDOW, Criteria, classify, summarise
from . import plan, study_a, study_b

SEEDS = {"study_a": 20251028, "study_b": 81}
BUILDERS = {"study_a": study_a.build, "study_b": study_b.build}


def build(study: str) -> dict[str, pd.DataFrame]:
    """The three tables of `study`, columns in the format's order, checked against the plan."""
    pub = published.load(study)
    tables = BUILDERS[study](pub, SEEDS[study])
    tables = {name: tables[name][[f.name for f in fields]] for name, fields in schema.FILES.items()}
    _check_response(pub, tables)
    return tables


def _check_response(pub: published.Study, tables: dict[str, pd.DataFrame]) -> None:
    """The response the notebooks will classify from the rows is the one planned."""
    class Rows:  # the attributes helpers.response.classify reads
        patients, labs = tables["patients.csv"], tables["labs.csv"]
    got = summarise(classify(Rows, pub.timepoints, WINDOW, Criteria()), by="arm")
    if len(pub.arms) < 2:
        return
    expected = plan.plan(pub).frame()
    merged = got.merge(expected, on=["timepoint", "arm"], suffixes=("", "_plan"))
    for outcome in ("n", "CR", "PR", "NR"):
        wrong = merged[merged[outcome] != merged[f"{outcome}_plan"]]
        if len(wrong):
            raise RuntimeError(f"{pub.study}: the rows give {outcome} {wrong[outcome].tolist()} where the plan "
                               f"has {wrong[outcome + '_plan'].tolist()} ({wrong['timepoint'].tolist()})")


def write(study: str, out_dir: Path = RECONSTRUCTED_DIR) -> Path:
    """Build `study` and write its three CSVs to out_dir/study, replacing the folder
    only once every file is written."""
    tables = build(study)
    target = Path(out_dir) / study
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{study}-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        for name, frame in tables.items():
            frame.to_csv(tmp / name, index=False, lineterminator="\n")
        if target.exists():
            old = target.with_name(f".{study}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
