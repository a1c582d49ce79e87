"""The study file's reference, generated from its schema: every field of data/published/<study>.yaml (from the
pydantic models' field docstrings, helpers.publication.published), every measure and unit (measures.MEASURES),
statistic, response criterion and preset (helpers.cohort.response), every assumption the builder reads, and
an example that loads. `markdown()` is the generated piece of the book's page book/study_file.md."""
from __future__ import annotations

import re
import types
import typing
from dataclasses import fields

from pydantic import BaseModel

from helpers.cohort.response import PRESETS, Criteria
from helpers.publication import measures, published

# The assumptions the builder reads, by id: the shape of their `value`, and when a study file needs one.
ASSUMPTIONS = {
    "subgroup_sizes": ("{baseline: {group: patients}, <timepoint>: {group: patients}}; with several arms, {arm: "
                       "{group: patients}} in place of each {group: patients}", "a study with subgroups"),
    "responders_by_subgroup": ("{<timepoint>: {group: {CR: n, PR: n, NR: n}}} (several arms: {<timepoint>: {arm: "
                               "{group: ...}}}; a study with one timepoint may leave out its name)",
                               "a study with subgroups"),
    "response_split": ("{cr_share_of_responders: fraction} and/or {pr_share_of_not_cr: fraction}, the same in every "
                       "arm", "where the sources publish CR without PR (or the overall response without CR) and no "
                       "timepoint publishes the split"),
    "female_fraction": ("a fraction of women, e.g. 0.9, the same in every arm",
                        "unless women are published (count or percent) for all patients or each arm"),
    "age": ("{mean, sd, min, max} in years (min and max alone when the mean and SD are published)",
            "unless the mean and SD of all patients are published"),
    "isn_class": ("{class: patients} for all patients (dealt to the arms alike) or {arm: {class: patients}}",
                  "unless the published shares of each class add up to every patient"),
    "induction": ("{regimen: patients}, or {arm: {regimen: patients}}",
                  "unless the published shares of each regimen add up to every patient"),
    "maintenance": ("{regimen: patients}, or {arm: {regimen: patients}} ('+' joins drugs)",
                    "unless the published shares of each regimen add up to every patient"),
    "active_sediment": ("{yes: patients, no: patients}", "where numbers speak of it, unless their shares add up"),
    "active_serology": ("{yes: patients, no: patients}", "where numbers speak of it, unless their shares add up"),
    "disease_duration": ("{mean, sd, min, max} in months",
                         "where numbers speak of it, unless the mean and SD of all patients are published"),
    "weight": ("{mean, sd, min, max} in kg", "where a creatinine clearance (Cockcroft-Gault) is published"),
    "baseline_labs": ("{upcr_g_g: {median, log_sd, min, max}, egfr: {mean, sd, min, max}}",
                      "optional: the book's defaults otherwise"),
    "baseline_gfr": ("{group: {min: eGFR}}", "optional: a lowest baseline eGFR of a group"),
    "renal_flares": ("patients with a flare (a number), or {patients: n, events: m}",
                     "optional (or the published counts of all patients)"),
    "poor_outcomes": ("{esrd: patients, death: patients}", "optional"),
    "adverse_events": ("{category: patients} or {category: {patients: n, events: m}}",
                       "optional (or the published counts of each category)"),
}

EXAMPLE = """\
study: my_study
title: Rituximab added to mycophenolate (an example)
arms: [rituximab]
timepoints: {52w: 364}
sources:
  paper: {citation: "Author A, et al. Journal 2024;1:1-10.", short: "Author et al. 2024", url: example.org/abstract}
response:
  preset: kdigo_2024
  grades:
    CR: {name: complete renal response, source: paper, quote: "complete renal response (UPCR < 50 mg/mmol)"}
criteria:
  - {parameter: cr_upcr_max, value: 50, unit: mg/mmol, source: paper,
     quote: "complete renal response (UPCR < 50 mg/mmol)"}
numbers:
  - {id: n_total, source: paper, quote: "Forty patients were treated.", measure: n_patients, group: all,
     statistic: count, value: 40, decimals: 0}
  - {id: cr_52w, source: paper, quote: "At 52 weeks 18 (45.0%) had a complete response.", measure: response,
     outcome: CR, timepoint: 52w, group: all, statistic: count, value: 18, decimals: 0}
  - {id: albumin, source: paper, quote: "Albumin rose to a median of 35 g/L.", measure: albumin, unit: g/L,
     group: all, timepoint: 52w, statistic: median, value: 35, decimals: 0}
  - {id: egfr_low, source: paper, quote: "eGFR was below 60 in 25% at baseline.", measure: egfr, threshold: "< 60",
     group: all, timepoint: baseline, statistic: percent, value: 25, decimals: 0}
  - {id: sledai, source: paper, quote: "SLEDAI fell from 12 to 4.", measure: sledai, group: all, statistic: median,
     value: 4, decimals: 0, not_expressible: "the patient-level format holds no SLEDAI"}
assumptions:
  - {id: response_split, what: "PR among those not in CR (not published).", value: {pr_share_of_not_cr: 0.4}}
  - {id: female_fraction, what: "Women (not published).", value: 0.9}
  - {id: age, what: "Age (not published).", value: {mean: 35, sd: 11, min: 18, max: 70}}
  - {id: isn_class, what: "Class (not published).", value: {III: 10, IV: 22, V: 8}}
  - {id: induction, what: "Rituximab and mycophenolate.", value: {rituximab+mycophenolate: 40}}
  - {id: maintenance, what: "Mycophenolate.", value: {mycophenolate: 40}}
"""


def _type(annotation) -> str:
    """A field's type in words."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        return " or ".join(_type(a) for a in kept) + (" (or empty)" if len(kept) < len(args) else "")
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"{{{_type(args[0])}: {_type(args[1])}}}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return re.sub(r"(?<!^)(?=[A-Z])", " ", annotation.__name__).lower()   # 'response definition'
    return {str: "text", int: "whole number", float: "number", bool: "true or false", typing.Any: "any"}.get(
        annotation, getattr(annotation, "__name__", str(annotation)))


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def model_table(model: type[BaseModel]) -> str:
    """One row per field of a study-file model: name, type, required or its default, what it is."""
    rows = []
    for name, info in model.model_fields.items():
        default = "required" if info.is_required() else ("(none)" if info.default in (None, "", [], {}) else
                                                         f"{info.default!r}" if not isinstance(info.default, BaseModel)
                                                         else "(its defaults)")
        rows.append([f"`{name}`", _type(info.annotation), default, info.description or ""])
    return _table(["field", "type", "default", "what"], rows)


def measures_table() -> str:
    rows = []
    for m in measures.MEASURES.values():
        held = f"`{m.column}`" if m.column else ("computed from creatinine, age and sex" if m.kind == "kidney" else
                                                  "the events table" if m.kind == "event" else
                                                  "classified from the labs" if m.kind == "response" else "the rows")
        others = ", ".join(f"{u} (x {float(f):g})" for u, f in m.units.items() if f != 1)
        rows.append([f"`{m.name}`", m.label + (f"; {m.note}" if m.note else ""), m.kind, held, m.unit, others])
    return _table(["measure", "what", "kind", "held as", "stored unit", "other units (x the stored value)"], rows)


def criteria_table() -> str:
    rows = []
    for f in fields(Criteria):
        values = "; ".join(f"{name}: {p.values[f.name]}" for name, p in PRESETS.items() if f.name in p.values)
        rows.append([f"`{f.name}`", repr(f.default), values])
    return _table(["criterion", "default (study A's published definition)", "in the presets"], rows)


def presets_list() -> str:
    out = []
    for name, p in PRESETS.items():
        out.append(f"- `{name}`: {_cell(p.title)}. {_cell(p.citation)} ({_cell(p.url)}). Quoted: \u201c{_cell(p.quote)}"
                   f"\u201d {_cell(p.reading)}")
    return "\n".join(out) + "\n"


def markdown() -> str:
    """The generated reference of the study file (MyST Markdown)."""
    parts = [
        "## The fields of a study file\n", model_table(published.Study),
        "### A source\n", model_table(published.Source),
        "### A published number\n", model_table(published.Number),
        "A number is *expressed* when rows in the patient-level format can give it (the check recomputes it, in the "
        "unit the source prints), a *target* when the reconstruction is built to give it, an *independent check* "
        "otherwise; a number the format cannot hold names why in `not_expressible`.\n",
        "### Measures and their units\n", measures_table(),
        "A count, a percent and a share of patients below a threshold are read alike where a proportion is meant; a "
        "conversion is exact (fractions): 1 mg/dL of creatinine is 88.4 µmol/L, 1 g/g of UPCR 113.12 mg/mmol (the "
        "molar mass of creatinine), 1 g/dL of albumin 10 g/L; a 24-hour urine protein (g/day) is its own measure.\n",
        "### Statistics\n", _table(["statistic", "what"], [[f"`{k}`", v] for k, v in measures.STATISTICS.items()]),
        "### The response definition\n", model_table(published.ResponseDefinition),
        "A grade:\n\n", model_table(published.Grade),
        "A threshold of `criteria`:\n\n", model_table(published.Criterion),
        "The criteria, their defaults and the presets' values (helpers.cohort.response.Criteria):\n\n",
        criteria_table(), "The presets, each a published definition with its words:\n\n", presets_list(),
        "A params file may choose a preset for a whole book: `criteria: {preset: kdigo_2024}`.\n",
        "### Statements in words, resolutions, assumptions\n", model_table(published.Claim), "\n",
        model_table(published.Resolution), "\n", model_table(published.Assumption),
        "### The assumptions the reconstruction reads\n",
        _table(["id", "value", "needed"], [[f"`{k}`", shape, when] for k, (shape, when) in ASSUMPTIONS.items()]),
        "Every missing one is listed at once, each with what to add, before anything is drawn.\n",
        "### The reconstruction\n", model_table(published.Reconstruction),
        "## An example\n", "```yaml\n" + EXAMPLE + "```\n",
    ]
    return "\n".join(parts)
