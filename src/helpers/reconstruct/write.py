"""Build a study's reconstructed cohort, write its three CSV files, and record what they were built from
(helpers.reconstruct.record)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from helpers.cohort import schema
from helpers.cohort.response import WINDOW, classify, summarise
from helpers.paths import RECONSTRUCTED_DIR
from helpers.publication import published
from helpers.reconstruct import builder, record


def build(study: str, set_aside: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """The three tables of `study`, columns in the format's order (a column the format lets a table leave out
    only where the study has values for it), checked against the plan. `set_aside`, when given, receives the
    targets the build did not reach, each with the build's reason."""
    pub = published.load(study)
    tables = builder.build(pub, set_aside=set_aside)
    tables = {name: tables[name][[f.name for f in fields if not f.may_be_absent or f.name in tables[name]]]
              for name, fields in schema.FILES.items()}
    _check_response(pub, tables)
    return tables


def _check_response(pub: published.Study, tables: dict[str, pd.DataFrame]) -> None:
    """The response the notebooks will classify from the rows is the one planned, in every cell."""
    class Rows:  # the attributes helpers.cohort.response.classify reads
        patients, labs = tables["patients.csv"], tables["labs.csv"]
    graded = classify(Rows, pub.timepoints, WINDOW, published.criteria(pub))
    layout = builder.layout(pub)
    by = ["arm", "prior_response"] if pub.subgroups else ["arm"]
    got = summarise(graded, by=by).set_index(["timepoint", *by])
    for (tp, (arm, group)), planned in layout.counts.items():
        row = got.loc[(tp, arm, group) if pub.subgroups else (tp, arm)]
        for outcome in ("n", "CR", "PR"):
            if int(row[outcome]) != planned[outcome]:
                raise RuntimeError(f"{pub.study}: the rows give {outcome} = {int(row[outcome])} at {tp} in "
                                   f"{arm}{f' / {group}' if group else ''} where the plan has {planned[outcome]}")


def write(study: str, out_dir: Path = RECONSTRUCTED_DIR) -> Path:
    """Build `study` and write its three CSVs to out_dir/study, replacing the folder
    only once every file is written; then record what they were built from (record.note)."""
    set_aside: dict[str, str] = {}
    digest = record.study_file_hash(study)
    tables = build(study, set_aside)
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
    record.note(target.parent, study, {"study_file": f"{study}.yaml", "sha256": digest, "not_reached": set_aside})
    return target
