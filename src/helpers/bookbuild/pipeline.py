"""Build the book under one params file: `python -m helpers book --params params/default.yaml`.

1. read the params file (unknown names are an error naming the file and key);
2. run every notebooks/NN_*.ipynb with papermill, three at a time, into a staging
   folder (_build/staging/<name>/: executed notebooks in notebooks/, each one's result
   CSVs in outputs/<stem>/, all of them gathered in results/), passing each notebook
   only the parameters its `parameters` cell defines;
3. make the book's own source folder (_build/staging/<name>/source/: a copy of the
   hand-written pages, _toc.yml and _config.yml with the variant banner), write the
   generated pieces of the pages into it (book/generated/: scorecard, criteria, data
   dictionary, ...) and copy the executed notebooks into it (book/executed/): nothing is
   written into the repository's book/, and books of different params files share no folder;
4. run `jupyter-book build` on that folder (execution off, -W -n --keep-going) into a temporary
   folder and, only if it succeeds, swap it into _build/html (params/default.yaml)
   or _build/variants/<name>/html (any other params file, with a banner on every
   page listing its non-default parameters). The swap is one atomic step: the html
   folder is a symlink to a version folder beside it (.html.<id>), replaced by os.replace.

Faults: one run of a book at a time (an flock on _build/staging/<name>/.lock, which records the run's PID;
a dead run's lock is taken over with a note). The pool workers and jupyter-book die with the
run, even when it is killed with SIGKILL (PR_SET_PDEATHSIG). A file that cannot be read or
written is one line on stderr (exit 1), Ctrl-C one line (exit 130); the book in place stays whole.
Published text: parameters and paths reach the pages as literal text (MyST code spans or
escaped words), paths relative to the repository or by their last name only (paths.shown).

Incremental, judged by content hashes (sha256 of file bytes), never by timestamps:
- a notebook is re-executed only when its source, the exact parameters passed to it,
  the data (every file under its data_dir and under data/published/) or the helper code
  (src/helpers/**/*.py) changed, or its outputs are missing; the key of each execution is
  stored beside it (staging/notebooks/<stem>.key);
- jupyter-book runs only when something it reads (the source folder: pages, chapters,
  _config.yml with the banner, _toc.yml) changed or the book is missing (key: staging/book.key);
- when nothing the last successful build read has changed (staging/build.key), the
  run stops at once, before importing the analysis stack.
Not covered: the installed packages (a new pandas does not re-execute anything).
`--force` rebuilds everything.
"""
from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

from helpers.bookbuild import config, execute, folders, pages, publish, uptodate
from helpers.cohort.data import DataError, Exclusion, exclusion_advice, validate_tree
from helpers.compare.results import resolve
from helpers.publication import feasibility, published


def warm_feasibility(studies: list[str]) -> None:
    """Decide the published p-values' verdicts of `studies` (those whose patients are in the data, and those a
    real cohort is compared with) once, before the chapters run (they read the cache:
    publication.feasibility.verdicts), so no chapter runs the search and parallel chapters do not run it
    each. Another study file's verdicts are not needed by this book."""
    for study in studies:
        start = time.perf_counter()
        feasibility.verdicts(published.load(study))
        if time.perf_counter() - start > 1:
            print(f"p-value verdicts of {study} decided ({time.perf_counter() - start:.1f} s; cached)", flush=True)


def run(params_path: str | Path, notebooks_dir: Path = uptodate.NOTEBOOKS_DIR, jobs: int = execute.JOBS,
        book: bool = True, force: bool = False) -> None:
    """The whole pipeline (see the module docstring)."""
    config.book_name(params_path)   # before any folder is named after it
    notebooks = uptodate.find_notebooks(notebooks_dir)
    if not notebooks:
        raise RuntimeError(f"no notebooks NN_*.ipynb in {notebooks_dir}")
    if not force and uptodate.nothing_changed(Path(params_path), notebooks, book):
        return
    params, default = config.load_params(params_path), config.load_params(config.DEFAULT_PARAMS)
    for name in sorted(set(params.notebooks) - {nb.stem for nb in notebooks}):
        raise config.ParamsError(f"{params.path}: notebooks.{name}: no notebook {name}.ipynb in {notebooks_dir}")
    for note in params.notes:
        print(f"note: {note}", flush=True)
    config.check_exclude(params)
    excluded = validate_data(params)
    matched, notes = config.check_comparisons(params)
    for note in notes:
        print(f"note: {note}", flush=True)
    compared = config.studies_compared(params, matched)
    publish.BUILD_DIR.mkdir(exist_ok=True)
    folders.make(publish.lock_file(params).parent, publish.BUILD_DIR)
    with publish.pipeline_lock(publish.lock_file(params)):   # one build of this book at a time
        staging = publish.staging_folder(params)
        (staging / "build.key").unlink(missing_ok=True)
        start = time.perf_counter()
        warm_feasibility(compared)
        with folders.writing(staging):
            results_dir = execute.run_notebooks(params, notebooks, staging, jobs, force=force)
            write_exclusions(excluded, staging)   # after run_notebooks, which may empty logs/ (--force)
        with folders.writing(staging):
            source = publish.prepare_source(params, default, staging)
        generated, executed = source / "book" / "generated", source / "book" / "executed"
        with folders.writing(generated):
            totals = pages.write_generated(params, default, results_dir, staging, execute.skipped(staging, notebooks),
                                           generated, len(excluded))
        if not totals["published"]:
            print("scorecard: none (the cohort is compared with no publication; see compare_with)", flush=True)
        elif not config.all_reconstructed(params):
            print(f"comparison: {totals['comparison']} ({uptodate.relative(staging / 'scorecard.csv')})", flush=True)
        else:
            print(f"scorecard: targets {totals['targets reproduced']} of {totals['targets']} reproduced, independent "
                  f"checks {totals['checks reproduced']} of {totals['checks']} ({totals['checks that could fail']} "
                  f"could have failed), {totals['infeasible']} infeasible, {totals['not reached']} not reached under "
                  f"the stated assumptions, {totals['resolutions']} resolutions, {totals['not computed']} not "
                  f"computed, of {totals['published']} published numbers and {totals['claims']} statements in words "
                  f"({uptodate.relative(staging / 'scorecard.csv')})", flush=True)
        left_out = execute.skipped(staging, notebooks)
        with folders.writing(executed):
            folders.fresh(executed, source)
            for nb in notebooks:
                if nb not in left_out:
                    execute.publish_notebook(staging / "notebooks" / nb.name, executed / nb.name,
                                             config.all_reconstructed(params))
        if book:
            key, stored, target = publish.book_key(params, default), staging / "book.key", publish.book_target(params)
            if not force and stored.exists() and stored.read_text() == key and (target / "index.html").exists():
                print(f"book: up to date ({uptodate.relative(target)}/index.html)", flush=True)
            else:
                stored.unlink(missing_ok=True)
                with folders.writing(publish.BUILD_DIR):
                    publish.build_book(params, default, staging)
                    stored.write_text(key)
        data_dirs = config.data_folders(params)
        with folders.writing(staging):
            key = uptodate.build_key(params.path, notebooks, data_dirs, book)
            (staging / "build.key").write_text(json.dumps({"data_dirs": sorted(data_dirs), "key": key}))
        print(f"done in {time.perf_counter() - start:.1f} s", flush=True)


def validate_data(params: config.Params) -> list[Exclusion]:
    """Check the cohort(s) before any notebook runs: a malformed file stops the build with every problem named
    (file, line, column, what was expected, what to do), and the `exclude` entry that would leave out its rows
    with an impossible timeline. Returns the rows `exclude` leaves out."""
    excluded = []
    for data_dir in sorted(config.data_folders(params)):
        try:
            found = validate_tree(resolve(data_dir), params.settings.exclude)
        except DataError as err:
            advice = exclusion_advice(resolve(data_dir), err.problems)
            if err.count == 1 and not advice:   # one problem, one line
                raise RuntimeError(f"the cohort in {data_dir} is not valid: {err}") from None
            raise RuntimeError(f"the cohort in {data_dir} is not valid ({err.count} problem(s)):\n{err}"
                               + (f"\n{advice} ({params.path})" if advice else "")) from None
        print(f"data: {', '.join(uptodate.relative(f) for f in found)} valid", flush=True)
        excluded += [row for rows in found.values() for row in rows]
    if excluded:
        print(f"data: {len(excluded)} row(s) with an impossible timeline left out, as `exclude` in {params.path} asks "
              f"(listed in {uptodate.relative(publish.staging_folder(params) / 'logs' / EXCLUSIONS)})", flush=True)
    return excluded


EXCLUSIONS = "exclusions.csv"   # in the staging folder's logs/: the rows `exclude` left out, never published


def write_exclusions(excluded: list[Exclusion], staging: Path) -> None:
    """The exclusion report: one row per row left out (file, line, column, patient, the problem, what was done),
    in the build's logs folder (staging/logs), never in the book; removed when nothing is left out."""
    report = folders.make(staging / "logs", staging) / EXCLUSIONS
    if not excluded:
        report.unlink(missing_ok=True)
        return
    with report.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["file", "line", "column", "patient_id", "problem", "action"])
        for e in excluded:
            writer.writerow([e.file, f"{e.unit} {e.line}", e.column, e.patient_id, e.problem,
                             f"{e.action} (exclude in the params file)"])


def command(params_path: Path, notebooks_dir: Path | None = None, jobs: int | None = None, book: bool = True,
            force: bool = False) -> int:
    """`python -m helpers book`: run, with every expected failure as one line and an exit code (1; 130 for
    Ctrl-C) instead of a traceback."""
    try:
        run(params_path, notebooks_dir or uptodate.NOTEBOOKS_DIR, jobs or execute.JOBS, book=book, force=force)
    except (config.ParamsError, RuntimeError) as err:
        print(f"error: {plain(str(err))}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {plain(os_error(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the build stopped; the book in place is whole (the previous one, or the new one "
              "if it was already swapped in)", file=sys.stderr)
        return 130
    return 0


def plain(text: str) -> str:
    """`text` for a terminal: no colour codes, and every other control or format character (ANSI escapes, NUL,
    bidirectional overrides) written as its escape; line breaks are kept (a cohort's problems, one a line)."""
    return "\n".join(config.printable(line) for line in publish.ANSI.sub("", text).splitlines())


def os_error(err: OSError) -> str:
    """One line for a file that cannot be read or written (permissions, a full or read-only disk)."""
    where = f"{uptodate.relative(Path(err.filename))}: " if err.filename else ""
    return (f"{where}{err.strerror or err} (check that the data, params and book/ can be read, and that _build/ "
            "can be written)")
