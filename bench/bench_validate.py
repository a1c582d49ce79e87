#!/usr/bin/env python
"""Benchmark: `python -m helpers validate` on registry-sized cohorts.

Writes a valid cohort with exactly N lab rows (10 visits per patient, one adverse event per
tenth patient; deterministic: the same rows for the same N, the same bytes as CSV or Parquet) into a
temporary folder, then runs `python -m helpers validate FOLDER` in a child process and prints its
wall-clock time and peak memory (the child's own maximum resident set size, from os.wait4,
what /usr/bin/time -v calls "Maximum resident set size"). The targets: 10^6 lab rows in under
5 s and 500 MB, 10^7 in under 60 s and 2 GB (wall-clock: other work on the machine counts).

    python bench/bench_validate.py                          # 10^6 and 10^7 lab rows, CSV
    python bench/bench_validate.py --rows 100000 --format parquet xlsx
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet

ROOT = Path(__file__).resolve().parents[1]
VISITS = 10                 # lab rows per patient
TARGETS = {10**6: (5, 500), 10**7: (60, 2000)}   # lab rows: (seconds, MB)


def tables(lab_rows: int, seed: int = 0) -> dict[str, pa.Table]:
    """patients, labs and events of a valid cohort with exactly `lab_rows` lab rows."""
    rng = np.random.default_rng(seed)
    n = -(-lab_rows // VISITS)
    ids = np.char.add("R", np.char.zfill(np.arange(n).astype(str), 8)).astype(object)
    patient = np.arange(lab_rows) // VISITS
    day = ((np.arange(lab_rows) % VISITS) * 180 + rng.integers(0, 60, lab_rows)).astype(np.int64)
    day[np.arange(lab_rows) % VISITS == 0] = 0
    followup = np.full(n, (VISITS - 1) * 180 + 60, dtype=np.int64)

    def measured(low, high, decimals, missing=0.03):
        values = rng.uniform(low, high, lab_rows).round(decimals)
        values[rng.random(lab_rows) < missing] = np.nan
        return pa.array(values, from_pandas=True)

    patients = pa.table({
        "patient_id": ids,
        "study": np.full(n, "registry", dtype=object),
        "arm": np.where(rng.random(n) < 0.5, "tacrolimus", "no_tacrolimus").astype(object),
        "sex": np.where(rng.random(n) < 0.9, "F", "M").astype(object),
        "age": rng.uniform(16, 75, n).round(1),
        "isn_class": rng.choice(["III", "IV", "V", "IV+V"], n).astype(object),
        "induction": rng.choice(["cyclophosphamide", "mycophenolate"], n).astype(object),
        "maintenance": rng.choice(["tacrolimus+mycophenolate", "azathioprine"], n).astype(object),
        "prior_response": pa.nulls(n, pa.string()),
        "last_followup_day": followup,
    })
    labs = pa.table({
        "patient_id": ids[patient], "day": day,
        "upcr_g_g": measured(0.02, 8, 2), "creatinine_mg_dl": measured(0.4, 3, 2), "egfr": measured(15, 140, 1),
        "albumin_g_dl": measured(1, 5, 1), "c3_mg_dl": measured(20, 200, 0), "c4_mg_dl": measured(2, 60, 0),
        "anti_dsdna_iu_ml": measured(1, 2000, 1, missing=0.3),
    })
    sick = np.arange(0, n, 10)
    events = pa.table({"patient_id": ids[sick], "day": np.full(len(sick), 200, dtype=np.int64),
                       "event": np.full(len(sick), "adverse_event", dtype=object),
                       "category": np.full(len(sick), "infection", dtype=object)})
    return {"patients": patients, "labs": labs, "events": events}


def write_cohort(folder: Path, lab_rows: int, fmt: str = "csv") -> Path:
    """Write the cohort of `tables(lab_rows)` into `folder` as .csv, .parquet or .xlsx files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables(lab_rows).items():
        file = folder / f"{name}.{fmt}"
        if fmt == "csv":
            pa.csv.write_csv(table, file, pa.csv.WriteOptions(quoting_style="needed"))
        elif fmt == "parquet":
            pa.parquet.write_table(table, file)
        elif fmt == "xlsx":
            _write_xlsx(table, file)
        else:
            raise ValueError(fmt)
    return folder


def _write_xlsx(table: pa.Table, file: Path) -> None:
    import openpyxl
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(table.column_names)
    for batch in table.to_batches(100_000):
        columns = [c.to_pylist() for c in batch.columns]
        for row in zip(*columns):
            sheet.append([None if isinstance(v, float) and v != v else v for v in row])
    book.save(file)


def validate(folder: Path) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit code, first line said) of `python -m helpers validate folder` in a child
    process; the peak is the child's own maximum resident set size (os.wait4's resource usage, the
    number /usr/bin/time -v calls "Maximum resident set size")."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "helpers", "validate", str(folder)], cwd=ROOT, stdout=out,
                                 stderr=err, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        said = [line for line in out.read().splitlines() + err.read().splitlines()
                if not line.startswith("validating ")]   # progress lines
    return seconds, usage.ru_maxrss / 1024, child.returncode, said[0] if said else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10**6, 10**7], help="lab rows (default 10^6 10^7)")
    parser.add_argument("--format", nargs="+", default=["csv"], choices=["csv", "parquet", "xlsx"],
                        help="how the tables are written (default csv); an xlsx past 10^6 rows takes minutes to write")
    args = parser.parse_args()
    for fmt in args.format:
        for rows in sorted(args.rows):
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                folder = write_cohort(Path(tmp) / "cohort", rows, fmt)
                size = (folder / f"labs.{fmt}").stat().st_size / 1e6
                print(f"{rows:>12,} lab rows, {fmt}: labs.{fmt} {size:,.0f} MB (written in "
                      f"{time.perf_counter() - start:.0f} s)", flush=True)
                seconds, mb, code, said = validate(folder)
                target = TARGETS.get(rows)
                verdict = (f"; target < {target[0]} s and < {target[1]:,} MB: "
                           + ("met" if seconds < target[0] and mb < target[1] else "NOT met")) if target else ""
                print(f"  validate: {seconds:6.1f} s, peak {mb:,.0f} MB{verdict}", flush=True)
                print(f"  exit {code}: {said.replace(str(folder), 'FOLDER')[:160]}", flush=True)


if __name__ == "__main__":
    main()
