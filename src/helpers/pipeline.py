"""Build the book under one params file: `python -m helpers.pipeline --params params/default.yaml`.

1. read the params file (unknown names are an error naming the file and key);
2. run every notebooks/NN_*.ipynb with papermill, three at a time, into a staging
   folder (_build/staging/<name>/: executed notebooks in notebooks/, each one's result
   CSVs in outputs/<stem>/, all of them gathered in results/), passing each notebook
   only the parameters its `parameters` cell defines;
3. write the generated pieces of the pages (book/generated/: scorecard, criteria,
   data dictionary, ...) and copy the executed notebooks to book/executed/;
4. run `jupyter-book build` (execution off, -W -n --keep-going) into a temporary
   folder and, only if it succeeds, swap it into _build/html (params/default.yaml)
   or _build/variants/<name>/html (any other params file, with a banner on every
   page listing its non-default parameters). The swap is one atomic step: the html
   folder is a symlink to a version folder beside it (.html.<id>), replaced by os.replace.

Faults: one run at a time (an flock on _build/.pipeline.lock, which records the run's PID;
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
- jupyter-book runs only when something it reads (book/, _config.yml, _toc.yml, the
  banner) changed or the book is missing (key: staging/book.key);
- when nothing the last successful build read has changed (staging/build.key), the
  run stops at once, before importing the analysis stack.
Not covered: the installed packages (a new pandas does not re-execute anything).
`--force` rebuilds everything.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import ctypes
import fcntl
import functools
import hashlib
import html
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from .paths import PUBLISHED_DIR, REPO_ROOT, in_reconstruction, shown

DEFAULT_PARAMS = REPO_ROOT / "params" / "default.yaml"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
BUILD_DIR = REPO_ROOT / "_build"
EXECUTED_DIR = REPO_ROOT / "book" / "executed"    # git-ignored; _toc.yml globs it
GENERATED_DIR = REPO_ROOT / "book" / "generated"  # git-ignored; included by the pages
KERNEL = "python3"
# Notebooks run at a time. A notebook spends about a third of its time waiting on its kernel (start-up,
# shutdown): on 2 cores three at a time build the book about 4 s faster (of 20) than two at a time.
JOBS = 3
HELPERS_DIR = Path(__file__).resolve().parent     # its *.py are an input of every notebook
DEFAULT_DATA_DIR = "data/reconstructed"           # the notebooks' own default data_dir

# Global parameters a params file may set; each goes to every notebook whose parameters cell defines it.
GLOBALS = {
    "data_dir": "cohort folder (one subfolder per study), relative to the repository root or absolute",
    "window": "visit window, days either side of a nominal timepoint",
    "criteria": "overrides of the response criteria (helpers.response.Criteria fields)",
    "missing": "missing-data rule: complete_case (as published) or nonresponder",
    "test": "test for proportions: pearson, yates, fisher or auto",
    "min_cell": "disclosure control: nothing about fewer patients is shown (helpers.disclosure; 0: off)",
    "alpha": "significance level",
    "timepoints": "nominal timepoints {name: day since baseline}, for a cohort without a study file",
    "compare_with": "{study in the data: published study} to compare a real cohort with (default: none)",
}
NOT_APPLICABLE = "NotApplicable"   # the exception a chapter raises when it does not apply to the cohort
RESERVED = {"output_dir"}  # set by the pipeline, never by a params file
PR_SET_PDEATHSIG = 1       # linux/prctl.h: the signal a process gets when its parent dies
# libc's prctl, looked up once here: a child between fork and exec (jupyter-book's preexec_fn) only calls it
PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


class ParamsError(ValueError):
    pass


@dataclass(frozen=True)
class Params:
    path: Path
    values: dict                                    # global parameters
    notebooks: dict = field(default_factory=dict)   # {notebook stem: {parameter: value}}

    @property
    def is_default(self) -> bool:
        return self.path.resolve() == DEFAULT_PARAMS.resolve()

    @property
    def name(self) -> str:
        return "default" if self.is_default else self.path.stem

    def flat(self) -> dict:
        """Every setting as {'name' or 'criteria.x' or 'notebook.name': value}, for comparisons."""
        out = {k: v for k, v in self.values.items() if k != "criteria"}
        out |= {f"criteria.{k}": v for k, v in self.values.get("criteria", {}).items()}
        out |= {f"{nb}.{k}": v for nb, over in self.notebooks.items() for k, v in over.items()}
        return out


def load_params(path: str | Path) -> Params:
    """Read and check a params file; a ParamsError names the file and the offending key."""
    from .response import MISSING_RULES, Criteria
    from .stats import PROPORTION_TESTS

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ParamsError(f"{path}: cannot be read: {err}") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter names to values")
    notebooks = raw.pop("notebooks", None) or {}
    for key in raw:
        if key not in GLOBALS:
            raise ParamsError(f"{path}: unknown parameter {key!r} (known: {', '.join(GLOBALS)}, notebooks)")
    criteria = raw.get("criteria") or {}
    if not isinstance(criteria, dict):
        raise ParamsError(f"{path}: criteria: expected a mapping of criterion names to numbers")
    known = [f.name for f in fields(Criteria)]
    for key, value in criteria.items():
        if key not in known:
            raise ParamsError(f"{path}: unknown parameter 'criteria.{key}' (known: {', '.join(known)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamsError(f"{path}: criteria.{key}: expected a number, not {value!r}")
    if "criteria" in raw:
        raw["criteria"] = criteria
    choices = {"missing": MISSING_RULES, "test": (*PROPORTION_TESTS, "auto")}
    for key, allowed in choices.items():
        if key in raw and raw[key] not in allowed:
            raise ParamsError(f"{path}: {key}: {raw[key]!r} is not one of {', '.join(allowed)}")
    if "timepoints" in raw and raw["timepoints"] is not None and not (
            isinstance(raw["timepoints"], dict) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                        for v in raw["timepoints"].values())):
        raise ParamsError(f"{path}: timepoints: expected {{name: day since baseline}}, e.g. {{6m: 182, 1y: 365}}")
    if "compare_with" in raw:
        from . import published
        compare = raw["compare_with"] or {}
        if not isinstance(compare, dict):
            raise ParamsError(f"{path}: compare_with: expected {{study in the data: published study}}")
        for study, target in compare.items():
            if target not in published.studies():
                raise ParamsError(f"{path}: compare_with.{study}: no study file data/published/{target}.yaml "
                                  f"(known: {', '.join(published.studies())})")
        raw["compare_with"] = compare
    for key in ("window", "min_cell"):
        if key in raw and (isinstance(raw[key], bool) or not isinstance(raw[key], int) or raw[key] < 0):
            raise ParamsError(f"{path}: {key}: expected a whole number >= 0, not {raw[key]!r}")
    if not isinstance(notebooks, dict) or not all(isinstance(v, dict) for v in notebooks.values()):
        raise ParamsError(f"{path}: notebooks: expected {{notebook name: {{parameter: value}}}}")
    for nb, over in notebooks.items():
        for key in over:
            if key in RESERVED:
                raise ParamsError(f"{path}: notebooks.{nb}.{key}: set by the pipeline, not by a params file")
    return Params(path=path, values=raw, notebooks=notebooks)


def notebook_parameters(notebook: Path, params: Params, output_dir: str) -> dict:
    """The parameters passed to one notebook: those of `params` its parameters cell defines
    (criteria as the dict `criteria` and/or as single names), its own overrides, and output_dir."""
    import papermill

    declared = papermill.inspect_notebook(str(notebook))
    candidates = dict(params.values) | dict(params.values.get("criteria", {}))
    chosen = {k: v for k, v in candidates.items() if k in declared}
    overrides = params.notebooks.get(notebook.stem, {})
    for key in overrides:
        if key not in declared:
            raise ParamsError(f"{params.path}: notebooks.{notebook.stem}.{key}: not a parameter of {notebook} "
                              f"(its parameters: {', '.join(declared)})")
    if "studies" in declared:   # the audit: the studies of the reconstruction, or those a real cohort is compared with
        chosen["studies"] = _studies_present(params) if _reconstructed_all(params) else \
            sorted(set(params.values.get("compare_with", {}).values()))
    return chosen | overrides | ({"output_dir": output_dir} if "output_dir" in declared else {})


def _relative(path: Path) -> str:
    """A path relative to the repository root when inside it (stable text in the executed notebooks);
    symlinks are not followed (_build/html is one)."""
    path = Path(os.path.abspath(path))
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)


def _die_with_build(build: int) -> None:
    """Run first in every child of the build (pool worker, jupyter-book): the child is killed as soon as
    the build's process `build` dies, even by SIGKILL (Linux PR_SET_PDEATHSIG), so no orphan keeps
    working or holds a file; Ctrl-C is left to the build, which stops its children itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if PRCTL is not None:
        PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != build:  # the build died before the line above
        os._exit(1)


@contextlib.contextmanager
def _worker_pool(jobs: int, log: Path):
    """A process pool for the notebooks. Its workers are started fresh (spawn: they inherit no open file,
    in particular not the lock) and die with the build; on an exception or Ctrl-C they are killed at once
    instead of being waited for (their kernels notice and exit within a second). What the workers and
    multiprocessing's resource tracker write on stderr (a Ctrl-C as a worker starts, before it ignores
    Ctrl-C, is a traceback) goes to `log`, not to the terminal."""
    with _stderr_to(log):
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_build,
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


def _execute(notebook: str, output: str, parameters: dict, log: str) -> tuple[float, str]:
    """Run one notebook (in a worker process, its kernel's stderr to `log`); returns (seconds, error or '')."""
    import papermill

    with open(log, "w") as f:  # the kernel inherits file descriptor 2
        os.dup2(f.fileno(), 2)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(notebook, output, parameters=parameters, kernel_name=KERNEL,
                                   cwd=str(Path(notebook).parent), progress_bar=False, log_output=False)
        error = ""
    except Exception as err:  # noqa: BLE001 - reported, and the build stops (unless the chapter does not apply)
        if getattr(err, "ename", "") == NOT_APPLICABLE:
            error = f"{NOT_APPLICABLE}: {getattr(err, 'evalue', '')}"
        else:
            error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
    return time.perf_counter() - start, error


def find_notebooks(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def hash_files(*paths: Path) -> str:
    """sha256 over the names and bytes of `paths` (files, or folders: every file under them)."""
    digest = hashlib.sha256()
    for path in map(Path, paths):
        digest.update(f"{_relative(path)}\0".encode())
        for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            with file.open("rb") as f:
                digest.update(f"{_relative(file)}\0".encode() + hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()


def helpers_hash() -> str:
    """The helper code every notebook imports: src/helpers/**/*.py."""
    return hash_files(*sorted(HELPERS_DIR.rglob("*.py")))


def _read_key(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_notebooks(params: Params, notebooks: list[Path], staging: Path, jobs: int = JOBS,
                  force: bool = False) -> Path:
    """Execute the `notebooks` whose inputs changed (all of them with `force`) into staging/notebooks,
    each one's result CSVs into staging/outputs/<stem>/; reuse the others. Gathers every result CSV
    into staging/results and returns that folder. Raises RuntimeError naming every notebook that failed."""
    from .results import resolve

    staging = Path(staging)
    if force:
        shutil.rmtree(staging, ignore_errors=True)
    for sub in ("notebooks", "outputs", "logs"):
        (staging / sub).mkdir(parents=True, exist_ok=True)
    unused = set(params.values) - {"criteria"}
    runs, keys, todo, data, helpers = {}, {}, {}, {}, helpers_hash()
    for nb in notebooks:
        runs[nb] = notebook_parameters(nb, params, _relative(staging / "outputs" / nb.stem))
        unused -= set(runs[nb])
        if "output_dir" not in runs[nb]:
            print(f"note: {nb.name} has no output_dir parameter: it adds nothing to the scorecard", flush=True)
        data_dir = _data_dir(params, runs[nb])
        if data_dir not in data:
            data[data_dir] = hash_files(resolve(data_dir), PUBLISHED_DIR)
        keys[nb] = {"notebook": hash_files(nb), "parameters": json.dumps(runs[nb], sort_keys=True, default=str),
                    "data": data[data_dir], "helpers": helpers}
        stored = _read_key(staging / "notebooks" / f"{nb.stem}.key") or {}
        outputs = [staging / "notebooks" / nb.name, staging / "outputs" / nb.stem]
        changed = [name for name in keys[nb] if stored.get(name) != keys[nb][name]]
        if not stored:
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
        print(f"running {len(todo)} of {len(notebooks)} notebook(s), {jobs} at a time, into {_relative(staging)}/",
              flush=True)
        for nb in todo:  # a failed or interrupted run leaves no key: it runs again next time
            (staging / "notebooks" / f"{nb.stem}.key").unlink(missing_ok=True)
            shutil.rmtree(staging / "outputs" / nb.stem, ignore_errors=True)
            (staging / "outputs" / nb.stem).mkdir()
        with _worker_pool(jobs, staging / "logs" / "workers.log") as pool:
            futures = {pool.submit(_execute, str(nb), str(staging / "notebooks" / nb.name), runs[nb],
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
    results = staging / "results"
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir()
    for nb in notebooks:
        for csv in sorted((staging / "outputs" / nb.stem).glob("*.csv")):
            shutil.copy2(csv, results / csv.name)
    return results


def skipped(staging: Path, notebooks: list[Path]) -> dict[Path, str]:
    """The notebooks that do not apply to this cohort, with the reason each gave."""
    out = {}
    for nb in notebooks:
        reason = (_read_key(staging / "notebooks" / f"{nb.stem}.key") or {}).get("skipped")
        if reason:
            out[nb] = reason
    return out


def publish_notebook(executed: Path, target: Path) -> None:
    """Copy an executed notebook into the book without the cell papermill injects (it repeats the
    parameters with build paths; the chapter shows the parameters in force as a table)."""
    book = json.loads(executed.read_text(encoding="utf-8"))
    for cell in book["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell["metadata"]["tags"] = [*tags, "remove-cell"]
    target.write_text(json.dumps(book, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# --- generated pieces of the pages -------------------------------------------------

def _md_table(rows: list[dict]) -> str:
    import pandas as pd

    from .scorecard import markdown_table
    return markdown_table(pd.DataFrame(rows))


def _code(text) -> str:
    """`text` as a MyST code span: shown literally (no markup, no HTML), whatever characters it holds."""
    text = str(text).replace("\n", " ")
    fence = "`" * (1 + max(map(len, re.findall("`+", text)), default=0))
    return f"{fence} {text} {fence}"  # CommonMark strips one space from each side: a backtick at an end is safe


def _words(text) -> str:
    """`text` as literal prose in MyST: every ASCII punctuation character backslash-escaped (no markup, no HTML)."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(text).replace("\n", " "))


def _published(key: str, value):
    """A parameter's value as the book may show it: a data folder relative to the repository, or by its name."""
    return shown(value) if key.rsplit(".", 1)[-1] == "data_dir" and value else value


def _inline(value) -> str:
    """A parameter value in a page: a number as it is, anything else literally as code (a dict or list as JSON)."""
    if isinstance(value, (int, float)) or value == "":
        return str(value)
    return _code(json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value)


def _criteria_md(params: Params) -> str:
    from . import published
    from .response import Criteria

    default, used = Criteria(), Criteria.from_params(params.values.get("criteria", {}))
    quotes = {}
    for study in published.studies():
        for c in published.load(study).criteria:
            if c.source != "none":
                quotes.setdefault(c.parameter, (c.unit, f"{c.quote} ({c.source})"))
    rows = [{"parameter": f"`{f.name}`", "in this book": getattr(used, f.name), "default": getattr(default, f.name),
             "unit": quotes.get(f.name, ("", ""))[0],
             "published as": quotes.get(f.name, ("", "not published: a helpers.response default"))[1]}
            for f in fields(Criteria)]
    return _md_table(rows)


def _parameters_md(params: Params, default: Params) -> str:
    base = default.flat()
    rows = [{"parameter": _code(k), "in this book": _inline(_published(k, v)),
             "default": _inline(_published(k, base.get(k, ""))),
             "meaning": GLOBALS.get(k.split(".")[0], "")}
            for k, v in params.flat().items()]
    return _md_table(rows) if rows else "All parameters at the notebooks' defaults.\n"


def _dictionary_md() -> str:
    from . import schema

    parts = ["Each table may be a CSV file (UTF-8), an Excel workbook (`.xlsx`, first sheet) or a Parquet file, "
             "named `patients`, `labs` and `events`. Columns not listed here are kept out of the analysis and "
             "reported as notes.\n",
             "**Dates instead of days.** Give `baseline_date` (YYYY-MM-DD) in `patients`, and then "
             + ", ".join(f"`{date}` instead of `{day}` in `{file}`" for file, columns in schema.DATE_COLUMNS.items()
                         for day, (date, _) in columns.items())
             + ": each date becomes the number of days since the patient's baseline date.\n"]
    for filename, columns in schema.FILES.items():
        key = schema.KEYS[filename]
        parts.append(f"## `{filename}`\n")
        parts.append(f"Unique key: {', '.join(f'`{k}`' for k in key)}.\n" if key else "No unique key.\n")
        rows = []
        for f in columns:
            allowed = ", ".join(f"`{a}`" for a in f.allowed) if f.allowed else ""
            if f.min is not None:
                allowed = f"{f.min:g} to {f.max:g}" if f.max is not None else f">= {f.min:g}"
            rows.append({"column": f"`{f.name}`", "type": {"str": "text", "int": "whole number",
                                                          "float": "number"}[f.kind],
                         "unit": f.unit, "required": "yes" if f.required else "no (may be empty)",
                         "allowed values": allowed, "description": f.description})
        parts.append(_md_table(rows))
    return "\n".join(parts)


def _reconstruction_md() -> str:
    from . import published

    parts = []
    for study in published.studies():
        pub = published.load(study)
        parts.append(f"### {pub.title} (`{study}`)\n")
        parts.append("**Resolutions** of contradictions between or within the sources:\n")
        for r in pub.resolutions:
            ids = ", ".join(f"`{i}`" for i in r.sets_aside)
            aside = f" Published numbers set aside: {ids}." if r.sets_aside else ""
            parts.append(f"- `{r.id}` (about {', '.join(f'`{i}`' for i in r.about)}): **{r.choice}** {r.why}{aside}")
        parts.append("\n**Assumptions** for what no source gives:\n")
        for a in pub.assumptions:
            text = f"- `{a.id}`: {a.what}"
            if a.rule:
                text += f" Rule: {a.rule}"
            if a.value is not None:
                text += f" Value: {_inline(a.value)}."
            if a.by_construction:
                text += f" Holds by construction: {', '.join(f'`{i}`' for i in a.by_construction)}."
            parts.append(text)
        parts.append("")
    return "\n".join(parts)


def write_generated(params: Params, default: Params, results_dir: Path, staging: Path,
                    left_out: dict | None = None) -> dict:
    """Write book/generated/*.md and staging/scorecard.csv; returns the scorecard's total counts.
    On the reconstructed cohort every study file is scored; on a real cohort only the studies that
    `compare_with` names, each against the cohort's study it maps."""
    from . import published, results, scorecard

    rows = results.read_all(results_dir)
    if _reconstructed_all(params):
        studies = [published.load(s) for s in _studies_present(params)]
    else:
        compare = params.values.get("compare_with", {})
        studies = [published.load(s) for s in sorted(set(compare.values()))]
        rows = rows[rows["study"].isin(compare)].assign(study=rows["study"].map(compare))
    card = scorecard.build(rows, studies, reconstructed=_reconstructed_all(params))
    card.to_csv(staging / "scorecard.csv", index=False, lineterminator="\n")
    shutil.rmtree(GENERATED_DIR, ignore_errors=True)
    GENERATED_DIR.mkdir(parents=True)
    variant = "" if params.is_default else \
        f" This is the variant book **{_words(params.name)}** ({_code(shown(params.path))})."
    if studies:
        scored = (f"```{{note}}\n{variant.strip()} Published numbers are expected to differ where its parameters "
                  f"change them.\n```\n\n" if variant else "") \
            + scorecard.render(card, {p.study: f"{p.title} (`{p.study}`)" for p in studies})
        summary = scorecard.summary_sentence(card) + variant + "\n\n" \
            + scorecard.markdown_table(scorecard.summary_display(card))
    else:
        scored = ("This book analyses a real cohort and compares it with no publication: set `compare_with` in its "
                  "params file (for example `compare_with: {my_cohort: study_a}`) to put its numbers beside a "
                  "study's published ones." + variant + "\n")
        summary = variant.strip() + "\n"
    pages = {
        "scorecard.md": scored,
        "scorecard_summary.md": summary,
        "cohort.md": _cohort_md(params, left_out or {}),
        "criteria.md": _criteria_md(params),
        "parameters.md": _parameters_md(params, default),
        "timepoints.md": _md_table([{"study": f"`{p.study}`", "timepoint": f"`{name}`", "nominal day": day}
                                    for p in studies for name, day in p.timepoints.items()]),
        "data_dictionary.md": _dictionary_md(),
        "reconstruction.md": _reconstruction_md(),
    }
    for name, text in pages.items():
        (GENERATED_DIR / name).write_text(text, encoding="utf-8")
    shutil.copytree(results_dir, GENERATED_DIR / "results")   # the chapters' download links
    return scorecard.summary(card).iloc[-1].to_dict()


def banner(params: Params, default: Params) -> str:
    """HTML of the variant banner: the parameters that differ from params/default.yaml."""
    from .response import Criteria

    base = default.flat() | {f"criteria.{f.name}": getattr(Criteria(), f.name) for f in fields(Criteria)
                             if f"criteria.{f.name}" not in default.flat()}
    changed = [f"{k} = {_published(k, v)!r} (default {_published(k, base[k])!r})" if k in base
               else f"{k} = {_published(k, v)!r}" for k, v in params.flat().items() if base.get(k, object()) != v]
    what = "; ".join(changed) or "no parameter differs from the default"
    return html.escape(f"Variant book '{params.name}' ({shown(params.path)}): {what}. "
                       "Numbers differ from the default book.")


# --- jupyter-book ------------------------------------------------------------------

def book_target(params: Params) -> Path:
    return BUILD_DIR / "html" if params.is_default else BUILD_DIR / "variants" / params.name / "html"


def book_key(params: Params, default: Params) -> str:
    """A hash of everything jupyter-book reads: book/ (pages, executed notebooks, generated pieces,
    references.bib), _config.yml, _toc.yml and the variant banner."""
    files = hash_files(REPO_ROOT / "book", REPO_ROOT / "_config.yml", REPO_ROOT / "_toc.yml")
    return hashlib.sha256(f"{files}\0{'' if params.is_default else banner(params, default)}".encode()).hexdigest()


def build_book(params: Params, default: Params, staging: Path) -> Path:
    """jupyter-book build into a temporary folder; on success swap it into place. Returns the html folder."""
    target = book_target(params)
    tmp = BUILD_DIR / f".building-{params.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(REPO_ROOT),
               "--path-output", str(tmp), "-W", "-n", "--keep-going"]
    if not params.is_default:
        config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))
        theme = config["sphinx"]["config"]["html_theme_options"]
        theme["announcement"] = banner(params, default)
        if not all(_reconstructed(d) for d in _data_dirs(params)):   # a real cohort: no word of a reconstruction
            theme["extra_footer"] = ""
        (staging / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        command += ["--config", str(staging / "_config.yml")]
    log = staging / "jupyter-book.log"
    print(f"building the book (log: {_relative(log)}) ...", flush=True)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(command, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, text=True,
                              preexec_fn=functools.partial(_die_with_build, os.getpid()))
    built = tmp / "_build" / "html"
    if done.returncode != 0 or not (built / "index.html").exists():
        shutil.rmtree(tmp, ignore_errors=True)
        lines = log.read_text(encoding="utf-8").splitlines()
        problems = [x for x in lines if "WARNING" in x or "ERROR" in x] or lines[-20:]
        raise RuntimeError("jupyter-book build failed; the book in place was not touched:\n  "
                           + "\n  ".join(problems[:40]) + f"\nfull log: {log}")
    swap_in(built, target)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"built in {time.perf_counter() - start:.1f} s: {_relative(target)}/index.html", flush=True)
    return target


def swap_in(built: Path, target: Path) -> None:
    """Put the book in `built` in place as `target` in one step: `target` is a symlink to a version folder
    beside it (.html.<id>), replaced by a new symlink with os.replace (an atomic rename), so at every instant
    `target` is the complete previous book or the complete new one. Then the other versions are removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    version = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}")
    built.rename(version)
    link = target.with_name(f".{target.name}.link")
    link.unlink(missing_ok=True)
    link.symlink_to(version.name)
    if target.is_dir() and not target.is_symlink():  # a book built before versions: moved aside (once, not atomic)
        target.rename(target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}"))
    os.replace(link, target)
    for old in target.parent.glob(f".{target.name}.*"):
        if old != version:
            shutil.rmtree(old, ignore_errors=True)


def run(params_path: str | Path, notebooks_dir: Path = NOTEBOOKS_DIR, jobs: int = JOBS, book: bool = True,
        force: bool = False) -> None:
    """The whole pipeline (see the module docstring)."""
    notebooks = find_notebooks(notebooks_dir)
    if not notebooks:
        raise RuntimeError(f"no notebooks NN_*.ipynb in {notebooks_dir}")
    if not force and _nothing_changed(Path(params_path), notebooks, book):
        return
    params, default = load_params(params_path), load_params(DEFAULT_PARAMS)
    for name in sorted(set(params.notebooks) - {nb.stem for nb in notebooks}):
        raise ParamsError(f"{params.path}: notebooks.{name}: no notebook {name}.ipynb in {notebooks_dir}")
    _validate_data(params)
    BUILD_DIR.mkdir(exist_ok=True)
    with pipeline_lock(BUILD_DIR / ".pipeline.lock"):  # book/executed and book/generated are shared
        staging = BUILD_DIR / "staging" / params.name
        (staging / "build.key").unlink(missing_ok=True)
        start = time.perf_counter()
        results_dir = run_notebooks(params, notebooks, staging, jobs, force=force)
        totals = write_generated(params, default, results_dir, staging, skipped(staging, notebooks))
        if not totals["published"]:
            print("scorecard: none (the cohort is compared with no publication; see compare_with)", flush=True)
        else:
            print(f"scorecard: targets {totals['targets reproduced']} of {totals['targets']} reproduced, independent "
                  f"checks {totals['checks reproduced']} of {totals['checks']}, {totals['infeasible']} infeasible, "
                  f"{totals['resolutions']} resolutions, {totals['not computed']} not computed, of "
                  f"{totals['published']} published numbers ({_relative(staging / 'scorecard.csv')})", flush=True)
        shutil.rmtree(EXECUTED_DIR, ignore_errors=True)
        EXECUTED_DIR.mkdir(parents=True)
        left_out = skipped(staging, notebooks)
        for nb in notebooks:
            if nb not in left_out:
                publish_notebook(staging / "notebooks" / nb.name, EXECUTED_DIR / nb.name)
        if book:
            key, stored, target = book_key(params, default), staging / "book.key", book_target(params)
            if not force and stored.exists() and stored.read_text() == key and (target / "index.html").exists():
                print(f"book: up to date ({_relative(target)}/index.html)", flush=True)
            else:
                stored.unlink(missing_ok=True)
                build_book(params, default, staging)
                stored.write_text(key)
        data_dirs = _data_dirs(params)
        (staging / "build.key").write_text(json.dumps({"data_dirs": sorted(data_dirs),
                                                       "key": _build_key(params.path, notebooks, data_dirs, book)}))
        print(f"done in {time.perf_counter() - start:.1f} s", flush=True)


@contextlib.contextmanager
def pipeline_lock(path: Path):
    """One pipeline at a time: hold an flock on `path`, which records the holder's PID while it runs.
    The kernel releases an flock when its holder dies, even by SIGKILL; a lock file left with a dead PID is
    taken over with a note; a live holder refuses the run, naming its PID. Taking the lock is serialised
    by a brief flock on the lock's folder, so no two runs can both take over the same stale lock."""
    with _folder_locked(path.parent):
        owner = _lock_owner(path)
        lock = path.open("a+", encoding="utf-8")
        if not _flocked(lock):
            lock.close()
            if owner is None or _alive(owner):
                raise RuntimeError(f"another pipeline run is in progress (PID {owner or 'unknown'}; lock: "
                                   f"{_relative(path)})")
            path.unlink()   # held by what the dead run left behind: a fresh lock file replaces it
            lock = path.open("a+", encoding="utf-8")
            if not _flocked(lock):
                lock.close()
                raise RuntimeError(f"cannot lock {_relative(path)}")
        if owner is not None:
            print(f"note: taking over the lock of an earlier run that did not finish (PID {owner}, gone)", flush=True)
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
    try:
        yield
    finally:
        lock.truncate(0)
        lock.close()


@contextlib.contextmanager
def _folder_locked(folder: Path):
    """An exclusive flock on a folder, held for the `with` block (blocking)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _flocked(file) -> bool:
    """Take an exclusive flock on an open file without waiting; False when another holds it."""
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_owner(path: Path) -> int | None:
    """The PID a lock file records, or None when it records none (a finished run empties it)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _alive(pid: int) -> bool:
    """Is process `pid` running? A zombie (killed, not yet reaped by its parent) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _build_key(params_path: Path, notebooks: list[Path], data_dirs, book: bool) -> str:
    """A hash of everything a whole build reads: the params files, the notebooks, the data, the helper
    code, and book/ as the last build left it (executed notebooks, generated pages), _config.yml, _toc.yml."""
    from .results import resolve
    return hash_files(params_path, DEFAULT_PARAMS, *notebooks, *map(resolve, data_dirs), PUBLISHED_DIR,
                      *sorted(HELPERS_DIR.rglob("*.py")), REPO_ROOT / "book", REPO_ROOT / "_config.yml",
                      REPO_ROOT / "_toc.yml") + f" book={book}"


def _nothing_changed(params_path: Path, notebooks: list[Path], book: bool) -> bool:
    """The quick no-op check, before anything heavy is imported: True (and says so) when nothing the last
    successful build under this params file read has changed and its outputs are in place."""
    unread = Params(params_path, {})  # for its name and book target only
    staging, target = BUILD_DIR / "staging" / unread.name, book_target(unread)
    stored = _read_key(staging / "build.key")
    outputs = [staging / "scorecard.csv", *(staging / "notebooks" / nb.name for nb in notebooks)]
    if not stored or not all(p.exists() for p in outputs) or book and not (target / "index.html").exists():
        return False
    if stored["key"] != _build_key(params_path, notebooks, stored["data_dirs"], book):
        return False
    for nb in notebooks:
        print(f"  {nb.stem}: up to date", flush=True)
    print(f"book: up to date ({_relative(target)}/index.html)" if book else "generated pages: up to date", flush=True)
    return True


def _data_dir(params: Params, overrides: dict) -> str:
    """The data folder a notebook reads: its own override, else the global one, else the default."""
    return str(overrides.get("data_dir") or params.values.get("data_dir") or DEFAULT_DATA_DIR)


def _patients_by_folder(params: Params) -> dict:
    """{cohort folder: its patients table} for every data folder of this build (patients only: cheap)."""
    from .data import cohort_folders, read_patients
    from .results import resolve
    return {f: read_patients(f) for d in sorted(_data_dirs(params)) for f in cohort_folders(resolve(d))}


def _studies_present(params: Params) -> list[str]:
    """The studies with a study file whose patients are in this build's data folders."""
    from . import published
    found = {s for patients in _patients_by_folder(params).values() for s in patients["study"]}
    return [s for s in published.studies() if s in found]


def _reconstructed_all(params: Params) -> bool:
    """Does every data folder of this build hold the reconstructed cohort?"""
    return all(_reconstructed(d) for d in _data_dirs(params))


def _cohort_md(params: Params, left_out: dict) -> str:
    """What cohort the book shows, in words, and the chapters that do not apply to it."""
    import pandas as pd
    sizes = ", ".join(f"{', '.join(_code(s) for s in pd.unique(patients['study']))} ({len(patients)} patients)"
                      for patients in _patients_by_folder(params).values())
    derived = ("The response is never stored in the data: the notebooks derive it from the laboratory values by "
               "the published criteria, every threshold a parameter ({doc}`/book/methods`).")
    if _reconstructed_all(params):
        text = ("The studies' patient-level data are not public. The book runs on a **reconstructed cohort**: "
                "synthetic patients built deterministically from the published aggregates, in the same patient-level "
                f"format ({{doc}}`/book/data_dictionary`) a real cohort would use ({sizes}). Every chapter says so at "
                "its top and marks each number: reproduced, differs, infeasible, or not published (derived or "
                f"assumed). {derived} Every published number sits in `data/published/*.yaml` with the sentence it is "
                "quoted from; the {doc}`/book/scorecard` puts each one beside the number the notebooks computed.\n\n"
                "A reconstructed cohort shows that the analysis is *consistent with* the published aggregates. It "
                "does not show that the studies' conclusions hold: see {doc}`/book/reconstruction` for how the "
                "cohort was built and what that can and cannot show.")
    else:
        compare = params.values.get("compare_with", {})
        text = (f"The book runs on a **real cohort** ({sizes}). It is not the reconstruction: no chapter carries the "
                "reconstruction's banner or marks a number against a publication. "
                + ("The scorecard puts its numbers beside the published ones of "
                   + ", ".join(f"{_code(s)} (for {_code(c)})" for c, s in compare.items())
                   + "; every agreement there is an independent one, since nothing was built to match."
                   if compare else "It is compared with no publication (set `compare_with` to do so).")
                + " " + derived)
    if left_out:
        text += "\n\nChapters that do not apply to this cohort, and why:\n\n" + "\n".join(
            f"- *{_chapter_title(nb)}*: {_words(reason)}." for nb, reason in left_out.items())
    return text + "\n"


def _chapter_title(notebook: Path) -> str:
    """The first '# ' heading of a notebook (its chapter title), else its file name."""
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for line in "".join(cell["source"]).splitlines() if cell["cell_type"] == "markdown" else []:
            if line.startswith("# "):
                return line[2:].strip()
    return notebook.stem


def _reconstructed(data_dir: str) -> bool:
    """Is this data folder the reconstructed cohort shipped with the book?"""
    from .results import resolve
    return in_reconstruction(resolve(data_dir))


def _data_dirs(params: Params) -> set[str]:
    """Every data folder a build under `params` reads."""
    return {_data_dir(params, overrides) for overrides in [{}, *params.notebooks.values()]}


def _validate_data(params: Params) -> None:
    """Check the cohort(s) before any notebook runs: a malformed file stops the build with
    every problem named (file, line, column, what was expected)."""
    from .data import DataError, validate_tree
    from .results import resolve
    for data_dir in sorted(_data_dirs(params)):
        try:
            folders = validate_tree(resolve(data_dir))
        except DataError as err:
            raise RuntimeError(f"the cohort in {data_dir} is not valid ({len(err.problems)} problem(s)):\n{err}") \
                from None
        print(f"data: {', '.join(_relative(f) for f in folders)} valid", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.pipeline",
        description="Run every notebook under one params file (papermill), write the reproduction scorecard, "
                    "and build the book (jupyter-book, execution off, warnings are errors). params/default.yaml "
                    "builds _build/html; any other params file builds _build/variants/<file name>/html with a "
                    "banner listing its non-default parameters. A failed build leaves the previous book in place.")
    parser.add_argument("--params", default=DEFAULT_PARAMS, type=Path,
                        help="params file (default: params/default.yaml)")
    parser.add_argument("--notebooks", default=NOTEBOOKS_DIR, type=Path,
                        help="folder of NN_*.ipynb notebooks (default: notebooks/)")
    parser.add_argument("--jobs", type=int, default=JOBS, help="notebooks run at a time (default: %(default)s)")
    parser.add_argument("--no-book", action="store_true",
                        help="run the notebooks and write the generated pages only; do not build the book")
    parser.add_argument("--force", action="store_true",
                        help="re-execute every notebook and rebuild the book even when their inputs are unchanged")
    args = parser.parse_args(argv)
    try:
        run(args.params, args.notebooks, args.jobs, book=not args.no_book, force=args.force)
    except (ParamsError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {_os_error(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the build stopped; the book in place is whole (the previous one, or the new one "
              "if it was already swapped in)", file=sys.stderr)
        return 130
    return 0


def _os_error(err: OSError) -> str:
    """One line for a file that cannot be read or written (permissions, a full or read-only disk)."""
    where = f"{_relative(Path(err.filename))}: " if err.filename else ""
    return (f"{where}{err.strerror or err} (check that the data and params can be read, and that _build/ "
            "and book/ can be written)")


if __name__ == "__main__":
    sys.exit(main())
