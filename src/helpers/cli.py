"""The one command line: `python -m helpers --help` (reconstruct, validate, book, notebooks).

Each subcommand imports what it needs when it runs, so that `--help`, `validate` or a build with
nothing to do do not load the analysis stack (notebooks, statistics, jupyter-book)."""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from helpers import paths
from helpers.paths import RECONSTRUCTED_DIR, REPO_ROOT


def _reconstruct(args) -> int:
    from helpers import reconstruct
    from helpers.publication import published
    study_errors = (published.PublishedError, ValueError, RuntimeError)   # what a study file can make go wrong
    studies = args.study or paths.studies()
    status = 0
    if not args.check:
        for study in studies:
            start = time.perf_counter()
            print(f"reconstructing {study} ...", flush=True)
            try:
                path = reconstruct.write(study, args.out)
            except study_errors as err:   # in words, naming the study file: never a traceback
                print(f"{study}: not reconstructed: {err}", file=sys.stderr, flush=True)
                status = 2
                continue
            print(f"  wrote {path} ({time.perf_counter() - start:.1f} s)", flush=True)
    return max(status, _check(args, studies)) if args.check else status


def _check(args, studies=None) -> int:
    import pandas as pd

    from helpers.chapters import check
    from helpers.cohort import data
    from helpers.compare import scorecard
    from helpers.publication import published
    studies = studies or args.study or paths.studies()
    tables, status = [], 0
    for study in studies:
        folder = Path(args.out) / study
        try:
            pub = published.load(study)
            if folder.is_dir() and (why := _stale(study, pub, Path(args.out))):
                print(f"{study}: not checked: {why}", file=sys.stderr)
                status = 2
                continue
            cohort = data.load(folder)
        except published.PublishedError as err:
            print(f"{study}: not checked: {err}", file=sys.stderr)
            status = 2
            continue
        except data.DataError as err:
            missing = not folder.is_dir()
            print(f"{study}: not checked: " + (f"no reconstructed cohort in {folder}; run `python -m helpers "
                                                f"reconstruct --study {study}` first" if missing else
                                                f"{folder} is not a valid cohort ({err.count} problem(s)):\n{err}"),
                  file=sys.stderr)
            status = 2
            continue
        table = check.check(pub, cohort, not_reached=_not_reached(study, Path(args.out)))
        tables.append(table)
        print(f"\n== {study}: {pub.title}")
        print(scorecard.check_text(table))
        notes = table[~table["match"] | (table["role"] != "target")]
        if len(notes):
            print("\nwhy:")
            for row in notes.itertuples():
                could = f" {row.could_fail_why}" if row.could_fail_why else ""
                print(f"  {row.id} ({row.role}): {row.reason or row.role_why}{could}")
        print("\n" + expressed_text(table))
    if not tables:
        return status
    full = pd.concat(tables, ignore_index=True)
    print("\nsummary (target: the reconstruction was built to make it true; independent check: recomputed, "
          "never used to build the rows, so it could have failed):")
    for row in scorecard.summary(full).to_dict("records"):
        print(f"  {row['study']}: {row['published']} numbers and {row['claims']} statements in words; targets "
              f"{row['targets reproduced']} of {row['targets']} reproduced; independent checks "
              f"{row['checks reproduced']} of {row['checks']} reproduced ({row['checks that could fail']} could have "
              f"failed); {row['infeasible']} infeasible (proof "
              f"above); {row['not reached']} not reached under the stated assumptions; {row['resolutions']} set "
              f"aside by a resolution; {row['repeats']} repeats (counted once); {row['not expressible']} not "
              f"expressible")
    if args.csv:
        full.to_csv(args.csv, index=False, lineterminator="\n")
        print(f"table written to {args.csv}")
    return status


def _stale(study: str, pub, out: Path) -> str | None:
    """Why the rows in out/study are not from the study file as it is now (helpers.reconstruct.record.stale), with
    the problems a reconstruct would report first (builder.requirements), or None when they are."""
    from helpers.reconstruct import builder, record
    why = record.stale(study, out)
    if why is None:
        return None
    found = builder.requirements(pub)
    return why + (f"; the study file has {len(found)} problem(s) now, each with what to add:\n"
                  + "\n".join(f"  {line}" for line in found) if found else "")


def _not_reached(study: str, out: Path) -> dict[str, str]:
    """The targets the build of out/study set aside, each with the build's reason."""
    from helpers.reconstruct import record
    entry = record.built_from(out, study) or {}
    found = entry.get("not_reached")
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def expressed_text(table) -> str:
    """How many of a study's published numbers the rows express, how many of those are reproduced (by role),
    and how many are not expressible, from one study's check table (statements in words apart)."""
    numbers = table[table["says"].astype(str) == ""]
    inexpressible = numbers["role"] == "not_expressible"
    expressed = numbers[~inexpressible]
    done = expressed["status"] == "reproduced"
    kinds = {kind: (int(((expressed["role"] == kind) & done).sum()), int((expressed["role"] == kind).sum()))
             for kind in ("target", "check")}
    other = len(expressed) - kinds["target"][1] - kinds["check"][1]
    return (f"published numbers: {len(numbers)}; expressed in the rows: {len(expressed)}, of which reproduced "
            f"{int(done.sum())} (targets {kinds['target'][0]} of {kinds['target'][1]}, independent checks "
            f"{kinds['check'][0]} of {kinds['check'][1]}; the other {other}: infeasible, set aside, repeats or not "
            f"reached, see above); not expressible: {int(inexpressible.sum())}"
            + (" (why: above)" if inexpressible.any() else ""))


class Progress:
    """How far `validate` is, on stderr, on long runs only: nothing for the first DELAY seconds; then,
    on a terminal, one line rewritten in place (a few times a second at most), and elsewhere (a log)
    a line every EVERY seconds."""
    DELAY, EVERY = 3.0, 30.0

    def __init__(self, stream=None, clock=time.monotonic):
        self.stream, self.clock = stream or sys.stderr, clock
        self.start, self.shown, self.tty = clock(), None, self.stream.isatty()

    def __call__(self, file: str, done: int, total: int | None, unit: str) -> None:
        now = self.clock()
        if now - self.start < self.DELAY or (self.shown is not None and now - self.shown < (0.25 if self.tty
                                                                                           else self.EVERY)):
            return
        self.shown = now
        where = Path(file)
        text = (f"validating {where.parent.name}/{where.name}: {done:,} "
                + (f"of {total:,} {unit} ({100 * done // max(total, 1)}%)" if total else unit))
        self.stream.write(f"\r{text}\033[K" if self.tty else text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Take the line away (a terminal), before the result is printed."""
        if self.tty and self.shown is not None:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _validate(args) -> int:
    """Check a cohort folder, or each study sub-folder of one, and report every problem; with --params, leave out
    the rows with an impossible timeline that the params file's `exclude` lists (and say which)."""
    from helpers.cohort import data
    status, progress, problems, holders = 0, Progress(), [], {}
    try:
        exclude = data.excluded_rows(args.folder, _exclude(args.params, args.folder) if args.params else None)
    except ValueError as err:   # the params file (helpers.bookbuild.config.ParamsError): one line naming it
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        folders = data.cohort_folders(args.folder) or [args.folder]
    except data.DataError as err:
        print(f"{args.folder}: {err.count} problem(s):\n{err}", file=sys.stderr)
        return 2
    for folder in folders:
        try:
            cohort = data.load(folder, progress, exclude.get(Path(folder)))
            repeated = data.repeated_studies(holders, folder, cohort.patients)
            if repeated:
                raise data.DataError(repeated)
        except data.DataError as err:
            progress.clear()
            print(f"{folder}: {err.count} problem(s):\n{err}", file=sys.stderr)
            problems += err.problems
            status = 2
            continue
        progress.clear()
        print(f"{folder}: valid: {len(cohort.patients)} patients, {len(cohort.labs)} lab rows, "
              f"{len(cohort.events)} events")
        for note in cohort.notes:
            print(f"note: {note}")
        for row in cohort.excluded:
            print(f"note: left out ({args.params}: exclude): {row.file}, {row.unit} {row.line}, column "
                  f"'{row.column}': {row.problem}; {row.action}")
    advice = data.exclusion_advice(args.folder, problems)
    if advice:
        print(advice, file=sys.stderr)
    return status


def _exclude(params: Path, folder: Path) -> dict:
    """The `exclude` of a params file, checked as the book checks it against `folder` (a ParamsError, one line)."""
    from helpers.bookbuild import config
    loaded = config.load_params(params)
    config.check_exclude(loaded, folder)
    return loaded.settings.exclude


def _notebooks(args) -> int:
    from helpers.bookbuild import execute, uptodate
    execute.store_outputs(args.notebook or uptodate.find_notebooks())
    return 0


def _book(args) -> int:
    from helpers.bookbuild import uptodate  # standard library only: an unchanged book answers at once
    if not args.force and uptodate.nothing_changed(Path(args.params), uptodate.find_notebooks(args.notebooks),
                                                   not args.no_book):
        return 0
    from helpers.bookbuild import pipeline
    return pipeline.command(args.params, args.notebooks, args.jobs, book=not args.no_book, force=args.force)


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="scipy")
    parser = argparse.ArgumentParser(prog="python -m helpers",
                                     description="Lupus nephritis reproduction book: the reconstruction, "
                                                 "cohort checks, and the book.")
    sub = parser.add_subparsers(dest="command", required=True)

    rec = sub.add_parser("reconstruct", help="build the reconstructed cohort from data/published/*.yaml",
                         description="Write data/reconstructed/<study>/ (deterministic: same inputs, same bytes). "
                                     "With --check, write nothing: compare every published number with the "
                                     "number recomputed from the rows.")
    rec.add_argument("--check", action="store_true", help="compare only; do not rebuild")
    rec.add_argument("--study", action="append", choices=paths.studies(),
                     help="only this study (repeatable; one per data/published/*.yaml)")
    rec.add_argument("--out", default=str(RECONSTRUCTED_DIR), help="cohort folder (default: %(default)s)")
    rec.add_argument("--csv", help="with --check: also write the full comparison table here")
    rec.set_defaults(run=_reconstruct)

    val = sub.add_parser("validate", help="check a cohort folder against the patient-level format",
                         description="Check the tables patients, labs and events of a cohort, each a CSV file "
                                     "(UTF-8), an Excel workbook (.xlsx, first sheet) or a Parquet file, with days "
                                     "or ISO dates (YYYY-MM-DD, then a baseline_date per patient). Exit 0 if FOLDER "
                                     "holds a valid cohort (or each of its study sub-folders does), 2 with every "
                                     "problem listed (file, line or row, column, what was expected) otherwise. "
                                     "Refused before it is read, in one line saying what to do: a file over 2 GB, "
                                     "a table over 20,000,000 rows, an Excel sheet over 10,000,000 cells (save it "
                                     "as CSV or Parquet). A run longer than a few seconds shows its progress on "
                                     "stderr (one line, rewritten on a terminal).")
    val.add_argument("folder", help="folder with patients, labs and events (.csv, .xlsx or .parquet), or one such "
                                    "folder per study")
    val.add_argument("--params", type=Path, help="a params file: leave out the rows with an impossible timeline "
                                                  "(after the death or the last follow-up) that its `exclude` lists, "
                                                  "as the book does, and list them")
    val.set_defaults(run=_validate)

    bk = sub.add_parser("book", help="run every notebook under a params file and build the book",
                        description="Run every notebook under one params file (papermill), write the reproduction "
                                    "scorecard, and build the book (jupyter-book, execution off, warnings are "
                                    "errors). params/default.yaml builds _build/html; any other params file builds "
                                    "_build/variants/<file name>/html with a banner listing its non-default "
                                    "parameters. A failed build leaves the previous book in place. Incremental: "
                                    "only what changed is redone.")
    bk.add_argument("--params", default=REPO_ROOT / "params" / "default.yaml", type=Path,
                    help="params file (default: params/default.yaml)")
    bk.add_argument("--notebooks", default=REPO_ROOT / "notebooks", type=Path,
                    help="folder of NN_*.ipynb notebooks (default: notebooks/)")
    bk.add_argument("--jobs", type=int, default=None, help="notebooks run at a time (default: 3)")
    bk.add_argument("--no-book", action="store_true",
                    help="run the notebooks and write the generated pages only; do not build the book")
    bk.add_argument("--force", action="store_true",
                    help="re-execute every notebook and rebuild the book even when their inputs are unchanged")
    bk.set_defaults(run=_book)

    nbs = sub.add_parser("notebooks", help="re-run the notebooks as the default run and store their outputs",
                         description="Execute notebooks/NN_*.ipynb in place under params/default.yaml (whose values "
                                     "the notebooks' own defaults must equal) so the stored outputs are those of "
                                     "the default run, as nbval expects.")
    nbs.add_argument("notebook", nargs="*", help="only these notebooks")
    nbs.set_defaults(run=_notebooks)

    args = parser.parse_args(argv)
    return args.run(args)
