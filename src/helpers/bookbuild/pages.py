"""The generated pieces of the book's pages (book/generated/): the scorecard, the criteria and
parameters in force, the data dictionary, the reconstruction, the cohort shown, and the variant
banner. Every string from the inputs (parameters, paths, study files' words, cohort labels) reaches the
pages through helpers.text.literal (code spans or escaped words), paths relative to the repository
or by their last name (paths.shown)."""
from __future__ import annotations

import json
import re
import shutil
from dataclasses import fields
from pathlib import Path

import pandas as pd

from helpers import labels, paths
from helpers.bookbuild import config, folders
from helpers.cohort import schema
from helpers.cohort.data import Cohort
from helpers.cohort.response import CRITERIA_UNITS, Criteria, followed_to
from helpers.compare import results, scorecard
from helpers.compare.scorecard import markdown_table
from helpers.methods import disclosure
from helpers.paths import shown
from helpers.publication import published, reference
from helpers.text import literal


def _md_table(rows: list[dict]) -> str:

    return markdown_table(pd.DataFrame(rows))


def md_code(text) -> str:
    """`text` as a MyST code span, shown literally: text.literal(text, "code")."""
    return literal(text, "code")


def md_words(text) -> str:
    """`text` as literal prose in MyST: text.literal(text)."""
    return literal(text)


def _published(key: str, value):
    """A parameter's value as the book may show it: a data folder relative to the repository, or by its name."""
    return shown(value) if key.rsplit(".", 1)[-1] == "data_dir" and value else value


def _inline(value) -> str:
    """A parameter value in a page: a number as it is, anything else literally as code (a dict or list as JSON)."""
    if isinstance(value, (int, float)) or value == "":
        return str(value)
    return md_code(json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value)


def _criterion(value) -> str:
    """A criterion's value in words: yes / no for a switch, 'not applied' for a limit set to None."""
    if value is None:
        return "not applied"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _criteria_md(params: config.Params) -> str:

    default, used = Criteria(), Criteria.from_params(params.values.get("criteria", {}))
    quotes = {}
    for study in paths.studies():
        for c in published.load(study).criteria:
            if c.source != "none":
                quotes.setdefault(c.parameter, (md_words(c.unit), md_words(f"{c.quote} ({c.source})")))
    rows = [{"parameter": f"`{f.name}`", "in this book": _criterion(getattr(used, f.name)),
             "default": _criterion(getattr(default, f.name)),
             "unit": quotes.get(f.name, ("", ""))[0] or CRITERIA_UNITS.get(f.name, ""),
             "published as": quotes.get(f.name, ("", "not published: a helpers.cohort.response default"))[1]}
            for f in fields(Criteria)]
    return _md_table(rows)


def _parameters_md(params: config.Params, default: config.Params) -> str:
    if not config.all_reconstructed(params):   # every parameter in force: the reconstruction's book is no reference
        values = params.settings.model_dump(exclude={"notebooks"}) | {"min_cell": params.settings.min_cell_in_force()}
        rows = [{"parameter": md_code(k), "in this book": _excluded(v) if k == "exclude" else _inline(_published(k, v)),
                 "meaning": config.GLOBALS.get(k, "")} for k, v in values.items() if v not in (None, {})]
        over = [{"parameter": md_code(f"{nb}.{k}"), "in this book": _inline(_published(k, v)), "meaning": ""}
                for nb, o in params.notebooks.items() for k, v in o.items()]
        return _md_table(rows + over)
    base = default.flat()
    rows = [{"parameter": md_code(k), "in this book": _inline(_published(k, v)) if k != "exclude" else _excluded(v),
             "default": _inline(_published(k, base.get(k, ""))),
             "meaning": config.GLOBALS.get(k.split(".")[0], "")}
            for k, v in params.flat().items()]
    return _md_table(rows) if rows else "All parameters at the notebooks' defaults.\n"


def _excluded(value: dict) -> str:
    """`exclude` as a book shows it: how many rows, never which (the list is in the build's log)."""
    rows = sum(len(lines) for lines in value.values())
    return f"{rows} row{'s' * (rows != 1)} (listed in the build's log, not in the book)"


def _dictionary_md() -> str:

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

    parts = []
    for study in paths.studies():
        pub = published.load(study)
        parts.append(f"### {md_words(pub.title)} ({md_code(study)})\n")
        parts.append("**Resolutions** of contradictions between or within the sources:\n")
        for r in pub.resolutions:
            ids = ", ".join(md_code(i) for i in r.sets_aside)
            aside = f" Published numbers set aside: {ids}." if r.sets_aside else ""
            parts.append(f"- {md_code(r.id)} (about {', '.join(md_code(i) for i in r.about)}): "
                         f"**{md_words(r.choice)}** {md_words(r.why)}{aside}")
        parts.append("\n**Assumptions** for what no source gives:\n")
        for a in pub.assumptions:
            text = f"- {md_code(a.id)}: {md_words(a.what)}"
            if a.rule:
                text += f" Rule: {md_words(a.rule)}"
            if a.value is not None:
                text += f" Value: {_inline(a.value)}."
            if a.by_construction:
                text += f" Holds by construction: {', '.join(md_code(i) for i in a.by_construction)}."
            parts.append(text)
        parts.append("")
    return "\n".join(parts)


def write_generated(params: config.Params, default: config.Params, results_dir: Path, staging: Path,
                    left_out: dict | None, generated: Path, excluded: int = 0) -> dict:
    """Write the generated pieces (`generated`: the book's source folder's book/generated/*.md) and
    staging/scorecard.csv; returns the scorecard's total counts (scorecard.summary) and, on a real cohort, the
    comparison's counts in words ('comparison': scorecard.comparison_line, as its page counts them).
    On the reconstructed cohort every study file is scored; on a real cohort only the studies that
    `compare_with` names, each against the cohort's study it maps, its rows in the published study's words
    (scorecard.as_published: names of arms, their order). `excluded`: rows the params file's `exclude` left out."""

    rows = results.read_all(results_dir)
    reconstructed = config.all_reconstructed(params)
    matched = {} if reconstructed else config.check_comparisons(params)[0]
    if reconstructed:
        studies = [published.load(s) for s in config.studies_present(params)]
    else:
        studies = [published.load(s) for s in sorted({m.study for m in matched.values()})]
        rows = scorecard.as_published(rows, {m.ours: (m.study, m.arms) for m in matched.values()})
    card = scorecard.build(rows, studies, reconstructed=reconstructed)
    results.safe_for_spreadsheets(card).to_csv(staging / "scorecard.csv", index=False, lineterminator="\n")
    folders.fresh(generated, generated.parent)
    variant = "" if params.is_default or not reconstructed else \
        f" This is the variant book **{md_words(params.name)}** ({md_code(shown(params.path))})."
    titles = {p.study: f"{md_words(p.title)} ({md_code(p.study)})" for p in studies}
    if reconstructed:
        scored = (f"```{{note}}\n{variant.strip()} Published numbers are expected to differ where its parameters "
                  f"change them.\n```\n\n" if variant else "") + scorecard.render(card, titles)
        summary = scorecard.summary_sentence(card) + variant + "\n\n" \
            + scorecard.markdown_table(scorecard.summary_display(card))
    else:   # the comparison page of a real cohort (in its book only when compare_with names a study)
        scored = scorecard.render_comparison(card, titles, {m.study: md_words(m.ours) for m in matched.values()}) \
            if studies else "This cohort is compared with no publication.\n"
        summary = ""
    texts = {
        "scorecard.md": scored,
        "scorecard_summary.md": summary,
        "cohort.md": _cohort_md(params, left_out or {}) if reconstructed else
        _real_cohort_md(params, left_out or {}, matched, excluded),
        "title.md": _title_md(params),
        "criteria.md": _criteria_md(params),
        "parameters.md": _parameters_md(params, default),
        "timepoints.md": _md_table([{"study": md_code(p.study), "timepoint": md_code(name), "nominal day": day}
                                    for p in studies for name, day in p.timepoints.items()]) if reconstructed
        else _real_timepoints_md(params),
        "data_dictionary.md": _dictionary_md(),
        "study_file.md": reference.markdown(),
        "format.md": _format_md(params),
        "reconstruction.md": _reconstruction_md(),
    }
    for name, text in texts.items():
        (generated / name).write_text(text, encoding="utf-8")
    shutil.copytree(results_dir, folders.inside(generated / "results", generated))   # chapters' downloads
    return scorecard.summary(card).iloc[-1].to_dict() | ({} if reconstructed else
                                                        {"comparison": scorecard.comparison_line(card)})


def banner(params: config.Params, default: config.Params) -> str:
    """HTML of the variant banner: the parameters that differ from params/default.yaml."""

    base = default.flat() | {f"criteria.{f.name}": getattr(Criteria(), f.name) for f in fields(Criteria)
                             if f"criteria.{f.name}" not in default.flat()}
    shown_value = {k: _excluded(v) if k == "exclude" else _published(k, v) for k, v in params.flat().items()}
    changed = [f"{k} = {shown_value[k]!r} (default {_published(k, base[k])!r})" if k in base
               else f"{k} = {shown_value[k]!r}" for k, v in params.flat().items() if base.get(k, object()) != v]
    what = "; ".join(changed) or "no parameter differs from the default"
    return literal(f"Variant book '{params.name}' ({shown(params.path)}): {what}. Numbers differ from the default "
                   "book.", "html")


def _cohort_md(params: config.Params, left_out: dict) -> str:
    """What the reconstruction book shows, in words, and the chapters that do not apply to its cohort."""
    floor = params.settings.min_cell_in_force()
    sizes = ", ".join(f"{', '.join(md_code(s) for s in pd.unique(patients['study']))} "
                      f"({disclosure.count_text(len(patients), floor)} patients)"
                      for patients in config.patients_by_folder(params).values())
    text = ("The studies' patient-level data are not public. The book runs on a **reconstructed cohort**: "
            "synthetic patients built deterministically from the published aggregates, in the same patient-level "
            f"format ({{doc}}`/book/data_dictionary`) a real cohort would use ({sizes}). Every chapter says so at "
            "its top and marks each number: reproduced, differs, infeasible, or not published (derived or "
            "assumed). The response is never stored in the data: the notebooks derive it from the laboratory "
            "values by the published criteria, every threshold a parameter ({doc}`/book/methods`). Every published "
            "number sits in `data/published/*.yaml` with the sentence it is quoted from; the {doc}`/book/scorecard` "
            "puts each one beside the number the notebooks computed.\n\n"
            "A reconstructed cohort shows that the analysis is *consistent with* the published aggregates. It "
            "does not show that the studies' conclusions hold: see {doc}`/book/reconstruction` for how the "
            "cohort was built and what that can and cannot show.")
    if left_out:
        text += "\n\nChapters that do not apply to this cohort, and why:\n\n" + "\n".join(
            f"- *{_chapter_title(nb)}*: {scorecard.marked(reason)}." for nb, reason in left_out.items())
    return text + "\n"


def _real_studies(params: config.Params) -> dict[str, pd.DataFrame]:
    """The patients of each study of a real cohort's data folders, by study (patients only: cheap)."""
    out = {}
    for patients in config.patients_by_folder(params).values():
        for study, rows in patients.groupby("study", sort=False):
            out[study] = pd.concat([out[study], rows]) if study in out else rows
    return out


def _size(patients: pd.DataFrame, min_cell: int) -> tuple[str, list[str]]:
    """The number of patients, and '40 in the arm Tac' for each arm, each hidden as disclosure control hides the
    groups of Table 1 (the total with the arms, so that none can be had by subtraction)."""
    arm = patients["arm"]
    if min_cell > 0:   # the name of an arm of fewer patients is not published (disclosure.fold_rare's rule)
        rare = set(arm.value_counts()[lambda c: c < min_cell].index)
        patients = patients.assign(arm=arm.where(~arm.isin(rare), disclosure.OTHER))
    arms = list(pd.unique(patients["arm"]))
    counts = {arm: int((patients["arm"] == arm).sum()) for arm in arms} | {"all": len(patients)}
    dark = disclosure.dark_groups(patients, "arm", min_cell)
    size = {g: disclosure.HIDDEN if g in dark else str(n) for g, n in counts.items()}
    return size["all"], [f"{size[arm]} in the arm {md_words(labels.arm(arm))}" for arm in arms]


def _names(params: config.Params) -> str:
    return labels.listed(_real_studies(params))


PLAIN_NAME = re.compile(r"[\w .,()/'+-]+")   # a study label that may stand in the book's title as it is


def _title(params: config.Params) -> str:
    """A real cohort's title, as plain text: its own name and size. The title reaches places that insert it as
    markup (Sphinx's html_title, the theme's link to the first page, which takes the heading's text unescaped),
    so a label with any other character is named in the introduction's text instead, not in the title."""
    total = sum(len(p) for p in _real_studies(params).values())
    size, _ = _size(pd.DataFrame({"arm": ["all"] * total}), params.settings.min_cell_in_force())
    names = _names(params)
    if PLAIN_NAME.fullmatch(names) and names.isprintable():
        return f"Lupus nephritis in {names}: {size} patients"
    return f"Lupus nephritis in a cohort of {size} patients"


def _title_md(params: config.Params) -> str:
    """The first page's heading. The book's title (a real cohort's own name and size: book_title) heads the
    sidebar, and the theme lists the first page under its heading just below it: the heading is not the
    title again."""
    return "# Introduction\n"


def book_title(params: config.Params) -> str:
    """The book's title (_config.yml) for a real cohort; HTML-escaped as well, though plain by construction."""
    return literal(_title(params), to="html")


def _study_timepoints(study: str, params: config.Params) -> dict[str, int]:
    """A real cohort's timepoints: the params file's, else its study file's when it has one."""
    given = params.values.get("timepoints")
    if given:
        return dict(given)
    return dict(published.load(study).timepoints) if study in paths.studies() else {}


def _reached(study: str, patients: pd.DataFrame, params: config.Params) -> tuple[list[str], list[str]]:
    """The timepoints (in words) some patient of `study` was followed to, and those none was."""
    points = _study_timepoints(study, params)
    reached = followed_to(Cohort(patients, pd.DataFrame(), pd.DataFrame()), points, params.settings.window)
    return ([labels.timepoint(n, d) for n, d in points.items() if n in reached],
            [labels.timepoint(n, d) for n, d in points.items() if n not in reached])


def _real_timepoints_md(params: config.Params) -> str:
    """This book's timepoints per study: nominal day, whether some patient was followed to it."""
    rows, missed = [], []
    for study, patients in _real_studies(params).items():
        points = _study_timepoints(study, params)
        _, none = _reached(study, patients, params)
        rows += [{"study": md_code(study), "timepoint": md_code(name), "nominal day": day,
                  "in words": labels.timepoint(name, day)}
                 for name, day in points.items() if labels.timepoint(name, day) not in none]
        missed += [f"No patient of {md_code(study)} was followed to {labels.listed(none, 'or')}."] if none else []
    if not rows and not missed:
        return "No timepoints: set `timepoints` in the params file, e.g. `timepoints: {6m: 182, 1y: 365}`.\n"
    return (_md_table(rows) if rows else "") + ("\n" + " ".join(missed) + "\n" if missed else "")


def _format_md(params: config.Params) -> str:
    """The data dictionary's word on the cohort this book shows."""
    if config.all_reconstructed(params):
        return ("The reconstructed cohort in `data/reconstructed/<study>/` is in this format; a real cohort in the "
                "same format can be analysed by pointing `data_dir` in a params file at its folder (real cohorts "
                "stay outside the repository).\n")
    return (f"This book's cohort, {md_words(_names(params))}, is in this format; its files are only read, never "
            "written.\n")


def _real_cohort_md(params: config.Params, left_out: dict, matched: dict, excluded: int) -> str:
    """What a real cohort's book shows, in words: the cohort (its studies, arms and sizes, the timepoints it
    reaches), what it is compared with, the rows left out, and the chapters that do not apply."""
    min_cell = params.settings.min_cell_in_force()
    parts = []
    for study, patients in _real_studies(params).items():
        size, arms = _size(patients, min_cell)
        points, none = _reached(study, patients, params)
        text = f"**{md_words(study)}**: {size} patients, " + labels.listed(arms) + "."
        if points:
            text += f" Renal response is read at {labels.listed(points)}."
        if none:
            text += f" No patient was followed to {labels.listed(none, 'or')}."
        parts.append(text)
    text = ("This book describes a real cohort of patients with lupus nephritis, from its patient-level rows:\n\n"
            + "\n".join(f"- {p}" for p in parts) + "\n\n"
            "Every table and figure is computed from the rows when the book is built. The response is never stored "
            "in the data: it is derived from the laboratory values by the criteria in {doc}`/book/methods`, every "
            "threshold a parameter. ")
    if min_cell:
        text += (f"Nothing about fewer than {min_cell} patients is shown: such a number, and any number it could be "
                 f"worked out from, reads \"suppressed\" ({disclosure.ZERO_SHOWN}). ")
    if excluded:
        text += (f"{excluded} row{'s' * (excluded != 1)} of the data with an impossible timeline (dated after the "
                 f"patient's death or last follow-up) {'was' if excluded == 1 else 'were'} left out, as the params "
                 "file's `exclude` asks; the build's log lists them. ")
    if matched:
        text += ("\n\nIts numbers are put beside published ones in {doc}`/book/scorecard`: "
                 + "; ".join(f"{md_words(m.ours)} beside {md_words(published.load(m.study).title)} ("
                             + ", ".join(f"the arm {md_words(labels.arm(a))} as {md_words(labels.arm(p).lower())}"
                                         for a, p in m.arms.items()) + ")" for m in matched.values())
                 + ". Nothing was built to match them, so each agreement is an independent one, and a difference "
                   "can be a difference between the cohorts.")
    else:
        text += "It is compared with no publication (a params file can name one with `compare_with`)."
    text += f"\n\nBuilt with the params file {md_code(shown(params.path))}; Methods lists its parameters."
    if left_out:
        text += "\n\nChapters that do not apply to this cohort, and why:\n\n" + "\n".join(
            f"- *{_chapter_title(nb)}*: {scorecard.marked(reason)}." for nb, reason in left_out.items())
    return text + "\n"


def _chapter_title(notebook: Path) -> str:
    """The first '# ' heading of a notebook (its chapter title), else its file name."""
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for line in "".join(cell["source"]).splitlines() if cell["cell_type"] == "markdown" else []:
            if line.startswith("# "):
                return line[2:].strip()
    return notebook.stem
