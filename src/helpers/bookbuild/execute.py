"""Running the notebooks with papermill: a pool of workers that die with the build (their own
spawned processes, PR_SET_PDEATHSIG), each notebook re-executed only when its content-hash key
(source, parameters, data, helper code) changed; and `store_outputs`, which runs the notebooks in
place under the default parameters so that nbval can check their stored outputs. One executor
(worker.execute_notebook) serves both."""
from __future__ import annotations

import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from helpers.bookbuild import config, folders
from helpers.bookbuild.uptodate import hash_files, read_key, relative
from helpers.bookbuild.worker import NOT_APPLICABLE, die_with_build, execute_notebook, run_logged
from helpers.compare.results import resolve
from helpers.paths import PUBLISHED_DIR

# Notebooks run at a time. A notebook spends about a third of its time waiting on its kernel (start-up,
# shutdown): on 2 cores three at a time build the book about 4 s faster (of 20) than two at a time.
JOBS = 3

STAGING_FOLDERS = ("notebooks", "outputs", "logs", "results")   # what run_notebooks writes in a staging folder

HELPERS_DIR = Path(__file__).resolve().parents[1]  # src/helpers: its *.py are an input of every notebook


@contextlib.contextmanager
def _worker_pool(jobs: int, log: Path):
    """A process pool for the notebooks. Its workers are started fresh (spawn: they inherit no open file,
    in particular not the lock) and die with the build; on an exception or Ctrl-C they are killed at once
    instead of being waited for (their kernels notice and exit within a second). What the workers and
    multiprocessing's resource tracker write on stderr (a Ctrl-C as a worker starts, before it ignores
    Ctrl-C, is a traceback) goes to `log`, not to the terminal."""
    with _stderr_to(log):
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_build,
            initargs=(os.getpid(),))
        try:
            yield pool
        except BaseException:
            for worker in multiprocessing.active_children():
                worker.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


@contextlib.contextmanager
def _stderr_to(log: Path):
    """File descriptor 2 of this process (and of the processes it starts) to `log` in the `with` block."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log, "a", encoding="utf-8") as f:
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def store_outputs(paths) -> None:
    """Execute each notebook in place under the default run (its own parameter defaults) and drop the run's
    timestamps from its metadata, so that nbval can check the stored outputs. Those defaults must be the
    settings model's (helpers.bookbuild.settings, which params/default.yaml also equals): a difference is
    an error, not a second definition of the default run."""
    for path in map(Path, paths):
        differ = config.default_run_differences(path)
        if differ:
            raise RuntimeError(f"{relative(path)}: its parameters cell differs from the settings model "
                               "(helpers.bookbuild.settings): " + "; ".join(differ))
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / path.name
            error = execute_notebook(str(path), str(out), {})
            if error:
                raise RuntimeError(f"{relative(path)}: {error}")
            book = json.loads(out.read_text(encoding="utf-8"))
        book["metadata"].pop("papermill", None)
        for cell in book["cells"]:
            cell.get("metadata", {}).pop("papermill", None)
            cell.get("metadata", {}).pop("execution", None)
        path.write_text(json.dumps(book, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{relative(path)}: executed and stored ({time.perf_counter() - start:.1f} s)", flush=True)


def helpers_hash() -> str:
    """The helper code every notebook imports: src/helpers/**/*.py."""
    return hash_files(*sorted(HELPERS_DIR.rglob("*.py")))


def run_notebooks(params: config.Params, notebooks: list[Path], staging: Path, jobs: int = JOBS,
                  force: bool = False) -> Path:
    """Execute the `notebooks` whose inputs changed (all of them with `force`) into staging/notebooks,
    each one's result CSVs into staging/outputs/<stem>/; reuse the others. Gathers every result CSV
    into staging/results and returns that folder. Raises RuntimeError naming every notebook that failed."""

    staging = Path(staging)
    for sub in STAGING_FOLDERS:
        if force:
            folders.remove(staging / sub, staging)
        folders.make(staging / sub, staging)
    unused = set(params.values) - {"criteria", "compare_with"}   # compare_with: the book's, no notebook's
    runs, keys, todo, data, helpers = {}, {}, {}, {}, helpers_hash()
    for nb in notebooks:
        runs[nb] = config.notebook_parameters(nb, params, relative(staging / "outputs" / nb.stem))
        unused -= set(runs[nb])
        if "output_dir" not in runs[nb]:
            print(f"note: {nb.name} has no output_dir parameter: it adds nothing to the scorecard", flush=True)
        data_dir = config.data_dir_for(params, runs[nb])
        if data_dir not in data:
            data[data_dir] = hash_files(resolve(data_dir), PUBLISHED_DIR)
        keys[nb] = {"notebook": hash_files(nb), "parameters": json.dumps(runs[nb], sort_keys=True, default=str),
                    "data": data[data_dir], "helpers": helpers}
        stored = read_key(staging / "notebooks" / f"{nb.stem}.key") or {}
        outputs = [staging / "notebooks" / nb.name, staging / "outputs" / nb.stem]
        changed = [name for name in keys[nb] if stored.get(name) != keys[nb][name]]
        if force:
            todo[nb] = "forced (--force)"
        elif not stored:
            todo[nb] = "not run before"
        elif changed:
            todo[nb] = ", ".join(changed) + " changed"
        elif not all(p.exists() for p in outputs):
            todo[nb] = "outputs missing"
    for key in sorted(unused):
        print(f"note: parameter {key!r} of {params.path} is defined by no notebook", flush=True)
    for nb in notebooks:
        if nb not in todo:
            print(f"  {nb.stem}: up to date", flush=True)
    failed = []
    if todo:
        print(f"running {len(todo)} of {len(notebooks)} notebook(s), {jobs} at a time, into {relative(staging)}/",
              flush=True)
        for nb in todo:  # a failed or interrupted run leaves no key: it runs again next time
            (staging / "notebooks" / f"{nb.stem}.key").unlink(missing_ok=True)
            folders.fresh(staging / "outputs" / nb.stem, staging)
        with _worker_pool(jobs, staging / "logs" / "workers.log") as pool:
            futures = {pool.submit(run_logged, str(nb), str(staging / "notebooks" / nb.name), runs[nb],
                                   str(staging / "logs" / f"{nb.stem}.log")): nb
                       for nb in todo}
            for i, future in enumerate(concurrent.futures.as_completed(futures), 1):
                nb = futures[future]
                seconds, error = future.result()
                skipped = error.startswith(NOT_APPLICABLE + ":")
                outcome = "does not apply, left out of the book" if skipped else "executed"
                print(f"  [{i}/{len(todo)}] {nb.stem}: {outcome} ({seconds:.1f} s; {todo[nb]})"
                      + (f": {error.split(': ', 1)[1]}" if skipped else f"  FAILED: {error}" if error else ""),
                      flush=True)
                if skipped:
                    keys[nb]["skipped"] = error.split(": ", 1)[1]
                    error = ""
                if error:
                    failed.append(f"{nb.name} (executed copy with the error: {staging / 'notebooks' / nb.name}; "
                                  f"stderr: {staging / 'logs' / (nb.stem + '.log')})")
                else:
                    (staging / "notebooks" / f"{nb.stem}.key").write_text(json.dumps(keys[nb], indent=1) + "\n",
                                                                         encoding="utf-8")
    if failed:
        raise RuntimeError("notebook(s) failed: " + "; ".join(failed))
    results = folders.fresh(staging / "results", staging)
    for nb in notebooks:
        for csv in sorted((staging / "outputs" / nb.stem).glob("*.csv")):
            shutil.copy2(csv, results / csv.name)
    return results


def skipped(staging: Path, notebooks: list[Path]) -> dict[Path, str]:
    """The notebooks that do not apply to this cohort, with the reason each gave."""
    out = {}
    for nb in notebooks:
        reason = (read_key(staging / "notebooks" / f"{nb.stem}.key") or {}).get("skipped")
        if reason:
            out[nb] = reason
    return out


RECONSTRUCTION_ONLY = "reconstruction-only"   # a notebook cell shown only in a book of the reconstructed cohort
# What a caption says of a figure of the reconstruction, and what the same figure draws for a real cohort (disclosure
# control: helpers.methods.disclosure, rules 6 and 7).
REAL_COHORT_CAPTIONS = {
    "+ marks a censored patient; curves stop where fewer than 10 remain at risk":
        "each step gathers several events on a 3-month grid, with no censoring marks (see Methods); curves stop "
        "where fewer than 10 remain at risk",
    "one thin line per patient, group means in bold": "group means only (no patient's own line)",
}


def publish_notebook(executed: Path, target: Path, reconstructed: bool = True) -> None:
    """Copy an executed notebook into the book without the cell papermill injects (it repeats the
    parameters with build paths; the chapter shows the parameters in force as a table). In a real cohort's book
    (`reconstructed` False) the cells tagged RECONSTRUCTION_ONLY (the sources' statements tested on the rows, the
    words about the reconstruction) and the parameters cell (the notebook's defaults, the reconstruction's data
    folder: what ran is in the chapter's table) are left out too. Under disclosure control (the min_cell the
    notebook ran with, as papermill recorded it, above 0), figure captions say what the figures draw then
    (REAL_COHORT_CAPTIONS)."""
    book = json.loads(executed.read_text(encoding="utf-8"))
    controlled = book.get("metadata", {}).get("papermill", {}).get("parameters", {}).get("min_cell", 0) > 0
    hidden = {"injected-parameters"} | (set() if reconstructed else {RECONSTRUCTION_ONLY, "parameters"})
    for cell in book["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if hidden & set(tags) and "remove-cell" not in tags:
            cell["metadata"]["tags"] = [*tags, "remove-cell"]
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        if controlled and "caption" in figure:
            for drawn, controlled in REAL_COHORT_CAPTIONS.items():
                figure["caption"] = figure["caption"].replace(drawn, controlled)
    target.write_text(json.dumps(book, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
