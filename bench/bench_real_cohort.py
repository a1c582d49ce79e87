#!/usr/bin/env python
"""Benchmark: the whole book built on a real-sized cohort given as a real cohort would be.

Writes a synthetic registry of --patients patients (bench/registry.py, not a model of any real
cohort) as three CSV files to a temporary folder outside the repository, writes a params file
for it (min_cell 5, the registry's timepoints), then times, each in a fresh process:

  validate   python -m helpers validate <folder>
  build      python -m helpers book --params <file> --force  (every notebook, then jupyter-book)

The book goes to _build/variants/bench_real_cohort/html.

    python bench/bench_real_cohort.py                  # 5,000 patients
    python bench/bench_real_cohort.py --patients 500
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import registry  # noqa: E402  (bench/, beside this script)

NAME = "bench_real_cohort"


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=5000, help="cohort size (default 5000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cohort"
        folder.mkdir()
        cohort = registry.synthetic_registry(args.patients)
        for name, frame in (("patients", cohort.patients), ("labs", cohort.labs), ("events", cohort.events)):
            frame.to_csv(folder / f"{name}.csv", index=False)
        params = Path(tmp) / f"{NAME}.yaml"
        timepoints = ", ".join(f"{k}: {v}" for k, v in registry.TIMEPOINTS.items())
        params.write_text(f"data_dir: {folder}\nmin_cell: 5\ntimepoints: {{{timepoints}}}\n", encoding="utf-8")
        print(f"cohort: {len(cohort.patients):,} patients, {len(cohort.labs):,} lab rows, "
              f"{len(cohort.events):,} events", flush=True)
        validate = timed([sys.executable, "-m", "helpers", "validate", str(folder)])
        print(f"validate  {validate:6.1f} s", flush=True)
        build = timed([sys.executable, "-m", "helpers", "book", "--params", str(params), "--force"])
        print(f"build     {build:6.1f} s  (every notebook and jupyter-book; _build/variants/{NAME}/html)", flush=True)


if __name__ == "__main__":
    main()
