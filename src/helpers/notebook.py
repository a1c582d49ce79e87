"""Set-up shared by the notebooks: quiet, deterministic output that nbval can compare."""
from __future__ import annotations

import html
import warnings
from pathlib import Path

import matplotlib
import pandas as pd

from . import data, published, results, tables
from .marks import LEGEND, Marker
from .paths import PUBLISHED_DIR, RECONSTRUCTED_DIR, REPO_ROOT


def setup() -> None:
    """Display options and warning filters, so stored outputs are stable between runs."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="tableone")
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 140)
    pd.set_option("display.max_colwidth", None)
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


def is_reconstructed(cohort: data.Cohort) -> bool:
    """Is this cohort the reconstruction shipped with the book (synthetic patients)?"""
    return cohort.path is not None and Path(cohort.path).resolve().is_relative_to(RECONSTRUCTED_DIR.resolve())


def marker(cohort: data.Cohort, study: str) -> Marker:
    """Provenance marks for a chapter: active on the reconstructed cohort of a published study."""
    reconstructed = is_reconstructed(cohort) and (PUBLISHED_DIR / f"{study}.yaml").exists()
    return Marker(published.load(study) if reconstructed else None, reconstructed)


class _Html:
    """Output that renders as HTML in the book and as plain text elsewhere (nbval, terminals)."""

    def __init__(self, html_text: str, plain: str):
        self.html_text, self.plain = html_text, plain

    def _repr_html_(self) -> str:
        return self.html_text

    def __repr__(self) -> str:
        return self.plain


def banner(cohort: data.Cohort) -> _Html | None:
    """On the reconstructed cohort: a note that the patients are synthetic and what the marks mean."""
    if not is_reconstructed(cohort):
        return None
    legend = "; ".join(LEGEND.values())
    text = ("These patients are synthetic: a reconstruction built from the published aggregates, not the "
            "studies' patients (see How the cohort was reconstructed). Marks beside numbers: " + legend + ".")
    return _Html(f'<div class="admonition note ln-banner"><p class="admonition-title">Reconstructed cohort</p>'
                 f'<p>{html.escape(text)}</p></div>', text)


def parameters_table(**values) -> tables.Table:
    """The parameters this chapter ran with, one per row (build paths left out)."""
    def shown(value):
        if isinstance(value, dict):
            return "; ".join(f"{k}: {shown(v)}" for k, v in value.items()) or "(none)"
        if isinstance(value, (list, tuple)):
            return ", ".join(map(str, value))
        return str(value)
    frame = pd.DataFrame({"Parameter": list(values), "Value": [shown(v) for v in values.values()]})
    return tables.Table(frame, ["Set by the book's params file, or by papermill's -p; see Methods."])


__all__ = ["setup", "load_cohort", "marker", "banner", "parameters_table", "REPO_ROOT"]


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
