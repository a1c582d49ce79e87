"""The generated pieces of the book's pages (book/generated/): the scorecard, the criteria and
parameters in force, the data dictionary, the reconstruction, the cohort shown, and the variant
banner. Every string from the inputs (parameters, paths, study files' words, cohort labels) reaches the
pages through helpers.text.literal (code spans or escaped words), paths relative to the repository
or by their last name (paths.shown)."""
from __future__ import annotations

import json
import shutil
from dataclasses import fields
from pathlib import Path

import pandas as pd

from helpers import paths
from helpers.bookbuild import config, folders
from helpers.cohort import schema
from helpers.cohort.response import Criteria
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


def _criteria_md(params: config.Params) -> str:

    default, used = Criteria(), Criteria.from_params(params.values.get("criteria", {}))
    quotes = {}
    for study in paths.studies():
        for c in published.load(study).criteria:
            if c.source != "none":
                quotes.setdefault(c.parameter, (md_words(c.unit), md_words(f"{c.quote} ({c.source})")))
    rows = [{"parameter": f"`{f.name}`", "in this book": getattr(used, f.name), "default": getattr(default, f.name),
             "unit": quotes.get(f.name, ("", ""))[0],
             "published as": quotes.get(f.name, ("", "not published: a helpers.cohort.response default"))[1]}
            for f in fields(Criteria)]
    return _md_table(rows)


def _parameters_md(params: config.Params, default: config.Params) -> str:
    base = default.flat()
    rows = [{"parameter": md_code(k), "in this book": _inline(_published(k, v)),
             "default": _inline(_published(k, base.get(k, ""))),
             "meaning": config.GLOBALS.get(k.split(".")[0], "")}
            for k, v in params.flat().items()]
    return _md_table(rows) if rows else "All parameters at the notebooks' defaults.\n"


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
                    left_out: dict | None, generated: Path) -> dict:
    """Write the generated pieces (`generated`: the book's source folder's book/generated/*.md) and
    staging/scorecard.csv; returns the scorecard's total counts.
    On the reconstructed cohort every study file is scored; on a real cohort only the studies that
    `compare_with` names, each against the cohort's study it maps."""

    rows = results.read_all(results_dir)
    if config.all_reconstructed(params):
        studies = [published.load(s) for s in config.studies_present(params)]
    else:
        compare = params.values.get("compare_with", {})
        studies = [published.load(s) for s in sorted(set(compare.values()))]
        rows = rows[rows["study"].isin(compare)].assign(study=rows["study"].map(compare))
    card = scorecard.build(rows, studies, reconstructed=config.all_reconstructed(params))
    results.safe_for_spreadsheets(card).to_csv(staging / "scorecard.csv", index=False, lineterminator="\n")
    folders.fresh(generated, generated.parent)
    variant = "" if params.is_default else \
        f" This is the variant book **{md_words(params.name)}** ({md_code(shown(params.path))})."
    if studies:
        scored = (f"```{{note}}\n{variant.strip()} Published numbers are expected to differ where its parameters "
                  f"change them.\n```\n\n" if variant else "") \
            + scorecard.render(card, {p.study: f"{md_words(p.title)} ({md_code(p.study)})" for p in studies})
        summary = scorecard.summary_sentence(card) + variant + "\n\n" \
            + scorecard.markdown_table(scorecard.summary_display(card))
    else:
        scored = ("This book analyses a real cohort and compares it with no publication: set `compare_with` in its "
                  "params file (for example `compare_with: {my_cohort: study_a}`) to put its numbers beside a "
                  "study's published ones." + variant + "\n")
        summary = variant.strip() + "\n"
    texts = {
        "scorecard.md": scored,
        "scorecard_summary.md": summary,
        "cohort.md": _cohort_md(params, left_out or {}),
        "criteria.md": _criteria_md(params),
        "parameters.md": _parameters_md(params, default),
        "timepoints.md": _md_table([{"study": md_code(p.study), "timepoint": md_code(name), "nominal day": day}
                                    for p in studies for name, day in p.timepoints.items()]),
        "data_dictionary.md": _dictionary_md(),
        "study_file.md": reference.markdown(),
        "reconstruction.md": _reconstruction_md(),
    }
    for name, text in texts.items():
        (generated / name).write_text(text, encoding="utf-8")
    shutil.copytree(results_dir, folders.inside(generated / "results", generated))   # chapters' downloads
    return scorecard.summary(card).iloc[-1].to_dict()


def banner(params: config.Params, default: config.Params) -> str:
    """HTML of the variant banner: the parameters that differ from params/default.yaml."""

    base = default.flat() | {f"criteria.{f.name}": getattr(Criteria(), f.name) for f in fields(Criteria)
                             if f"criteria.{f.name}" not in default.flat()}
    changed = [f"{k} = {_published(k, v)!r} (default {_published(k, base[k])!r})" if k in base
               else f"{k} = {_published(k, v)!r}" for k, v in params.flat().items() if base.get(k, object()) != v]
    what = "; ".join(changed) or "no parameter differs from the default"
    return literal(f"Variant book '{params.name}' ({shown(params.path)}): {what}. Numbers differ from the default "
                   "book.", "html")


def _cohort_md(params: config.Params, left_out: dict) -> str:
    """What cohort the book shows, in words, and the chapters that do not apply to it."""
    floor = params.settings.min_cell_in_force()
    sizes = ", ".join(f"{', '.join(md_code(s) for s in pd.unique(patients['study']))} "
                      f"({disclosure.count_text(len(patients), floor)} patients)"
                      for patients in config.patients_by_folder(params).values())
    derived = ("The response is never stored in the data: the notebooks derive it from the laboratory values by "
               "the published criteria, every threshold a parameter ({doc}`/book/methods`).")
    if config.all_reconstructed(params):
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
                   + ", ".join(f"{md_code(s)} (for {md_code(c)})" for c, s in compare.items())
                   + "; every agreement there is an independent one, since nothing was built to match."
                   if compare else "It is compared with no publication (set `compare_with` to do so).")
                + " " + derived)
    if left_out:
        text += "\n\nChapters that do not apply to this cohort, and why:\n\n" + "\n".join(
            f"- *{_chapter_title(nb)}*: {md_words(reason)}." for nb, reason in left_out.items())
    return text + "\n"


def _chapter_title(notebook: Path) -> str:
    """The first '# ' heading of a notebook (its chapter title), else its file name."""
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for line in "".join(cell["source"]).splitlines() if cell["cell_type"] == "markdown" else []:
            if line.startswith("# "):
                return line[2:].strip()
    return notebook.stem
