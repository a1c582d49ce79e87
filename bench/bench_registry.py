#!/usr/bin/env python
"""Benchmark: response classification and Table 1 on a synthetic registry cohort.

For each size this runs, each in a fresh Python subprocess (so one step's
memory does not count against the next):

  generate   registry.synthetic_registry (bench/registry.py)(n)
  classify   helpers.cohort.response.classify at study A's timepoints, window 45
  table1     helpers.chapters.description.baseline_frame + table1.table_one (bench/table1.py) (grouped by arm)
  tableone   the same Table 1 by tableone.TableOne (same frame, same arguments),
             then checks that both tables are identical
  pipeline   generate, then classify + baseline_frame + table_one in one process:
             the figures the targets are about (<= 10 s, <= 4 GB peak)

Every step except generate first builds the cohort (not timed). Times are
wall-clock (time.perf_counter); the fast steps run --repeat times, each in a
new process, and the table shows the median (progress lines show all runs);
tableone runs once.

Memory is measured inside each subprocess, from the kernel's peak resident set
size (resource.getrusage(RUSAGE_SELF).ru_maxrss, the same number as VmHWM):
- "gen peak": the peak while generating the cohort;
- the step's peak: after generation the peak is reset (writing 5 to
  /proc/self/clear_refs), so this is the highest resident size during the step,
  with the cohort in memory (interpreter, imports and cohort included);
- "process peak" of the pipeline: the larger of the two, i.e. everything the
  process needed, generation included. That is the figure held to 4 GB.
If the reset is not permitted the step's peak falls back to the process peak.

    python bench/bench_registry.py                       # 100,000 and 1,000,000 patients
    python bench/bench_registry.py --sizes 2000 20000    # quick run
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 10.0
TARGET_GB = 4.0
TARGET_RATIO = 5.0
STEPS = ("generate", "classify", "table1", "tableone", "pipeline")


# --- worker: one step in this process ------------------------------------------

def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(step: str, n: int, labs_per_patient: int, seed: int, tableone_rows: int) -> dict:
    import warnings

    import pandas as pd
    import table1
    from registry import TIMEPOINTS, synthetic_registry

    from helpers.chapters import description as cohort_mod
    from helpers.cohort.response import WINDOW, classify

    result: dict = {"step": step, "n": n}
    clock = time.perf_counter
    if step == "generate":
        result["rss_before"] = _rss_bytes()
        t = clock()
        cohort = synthetic_registry(n, labs_per_patient, seed)
        result["seconds"] = clock() - t
        result["lab_rows"] = len(cohort.labs)
    else:
        cohort = synthetic_registry(n, labs_per_patient, seed)
        result["lab_rows"] = len(cohort.labs)
        result["gen_peak"] = _peak_bytes()
        result["peak_reset"] = _reset_peak()
        result["rss_before"] = _rss_bytes()
        if step == "classify":
            t = clock()
            out = classify(cohort, TIMEPOINTS, WINDOW)
            result["seconds"] = clock() - t
            result["rows"] = len(out)
        elif step == "table1":
            t = clock()
            frame = cohort_mod.baseline_frame(cohort, WINDOW)
            result["baseline_seconds"] = clock() - t
            arguments = cohort_mod.table_one_arguments(frame, "arm")
            t = clock()
            table = table1.table_one(frame, **arguments)
            result["seconds"] = clock() - t
            result["rows"] = len(table)
        elif step == "tableone":
            from tableone import TableOne

            frame = cohort_mod.baseline_frame(cohort, WINDOW)
            if len(frame) > tableone_rows:  # a random subset, said so in the report
                frame = frame.sample(tableone_rows, random_state=0).reset_index(drop=True)
            result["tableone_rows"] = len(frame)
            arguments = cohort_mod.table_one_arguments(frame, "arm")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = clock()
                reference = TableOne(frame, **arguments).tableone
                result["seconds"] = clock() - t
            result["step_peak"] = _peak_bytes()  # tableone only, before our table_one runs
            t = clock()
            ours = table1.table_one(frame, **arguments)
            result["ours_seconds_same_rows"] = clock() - t
            try:
                pd.testing.assert_frame_equal(ours, reference)
                result["identical"] = True
            except AssertionError:
                result["identical"] = False
        elif step == "pipeline":
            t0 = clock()
            out = classify(cohort, TIMEPOINTS, WINDOW)
            t1 = clock()
            frame = cohort_mod.baseline_frame(cohort, WINDOW)
            t2 = clock()
            table = table1.table_one(frame, **cohort_mod.table_one_arguments(frame, "arm"))
            t3 = clock()
            result.update(classify_seconds=t1 - t0, baseline_seconds=t2 - t1, table1_seconds=t3 - t2,
                          seconds=t3 - t0, rows=len(out), table_rows=len(table))
        else:
            raise ValueError(step)
    result.setdefault("step_peak", _peak_bytes())
    result["peak"] = max(result["step_peak"], result.get("gen_peak", 0))  # the whole process
    return result


# --- driver --------------------------------------------------------------------

def run_step(step: str, n: int, args) -> dict:
    command = [sys.executable, __file__, "--worker", step, "--n", str(n),
               "--labs-per-patient", str(args.labs_per_patient), "--seed", str(args.seed),
               "--tableone-rows", str(args.tableone_rows)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"step {step} (n={n}) failed")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    return result


def gb(x: float) -> str:
    return f"{x / 1e9:.2f}"


def median_run(runs: list[dict]) -> dict:
    """The run with the median time (lower median for an even count)."""
    ranked = sorted(runs, key=lambda r: r["seconds"])
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    chosen["all_seconds"] = [r["seconds"] for r in runs]
    chosen["peak"] = max(r["peak"] for r in runs)  # memory: the worst run
    chosen["step_peak"] = max(r["step_peak"] for r in runs)
    return chosen


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="numbers of patients")
    parser.add_argument("--labs-per-patient", type=int, default=10, help="visit slots per patient (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each fast step, each in a new process; the median is reported (default 3)")
    parser.add_argument("--tableone-rows", type=int, default=1_000_000,
                        help="run tableone on at most this many patients (a random subset above it, and the "
                             "ratio is taken on that subset); default 1,000,000, so it runs once on the full "
                             "cohort at both default sizes")
    parser.add_argument("--skip-tableone", action="store_true", help="do not run tableone")
    parser.add_argument("--worker", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.labs_per_patient, args.seed, args.tableone_rows)))
        return 0

    def say(text):
        print(text, file=sys.stderr, flush=True)

    say(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    report = []
    for n in args.sizes:
        results = {}
        for step in STEPS:
            if step == "tableone" and args.skip_tableone:
                continue
            runs = []
            for i in range(1 if step == "tableone" else max(args.repeat, 1)):
                say(f"[n={n:,}] {step} run {i + 1} ...")
                r = run_step(step, n, args)
                runs.append(r)
                extra = ""
                if step == "tableone":
                    extra = f" on {r['tableone_rows']:,} patients; identical to ours: {r['identical']}"
                if step == "pipeline":
                    extra = (f" = classify {r['classify_seconds']:.2f} + baseline_frame {r['baseline_seconds']:.2f}"
                             f" + table_one {r['table1_seconds']:.2f}")
                peaks = (f"step peak {gb(r['step_peak'])} GB, process peak {gb(r['peak'])} GB"
                         if step != "generate" else f"peak {gb(r['peak'])} GB")
                say(f"[n={n:,}] {step} run {i + 1}: {r['seconds']:.2f} s{extra}; {peaks}; "
                    f"load average {os.getloadavg()[0]:.2f}")
            results[step] = median_run(runs)
        report.append((n, results))

    # --- report ---
    print()
    print(f"Synthetic registry ({args.labs_per_patient} visit slots per patient, seed {args.seed}); "
          f"{os.cpu_count()} CPUs; load average at the end {os.getloadavg()[0]:.2f}.")
    print(f"Seconds: median of {args.repeat} runs (fresh process each), tableone one run. "
          "Peaks in GB (peak resident set size).")
    print()
    head = ["patients", "lab rows", "generate", "classify", "baseline", "table_one", "pipeline",
            "tableone", "on n", "ratio", "same", "gen peak", "classify peak", "table_one peak",
            "tableone peak", "pipeline peak", "process peak"]
    lines = [head]
    checks = []
    for n, r in report:
        t = r.get("tableone")
        ours = ratio = None
        if t:
            # tableone against ours on the same rows: the full cohort, or the subset both ran on
            ours = r["table1"]["seconds"] if t["tableone_rows"] == n else t["ours_seconds_same_rows"]
            ratio = t["seconds"] / ours
        p = r["pipeline"]
        lines.append([
            f"{n:,}", f"{r['generate']['lab_rows']:,}", f"{r['generate']['seconds']:.2f}",
            f"{r['classify']['seconds']:.2f}", f"{r['table1']['baseline_seconds']:.2f}",
            f"{r['table1']['seconds']:.2f}", f"{p['seconds']:.2f}",
            f"{t['seconds']:.2f}" if t else "-", f"{t['tableone_rows']:,}" if t else "-",
            f"{ratio:.0f}x" if t else "-", str(t["identical"]) if t else "-",
            gb(r["generate"]["peak"]), gb(r["classify"]["step_peak"]), gb(r["table1"]["step_peak"]),
            gb(t["step_peak"]) if t else "-", gb(p["step_peak"]), gb(p["peak"]),
        ])
        met = "met" if p["seconds"] <= TARGET_SECONDS else "NOT met"
        line = [f"time {p['seconds']:.2f} s <= {TARGET_SECONDS:g} s: {met}",
                f"peak {gb(p['peak'])} GB <= {TARGET_GB:g} GB: {'met' if p['peak'] <= TARGET_GB * 1e9 else 'NOT met'}"]
        if t:
            line.append(f"table_one {ratio:.0f}x faster than tableone (>= {TARGET_RATIO:g}x): "
                        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}")
        checks.append(f"n = {n:,}: " + "; ".join(line))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for i, line in enumerate(lines):
        print("  ".join(cell.rjust(w) for cell, w in zip(line, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print("generate = registry.synthetic_registry; classify = response.classify at 6m, 1y, 2y, 3y, 5y (window 45);")
    print("baseline = cohort.baseline_frame; table_one = table1.table_one (by arm, cohort.table_one's")
    print("arguments); pipeline = classify + baseline + table_one in one process; tableone = tableone.TableOne on the")
    print("same frame and arguments; ratio = tableone / table_one on the same rows; same = the tables are identical.")
    print("Step peaks: highest RSS during the step with the cohort loaded; "
          "process peak: pipeline process incl. generation.")
    print()
    for line in checks:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
