"""Set-up shared by the notebooks: quiet, deterministic output that nbval can compare."""
from __future__ import annotations

import html
import warnings

import matplotlib
import pandas as pd
from IPython.display import display

from helpers import labels, paths
from helpers.cohort import data, response
from helpers.compare import claims, provenance, results
from helpers.compare.marks import LEGEND, Marker
from helpers.methods import disclosure
from helpers.paths import PUBLISHED_DIR, REPO_ROOT, in_reconstruction, shown
from helpers.present import tables
from helpers.publication import published
from helpers.text import literal


def setup() -> None:
    """Display options and warning filters, so stored outputs are stable between runs."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="tableone")
    warnings.formatwarning = _warning_without_path
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 140)
    pd.set_option("display.max_colwidth", None)
    matplotlib.rcParams.update(FIGURE_STYLE)
    _show_figures_inline()
    tables.new_chapter()


# Figures are SVG, shown at their own size (book/static/ln.css: a narrow screen scrolls a figure inside its
# box, never shrinks it), so a point of text is 4/3 px: 12 pt text is 16 px, the body text's size, at any width.
# Text stays text (svg.fonttype 'none': sharp, searchable, and measurable by the browser test); a fixed
# hash salt and no date keep the bytes the same on every run.
FIGURE_STYLE = {"figure.dpi": 80, "svg.hashsalt": "ln-book", "svg.fonttype": "none", "figure.figsize": (7.5, 4),
                "font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12, "xtick.labelsize": 12,
                "ytick.labelsize": 12, "legend.fontsize": 12, "legend.title_fontsize": 12,
                "font.family": "DejaVu Sans"}
SVG_METADATA = {"Date": None}


def _warning_without_path(message, category, filename, lineno, line=None) -> str:
    """A warning as the book may print it: its kind and message, never the local path of the code."""
    return f"{category.__name__}: {message}\n"


def _show_figures_inline() -> None:
    """helpers.present.figures builds figures without pyplot; tell the kernel to render them as SVG (only)."""
    from IPython import get_ipython
    from IPython.core.pylabtools import print_figure
    from matplotlib.figure import Figure

    shell = get_ipython()
    if shell is not None:
        formatters = shell.display_formatter.formatters
        formatters["image/png"].pop(Figure, None)
        formatters["image/svg+xml"].for_type(
            Figure, lambda fig: print_figure(fig, "svg", bbox_inches="tight", metadata=SVG_METADATA))


class NotApplicable(Exception):
    """This chapter does not apply to the cohort in data_dir; the book pipeline leaves it out and says so."""


def cohorts(data_dir: str, min_cell: int = 0, exclude: dict | None = None) -> dict[str, data.Cohort]:
    """Every cohort in data_dir (the folder itself, or its sub-folders), by the study its patients
    belong to; with min_cell > 0, free-text values of fewer patients folded into 'other'; without the rows
    with an impossible timeline that `exclude` (the params file's) lists."""
    found = {}
    excluded = data.excluded_rows(results.resolve(data_dir), exclude)
    for folder in data.cohort_folders(results.resolve(data_dir)):
        cohort = disclosure.fold_rare(data.load(folder, exclude=excluded.get(folder)), min_cell)
        names = list(pd.unique(cohort.patients["study"]))
        found[names[0] if len(names) == 1 else folder.name] = cohort
    return found


NEEDS = {"arms": "arms to compare", "groups": "groups by response before the switch",
         "any": "patients"}
COLUMNS = {"arms": " (column arm)", "groups": " (column prior_response)"}   # named to the analyst, not in the chapter


def applies(needs: str, pub=None, cohort: data.Cohort | None = None) -> bool:
    """Does a chapter that `needs` arms (02, 03) or groups (04) show this study? Arms: two or more, or one arm
    without groups before baseline (shown as all patients: chapter 04 shows a study with groups); groups:
    groups before baseline, or one arm. Decided by the study file when there is one, else by the cohort;
    helpers.chapters.check asks the same, so `reconstruct --check` computes what the book shows."""
    if needs == "any":
        return True
    if pub is not None:
        arms, grouped = len(pub.arms), bool(pub.subgroups)
    else:
        arms = cohort.patients["arm"].nunique()
        grouped = bool(cohort.patients["prior_response"].notna().any())
    if needs == "arms":
        return arms >= 2 or (arms == 1 and not grouped)
    return grouped or arms == 1


def _fits(study: str, cohort: data.Cohort, needs: str) -> bool:
    pub = study_file(study)
    if needs == "arms" and pub is None:   # a real cohort: any arm
        return bool(cohort.patients["arm"].notna().any())
    return applies(needs, pub, cohort)


class Chosen(dict):
    """The studies of a chapter, each with its cohort, and the studies of data_dir it leaves out (why)."""

    def __init__(self, chosen: dict, left_out: dict[str, str]):
        super().__init__(chosen)
        self.left_out = left_out

    def note(self) -> _Html | None:
        """One sentence per study this chapter does not apply to, or None."""
        if not self.left_out:
            return None
        return say(" ".join(f"This chapter does not apply to {title(s)}: it has no {why}." for s, why in
                            self.left_out.items()))


def data_folder(data_dir: str) -> str:
    """'the data folder `cohort`': a folder named as what it is, whatever its name (a page sets the backticked
    name as code: scorecard.marked); a name holding a backtick is left bare."""
    name = shown(data_dir)
    return f"the data folder {name}" if "`" in name else f"the data folder `{name}`"


def select(data_dir: str, study: str | None = None, needs: str = "any", min_cell: int = 0,
           exclude: dict | None = None) -> Chosen:
    """The studies of the chapter with their cohorts: `study` alone when named, else every study in
    data_dir with what the chapter `needs`; NotApplicable, in words, when there is none (the chapter
    then says so); min_cell and exclude as in `cohorts`."""
    found = cohorts(data_dir, min_cell, exclude)
    if study is not None and study not in found:
        raise NotApplicable(f"{study} is not in {data_folder(data_dir)} (it holds {', '.join(found) or 'nothing'})")
    candidates = [study] if study is not None else list(found)
    fitting = {s: found[s] for s in candidates if _fits(s, found[s], needs)}
    if not fitting:
        why = NEEDS[needs] + COLUMNS.get(needs, "")
        raise NotApplicable(f"no study in {data_folder(data_dir)} has {why}" if study is None
                            else f"{study} has no {why}")
    return Chosen(fitting, {s: NEEDS[needs] for s in candidates if s not in fitting})


def study_file(study: str):
    """The published study file of `study`, or None (a real cohort without targets)."""
    return published.load(study) if (PUBLISHED_DIR / f"{study}.yaml").exists() else None


def title(study: str) -> str:
    """The study's title from its study file, else its name."""
    pub = study_file(study)
    return pub.title if pub else study


def audit_studies(studies: list[str] | None) -> list[str]:
    """The published studies a chapter audits: every study file by default; none (NotApplicable)
    when the book compares its cohort with no publication."""
    if studies is None:
        return paths.studies()
    if not studies:
        raise NotApplicable("this book's cohort is compared with no published study (set compare_with)")
    return list(studies)


def timepoints_for(study: str, timepoints: dict | None = None) -> dict[str, int]:
    """The chapter's nominal timepoints: the parameter when given, else the study file's."""
    if timepoints:
        return {str(k): int(v) for k, v in timepoints.items()}
    pub = study_file(study)
    if pub is None:
        raise NotApplicable(f"{study} has no study file: set the timepoints parameter, e.g. {{'6m': 182, '1y': 365}}")
    return dict(pub.timepoints)


def criteria_for(study: str, criteria: dict | None = None):
    """The response criteria of a chapter: the study file's own definition (its preset and thresholds) with the
    params file's `criteria` over it; a real cohort: the defaults with them (helpers.cohort.response.Criteria)."""
    from helpers.cohort.response import Criteria
    pub = study_file(study)
    return published.criteria(pub, criteria) if pub is not None else Criteria.from_params(criteria)
def followed_to(cohort: data.Cohort, timepoints: dict[str, int], window: int = 45) -> dict[str, int]:
    """The chapter's timepoints that some patient was followed to (helpers.cohort.response.followed_to); the
    others are named once, by `design` or `not_followed`, instead of tables of 0/0."""
    return response.followed_to(cohort, timepoints, window)


def not_followed(cohort: data.Cohort, timepoints: dict[str, int], window: int = 45) -> str:
    """'No patient was followed to 5 years.' for the timepoints no patient reached; '' when every one was."""
    reached = response.followed_to(cohort, timepoints, window)
    missed = [labels.timepoint(name, day) for name, day in timepoints.items() if name not in reached]
    return f"No patient was followed to {labels.listed(missed, 'or')}." if missed else ""


def design(study: str, cohort: data.Cohort, arms: list[str], timepoints: dict[str, int], window: int = 45,
           min_cell: int = 0) -> _Html:
    """What a comparison of arms rests on, in one paragraph: the study's patients and each arm's size (hidden by
    disclosure control as Table 1 hides them), the timepoints read, and those no patient was followed to."""
    counts = {arm: int((cohort.patients["arm"] == arm).sum()) for arm in arms} | {"all": len(cohort.patients)}
    dark = disclosure.hidden_groups(counts, min_cell)
    size = {group: disclosure.HIDDEN if group in dark else f"{n}" for group, n in counts.items()}
    reached = response.followed_to(cohort, timepoints, window)
    points = [labels.timepoint(name, day) for name, day in reached.items()]
    text = (f"{title(study)}: {size['all']} patients, "
            + labels.listed([f"{size[arm]} in the arm {labels.arm(arm)}" for arm in arms]) + "; "
            + (f"response read at {labels.listed(points)} (the visit closest to each, within {window} days)." if points
               else "no timepoint to read response at."))
    missed = not_followed(cohort, timepoints, window)
    return say(f"{text} {missed}" if missed else text)


def show(*parts) -> None:
    """Display the parts that are not None: no empty or 'None' output when a chapter has nothing to say."""
    shown = [part for part in parts if part is not None and part != ""]
    if shown:
        display(*shown)


def arms_for(study: str, cohort: data.Cohort) -> list[str]:
    """The arms of the cohort, in the study file's order when there is one, else in the order the patients
    file first names them (never the alphabet's)."""
    present = list(pd.unique(cohort.patients["arm"]))
    pub = study_file(study)
    order = pub.arms if pub else present
    return [a for a in order if a in present] + [a for a in present if a not in order]


def groups_for(study: str, cohort: data.Cohort) -> list[str]:
    """The groups before the switch (prior_response), in the study file's order when there is one."""
    present = [g for g in pd.unique(cohort.patients["prior_response"]) if g == g and g is not None]
    pub = study_file(study)
    order = pub.subgroups if pub else sorted(present)
    return [g for g in order if g in present] + [g for g in present if g not in order]


def heading(text: str) -> _Html:
    """A sub-heading inside a chapter's output (one per study of the cohort)."""
    return _Html(f'<p class="ln-study-heading"><strong>{literal(text, "html")}</strong></p>', text)


def per_study(frames: dict[str, pd.DataFrame], none: str) -> list:
    """For each study, a heading and its table, or one sentence when the study has no such rows."""
    parts = []
    for study, frame in frames.items():
        parts.append(heading(title(study)))
        parts.append(tables.Table(frame) if len(frame) else _Html(f"<p>{literal(none, 'html')}</p>", none))
    return parts


def is_reconstructed(cohort: data.Cohort) -> bool:
    """Is this cohort the reconstruction shipped with the book (synthetic patients)?"""
    return cohort.path is not None and in_reconstruction(cohort.path)


def marker(cohort: data.Cohort, study: str) -> Marker:
    """Provenance marks for a chapter: active on the reconstructed cohort of a published study."""
    pub = study_file(study) if is_reconstructed(cohort) else None
    return Marker(pub, pub is not None)


def statements(cohort: data.Cohort, study: str, parts, window: int = 45, criteria=None) -> tuple[list, object]:
    """The sources' statements in words that this chapter tests (helpers.compare.claims, `parts` of PARTS), on
    the reconstructed cohort of a published study: (result rows, the table to show, or None)."""
    pub = marker(cohort, study).pub
    if pub is None:
        return [], None
    rows = claims.rows(pub, cohort, criteria, window, parts)
    return rows, claims.view(pub, rows, provenance.claim_roles(pub), parts)


class _Html:
    """Output that renders as HTML in the book and as plain text elsewhere (nbval, terminals)."""

    def __init__(self, html_text: str, plain: str):
        self.html_text, self.plain = html_text, plain

    def _repr_html_(self) -> str:
        return self.html_text

    def __repr__(self) -> str:
        return self.plain


def say(text: str) -> _Html:
    """A sentence computed by the helpers, shown as a paragraph (not as a quoted string)."""
    return _Html(f"<p>{literal(text, 'html')}</p>", text)


def banner(cohort: data.Cohort | dict) -> _Html | None:
    """On the reconstructed cohort: a note that the patients are synthetic and what the marks mean
    (given a cohort, or the chapter's cohorts by study: the book's cohorts are all of one kind)."""
    if isinstance(cohort, dict):
        cohort = next(iter(cohort.values()))
    if not is_reconstructed(cohort):
        return None
    legend = "; ".join(LEGEND.values())
    text = ("These patients are synthetic: a reconstruction built from the published aggregates, not the "
            "studies' patients (see How the cohort was reconstructed). Marks beside numbers: " + legend + ".")
    return _Html(f'<div class="admonition note ln-banner"><p class="admonition-title">Reconstructed cohort</p>'
                 f'<p>{literal(text, "html")}</p></div>', text)


def code(chapter: str) -> _Html:
    """The chapter's own code, collapsed (a <details> block a reader opens): every code cell of
    notebooks/<chapter>.ipynb but the parameters and this one, in order, as the notebook holds it."""
    import json
    cells = json.loads((REPO_ROOT / "notebooks" / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"
               and "parameters" not in c.get("metadata", {}).get("tags", [])
               and "notebook.code(" not in "".join(c["source"])]
    text = f"# notebooks/{chapter}.ipynb, its code cells in order\n\n" + "\n\n".join(sources)
    return _Html(f'<details class="ln-code"><summary>The code of this chapter</summary>'
                 f'<pre><code>{html.escape(text)}</code></pre></details>', f"notebooks/{chapter}.ipynb: "
                 f"{len(sources)} code cells")


def parameters_table(**values) -> tables.Table:
    """The parameters this chapter ran with, one per row (build paths left out; data_dir as the book
    may publish it: relative to the repository, or its folder name when outside it)."""
    def text(value):
        if isinstance(value, dict):
            return "; ".join(f"{k}: {text(v)}" for k, v in value.items()) or "(none)"
        if isinstance(value, (list, tuple)):
            return ", ".join(map(str, value))
        return str(value)
    if "data_dir" in values:
        values["data_dir"] = shown(values["data_dir"])
    frame = pd.DataFrame({"Parameter": list(values), "Value": [text(v) for v in values.values()]})
    return tables.Table(frame, ["Set by the book's params file, or by papermill's -p; see Methods."], code=True)


__all__ = ["setup", "cohorts", "select", "Chosen", "timepoints_for", "followed_to", "not_followed", "design", "show",
           "data_folder", "arms_for", "groups_for", "criteria_for", "applies", "heading", "per_study", "say",
           "NotApplicable", "title", "audit_studies", "marker", "banner", "parameters_table", "statements",
           "code", "REPO_ROOT"]
