#!/usr/bin/env python
"""Benchmark: building the book (python -m helpers book) and reconstructing the cohort.

Steps, each timed wall-clock as a fresh `python -m ...` process, the environment (.venv) present:

  clean build       every notebook executed and the book built, from nothing: the staging
                    folder and the built book of the benchmark's params file removed first
  no-op rebuild     the same command again: nothing changed, nothing to do
  parameter change  one parameter changed in the params file (--set, default alpha=0.01):
                    only the notebooks that read it are re-executed (listed), then the book
  floor             every chapter's kernel started and its imports run, as many at a time as the
                    build runs; the slowest one alone; jupyter-book on the executed chapters
  reconstruction    python -m helpers reconstruct --out <temporary folder>

The build steps and the floor are measured --repeat times (default 3), one after the other, and
each figure is the median: a single floor measurement on a shared 2-CPU machine moved by 40%
between two runs. Each build is divided by its floor (clean build: every kernel and the book;
a parameter change: the slowest chapter's kernel and the book).

The builds run under a temporary copy of params/default.yaml named bench_build.yaml, so they
go to _build/staging/bench_build/ and _build/variants/bench_build/html; both are removed at
the end (--keep keeps them). The default book in _build/html, and its source folder in
_build/staging/default, are not touched: every book has its own.

Progress lines go to stderr, the table to stdout.

    python bench/bench_build.py
    python bench/bench_build.py --set criteria.cr_upcr_max=0.3
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from helpers.bookbuild.execute import JOBS
from helpers.publication import feasibility

ROOT = Path(__file__).resolve().parents[1]
NAME = "bench_build"
TARGETS = {"no-op rebuild": 0.5, "reconstruction": 3.0}      # seconds
FLOOR_TARGETS = {"clean build": 1.5, "change": 1.5}           # times the floor (issue: "a build near its floor")


def import_cell(notebook: Path) -> str:
    """The notebook's first code cell: what the chapter imports."""
    import json
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "".join(next(c for c in cells if c["cell_type"] == "code")["source"])


def floor(tmp: Path, jobs: int, source: Path) -> tuple[float, float, float]:
    """(kernels, one kernel, jupyter-book): the floor of a build. Every chapter's kernel started, as many at a
    time as the build runs, its imports run (its first cell, by papermill, the build's executor), then exit;
    the slowest single one; and jupyter-book on an already-built book's source folder (executed chapters)."""
    import json
    from concurrent.futures import ThreadPoolExecutor
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    bare = []
    for nb in notebooks:
        path = tmp / f"floor_{nb.name}"
        path.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "metadata": {},
                                               "outputs": [], "source": import_cell(nb)}],
                                    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}},
                                    "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
        bare.append(path)

    def run(path: Path) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "papermill", "--log-level", "ERROR", str(path), str(path)], cwd=ROOT,
                       check=True, capture_output=True)
        return time.perf_counter() - start

    say(f"--- floor: {len(bare)} kernels started and their imports run, {jobs} at a time")
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        each = list(pool.map(run, bare))
    kernels = time.perf_counter() - start
    say(f"    ({kernels:.1f} s; one alone at most {max(each):.1f} s)")
    say(f"--- floor: jupyter-book on the executed chapters of {source.relative_to(ROOT)}")
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(source), "--path-output",
                    str(tmp / "floor-book")], cwd=source, check=True, capture_output=True)
    book = time.perf_counter() - start
    say(f"    ({book:.1f} s)")
    return kernels, max(each), book


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def timed(command: list[str], label: str) -> tuple[float, list[str]]:
    """Run `command` from the repository root, echoing its output as progress; (seconds, output lines)."""
    say(f"--- {label}: {' '.join(command[1:])}")
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        say("    " + lines[-1])
    seconds = time.perf_counter() - start
    if proc.wait() != 0:
        raise SystemExit(f"{label} failed (exit {proc.returncode}): {' '.join(command)}")
    say(f"    ({seconds:.1f} s)")
    return seconds, lines


def executed(lines: list[str]) -> list[str]:
    """Notebooks the pipeline's output says it executed ("  [1/2] 02_response: executed (3.4 s; ...)")."""
    return sorted(m.group(1) for line in lines if (m := re.search(r"\] (\S+): executed", line)))


def with_setting(params: dict, setting: str) -> dict:
    """params with one setting changed: 'alpha=0.01', 'criteria.cr_upcr_max=0.3', '02_response.window=30'."""
    key, _, value = setting.partition("=")
    changed = yaml.safe_load(yaml.safe_dump(params))
    head, _, tail = key.partition(".")
    if not tail:
        changed[key] = yaml.safe_load(value)
    elif head == "criteria":
        changed.setdefault("criteria", {})[tail] = yaml.safe_load(value)
    else:
        changed.setdefault("notebooks", {}).setdefault(head, {})[tail] = yaml.safe_load(value)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", default="alpha=0.01", metavar="NAME=VALUE",
                        help="the parameter change of the third step: a global parameter, criteria.<name> or "
                             "<notebook>.<name> (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=JOBS,
                        help="notebooks run at a time (default: %(default)s, as `make book`)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the build steps and the floor, one after the other; each figure is the median "
                             "(default: %(default)s)")
    parser.add_argument("--keep", action="store_true",
                        help="keep _build/staging/bench_build and _build/variants/bench_build")
    args = parser.parse_args(argv)

    python = sys.executable
    params = yaml.safe_load((ROOT / "params" / "default.yaml").read_text(encoding="utf-8"))
    staging, variant = ROOT / "_build" / "staging" / NAME, ROOT / "_build" / "variants" / NAME
    cold = not any(feasibility.CACHE_DIR.glob("*.json"))   # a fresh clone: run 1 does the p-value search
    runs = []   # per run: {step: seconds}, the build steps and the floor measured one after the other
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        params_file = Path(tmp) / f"{NAME}.yaml"
        build = [python, "-m", "helpers", "book", "--params", str(params_file), "--jobs", str(args.jobs)]
        try:
            for run in range(1, args.repeat + 1):
                say(f"=== run {run} of {args.repeat}")
                shutil.rmtree(staging, ignore_errors=True)
                shutil.rmtree(variant, ignore_errors=True)
                params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
                measured, notes = {}, {}
                measured["clean build"], lines = timed(build, "clean build")
                notes["clean build"] = f"{len(executed(lines))} notebooks executed, book built"

                measured["no-op rebuild"], lines = timed(build, "no-op rebuild")
                notes["no-op rebuild"] = (f"{len(executed(lines))} notebooks executed"
                                          + ("" if any("book: up to date" in x for x in lines) else ", book rebuilt"))

                params_file.write_text(yaml.safe_dump(with_setting(params, args.set), sort_keys=False),
                                       encoding="utf-8")
                change = f"change {args.set}"
                measured[change], lines = timed(build, f"parameter change ({args.set})")
                notes[change] = f"re-executed {', '.join(executed(lines)) or 'nothing'}"
                (Path(tmp) / f"floor_{run}").mkdir()
                kernels, one, book = floor(Path(tmp) / f"floor_{run}", args.jobs, staging / "source")
                measured.update({"floor: kernels + imports": kernels, "floor: jupyter-book": book,
                                 "floor: one chapter": one + book})
                runs.append(measured)
        finally:
            if not args.keep:
                shutil.rmtree(staging, ignore_errors=True)
                shutil.rmtree(variant, ignore_errors=True)
                if variant.parent.exists() and not any(variant.parent.iterdir()):
                    variant.parent.rmdir()
        seconds, lines = timed([python, "-m", "helpers", "reconstruct", "--out", str(Path(tmp) / "cohort")],
                               "reconstruction")
        rebuilt = [("reconstruction", seconds, "python -m helpers reconstruct --out <tmp> (with start-up)")]
        for line in lines:  # "  wrote .../study_a (0.6 s)": the build of each study alone
            if m := re.search(r"wrote .*/(\S+) \((\d+\.\d+) s\)", line):
                rebuilt.append((f"  {m.group(1)}", float(m.group(2)), "building and writing the study's rows"))

    def median(step: str) -> float:
        return statistics.median(r[step] for r in runs)

    def spread(step: str) -> str:
        each = sorted(r[step] for r in runs)
        return f"; median of {len(each)}: {', '.join(f'{x:.1f}' for x in each)}" if len(each) > 1 else ""

    floor_notes = {"floor: kernels + imports": f"every chapter's kernel and imports, {args.jobs} at a time",
                   "floor: jupyter-book": "the book from already-executed chapters",
                   "floor: one chapter": "the slowest chapter's kernel and imports, then the book"}
    rows = [(step, median(step), (notes.get(step) or floor_notes[step]) + spread(step)) for step in runs[0]]
    if cold:
        rows[0] = (rows[0][0], rows[0][1], rows[0][2] + "; run 1 searched the published p-values, later runs read "
                   "the search's cache (_build/cache)")
    rows += rebuilt
    floors = {"clean build": median("floor: kernels + imports") + median("floor: jupyter-book"),
              "change": median("floor: one chapter")}
    print()
    print(f"Book build (python -m helpers book, {args.jobs} notebooks at a time); {os.cpu_count()} CPUs; "
          f"load average at the end {os.getloadavg()[0]:.2f}. Seconds, wall-clock; 'x floor' is the step's time "
          f"over its floor (clean build: every kernel and the book; a change: one kernel and the book).")
    print()

    def ratio(step: str, seconds: float) -> tuple[str, str, str]:
        kind = "clean build" if step == "clean build" else "change" if step.startswith("change") else None
        if kind is None:
            target = TARGETS.get(step)
            return "", f"<= {target:g} s" if target else "", ("yes" if seconds <= target else "NO") if target else ""
        times = seconds / floors[kind]
        return f"{times:.2f}", f"<= {FLOOR_TARGETS[kind]:g} x floor", "yes" if times <= FLOOR_TARGETS[kind] else "NO"

    header = ("step", "seconds", "x floor", "target", "met", "notes")
    table = [header] + [(step, f"{s:.1f}", *ratio(step, s), notes) for step, s, notes in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, line in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
