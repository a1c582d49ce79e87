"""Set-up shared by the notebooks: quiet, deterministic output that nbval can compare."""
from __future__ import annotations

import warnings

import matplotlib
import pandas as pd

from . import data, results
from .paths import REPO_ROOT


def setup() -> None:
    """Display options and warning filters, so stored outputs are stable between runs."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="tableone")
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 140)
    matplotlib.rcParams.update({"figure.dpi": 80, "svg.hashsalt": "ln-book", "figure.figsize": (7.5, 4)})
    _show_figures_inline()


def _show_figures_inline() -> None:
    """helpers.figures builds figures without pyplot; tell the kernel to render them as PNG."""
    from IPython import get_ipython
    from IPython.core.pylabtools import print_figure
    from matplotlib.figure import Figure

    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, lambda fig: print_figure(fig, "png"))


def load_cohort(data_dir: str, study: str | None = None) -> data.Cohort:
    """The cohort in data_dir (or data_dir/study when that folder exists), validated."""
    folder = results.resolve(data_dir)
    if study and (folder / study).is_dir():
        folder = folder / study
    return data.load(folder)


__all__ = ["setup", "load_cohort", "REPO_ROOT"]


def store_outputs(paths, parameters: dict | None = None) -> None:
    """Execute each notebook in place with papermill (default parameters unless given) and drop
    the run's timestamps from its metadata, so the stored outputs are those of the default run."""
    import json
    import tempfile
    import time
    from pathlib import Path

    import papermill

    for path in map(Path, paths):
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / path.name
            papermill.execute_notebook(str(path), str(out), parameters=parameters or {}, kernel_name="python3",
                                       cwd=str(path.parent), progress_bar=False)
            book = json.loads(out.read_text(encoding="utf-8"))
        book["metadata"].pop("papermill", None)
        for cell in book["cells"]:
            cell.get("metadata", {}).pop("papermill", None)
            cell.get("metadata", {}).pop("execution", None)
        path.write_text(json.dumps(book, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{path}: executed and stored ({time.perf_counter() - start:.1f} s)", flush=True)
