"""The params file of a book as one pydantic model, validated as a whole: every parameter's type,
range and default (written once, here: params/default.yaml and the notebooks' `parameters` cells
are tested equal to it), the parameters each notebook knows (those of its `parameters` cell), and
the disclosure rule for real cohorts:

- a book whose data folders are not all the reconstruction gets `min_cell: 5` unless its params
  file sets `min_cell` itself (a lower value set there is allowed, and the build log says so);
- a chapter's own `min_cell` (under `notebooks:`) may raise the book's, never lower it.

`compare_with` names, for a study of a real cohort, the study file it is compared with (`{mine: study_a}`), or that
and its arms where they are named differently (`{mine: {study: study_a, arms: {tac: tacrolimus}}}`: `Comparison`);
`exclude` lists rows with an impossible timeline to leave out (helpers.cohort.data.excluded_rows). What can only be
checked against the data (a study of the cohort, its arms, its tables) is helpers.bookbuild.config's.

Reading the file (YAML with limits) and turning errors into one line are helpers.bookbuild.config's."""
from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict

from helpers import paths
from helpers.cohort.response import CREATININE_RULES, MISSING_RULES, PRESETS, WINDOW
from helpers.methods.proportions import PROPORTION_TESTS
from helpers.methods.stats import PAIRED_TESTS
from helpers.paths import RECONSTRUCTED_DIR, REPO_ROOT, in_reconstruction
from helpers.publication import published

DEFAULT_DATA_DIR = RECONSTRUCTED_DIR.relative_to(REPO_ROOT).as_posix()   # the default run's data_dir

REAL_COHORT_MIN_CELL = 5   # min_cell of a book on real patients whose params file does not set it

RESERVED = {"output_dir"}  # in the notebooks' parameters cells, set by the pipeline, never by a params file

STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)   # no unknown name, no silent type conversion


def _plain(text: str) -> str:
    """No control or format characters: newline, tab, NUL, ANSI escapes, bidirectional overrides, zero-width."""
    bad = sorted({c for c in text if unicodedata.category(c) in ("Cc", "Cf")})
    if bad:
        raise ValueError(f"holds control or format characters ({' '.join(ascii(c) for c in bad)}): remove them")
    return text


def _published_study(name: str) -> str:
    if name not in paths.studies():
        raise ValueError(f"no study file data/published/{name}.yaml (known: {', '.join(paths.studies())})")
    return name


Text = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_plain)]
PublishedStudy = Annotated[str, AfterValidator(_published_study)]
Line = Annotated[int, Field(ge=2, le=100_000_000)]   # a row of a table: its line (CSV) or spreadsheet row; 1: header
Fraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


@with_config(STRICT)
class CriteriaOverrides(TypedDict, total=False):
    """Overrides of helpers.cohort.response.Criteria (where each threshold's published default is written):
    only the names given are changed. Fractions lie strictly between 0 and 1."""
    cr_upcr_max: Positive              # g/g
    cr_creatinine_rise_max: Fraction   # fraction of baseline creatinine
    creatinine_uln_female: Positive    # mg/dL
    creatinine_uln_male: Positive      # mg/dL
    pr_upcr_reduction_min: Fraction    # fraction of baseline UPCR
    pr_upcr_max: Positive              # g/g
    pr_egfr_min: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None   # mL/min/1.73 m²; 0: any eGFR
    pr_egfr_drop_max: Fraction | None  # fraction of baseline eGFR
    cr_upcr_inclusive: bool            # CR: UPCR <= cr_upcr_max (else <)
    cr_creatinine: Literal[CREATININE_RULES]  # type: ignore[valid-type]
    cr_egfr_min: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None   # CR also: eGFR at least this ...
    cr_egfr_drop_max: Fraction | None  # ... or not more than this fraction below baseline
    partial_response: bool             # the definition has a partial response
    pr_upcr_inclusive: bool            # PR: UPCR <= pr_upcr_max (else <)
    pr_creatinine_rise_max: Fraction | None   # PR also: creatinine not more than this fraction above baseline
    preset: Literal[tuple(PRESETS)]    # type: ignore[valid-type]  # a published definition (response.PRESETS)


class Comparison(BaseModel):
    """What one study of a real cohort is compared with (`compare_with`): a published study, and the cohort's arms
    named as that study's where their names differ ({the cohort's arm: the study's arm}). The short form
    `compare_with: {my_cohort: study_a}` is {study: study_a} with every arm named as the study names it."""
    model_config = STRICT

    study: PublishedStudy
    arms: dict[Annotated[Text, Field(max_length=200)], Annotated[Text, Field(max_length=200)]] = Field(
        default_factory=dict)

    @model_validator(mode="after")
    def _the_study_s_arms(self):
        arms = published.load(self.study).arms
        for ours, theirs in self.arms.items():
            if theirs not in arms:
                raise ValueError(f"arms.{ours}: {theirs!r} is not an arm of {self.study} ({', '.join(arms)})")
        twice = sorted({a for a in self.arms.values() if list(self.arms.values()).count(a) > 1})
        if twice:
            raise ValueError(f"arms: {', '.join(twice)} is named for two arms of the cohort; name each once")
        return self


def _short_form(value):
    """compare_with: {my_cohort: study_a} is {my_cohort: {study: study_a}} (the study checked here, so that a
    mistake is named by the key the file has)."""
    return {"study": _published_study(value)} if isinstance(value, str) else value


class Settings(BaseModel):
    """The global parameters of a params file; each goes to every notebook whose parameters cell defines it."""
    model_config = STRICT

    data_dir: Text = Field(DEFAULT_DATA_DIR, description="cohort folder (one subfolder per study), relative to the "
                                                          "repository root or absolute")
    window: Annotated[int, Field(ge=0, le=3650)] = Field(
        WINDOW, description="visit window, days either side of a nominal timepoint")
    criteria: CriteriaOverrides = Field(default_factory=dict, description="overrides of the response criteria "
                                                                          "(helpers.cohort.response.Criteria fields)")
    missing: Literal[MISSING_RULES] = Field(  # type: ignore[valid-type]
        "complete_case", description="missing-data rule: complete_case (as published) or nonresponder")
    test: Literal[(*PROPORTION_TESTS, "auto")] = Field(  # type: ignore[valid-type]
        "pearson", description=f"test for proportions: {', '.join(PROPORTION_TESTS)} or auto")
    min_cell: Annotated[int, Field(ge=0, le=1_000_000)] = Field(
        0, description="disclosure control: nothing about fewer patients is shown (helpers.methods.disclosure); 0: "
                       f"off; a real cohort gets {REAL_COHORT_MIN_CELL} unless set")
    alpha: Fraction = Field(0.05, description="significance level")
    timepoints: dict[Annotated[Text, Field(max_length=40)], Annotated[int, Field(ge=0, le=36500)]] | None = Field(
        None, description="nominal timepoints {name: day since baseline}, for a cohort without a study file")
    compare_with: dict[Text, Annotated[Comparison, BeforeValidator(_short_form)]] = Field(
        default_factory=dict, description="{study in the data: published study} to compare a real cohort with, or "
                                          "{study in the data: {study: published study, arms: {its arm: the "
                                          "published arm}}} where the arms are named differently (default: none)")
    exclude: dict[Annotated[Text, Field(max_length=300)], list[Line]] = Field(
        default_factory=dict, description="rows with an impossible timeline (after the death or the last follow-up; "
                                          "a follow-up past the death) to leave out: {table: [line or spreadsheet "
                                          "row, ...]}, the table as named in data_dir (labs, or study_x/labs); the "
                                          "build lists them in its log (default: none)")
    notebooks: Overrides = Field(default_factory=lambda: Overrides(),
                                 description="per-notebook overrides {notebook: {parameter: value}}")

    @field_validator("criteria", "compare_with", "exclude", "notebooks", mode="before")
    @classmethod
    def _empty(cls, value):
        return {} if value is None else value   # `criteria:` with every line commented out

    @model_validator(mode="after")
    def _no_chapter_below_the_book(self):
        floor = self.min_cell_in_force()
        for stem, over in self.overrides().items():
            if over.get("min_cell", floor) < floor:
                raise ValueError(f"notebooks.{stem}.min_cell: {over['min_cell']} is below the book's min_cell "
                                 f"({floor}): a chapter may raise min_cell, never lower it; remove the line")
        return self

    def overrides(self) -> dict[str, dict]:
        """{notebook stem: {parameter: value}} as the params file sets them."""
        return self.notebooks.model_dump(by_alias=True, exclude_unset=True)

    def data_folders(self) -> set[str]:
        """Every data folder a build under these settings reads."""
        return {self.data_dir} | {o["data_dir"] for o in self.overrides().values() if "data_dir" in o}

    def real_cohort(self) -> bool:
        """Does any data folder hold something other than the reconstruction (real patients, to be protected)?"""
        return not all(in_reconstruction(REPO_ROOT / d) for d in self.data_folders())   # an absolute d replaces

    def min_cell_in_force(self) -> int:
        """min_cell as set, else 0 on the reconstruction and REAL_COHORT_MIN_CELL on a real cohort."""
        if "min_cell" in self.model_fields_set or not self.real_cohort():
            return self.min_cell
        return REAL_COHORT_MIN_CELL

    def values(self) -> dict:
        """The global parameters the params file sets, and min_cell when the real-cohort rule sets it."""
        out = self.model_dump(exclude_unset=True, exclude={"notebooks"})
        return out | ({"min_cell": self.min_cell_in_force()} if self.min_cell_in_force() != self.min_cell else {})


class ChapterOnly(BaseModel):
    """Parameters that only chapters' parameters cells have (a params file sets them under `notebooks:`)."""
    model_config = STRICT

    study: Text | None = Field(None, description="the study a chapter shows; None: every study in data_dir it fits")
    studies: list[PublishedStudy] | None = Field(
        None, description="the published studies the audit checks; None: those of the book's cohort")
    ae_test: Literal[tuple(PROPORTION_TESTS)] = Field(  # type: ignore[valid-type]
        "fisher", description="test per adverse-event category")
    paired_test: Literal[tuple(PAIRED_TESTS)] = Field(  # type: ignore[valid-type]
        "paired_t", description="test of paired lab changes")


# The parameters of each notebook's `parameters` cell (output_dir aside: set by the pipeline).
NOTEBOOK_PARAMETERS = {
    "01_cohort_description": ["data_dir", "timepoints", "window", "min_cell", "exclude"],
    "02_response": ["data_dir", "study", "timepoints", "window", "criteria", "missing", "test", "alpha", "min_cell",
                    "exclude"],
    "03_safety_flares": ["data_dir", "study", "ae_test", "min_cell", "exclude"],
    "04_refractory_multitarget": ["data_dir", "study", "timepoints", "window", "criteria", "missing", "paired_test",
                                  "min_cell", "exclude"],
    "05_audit": ["studies"],
}

PARAMETERS = {name: f for name, f in (Settings.model_fields | ChapterOnly.model_fields).items()
              if name not in ("compare_with", "notebooks")}   # what a notebook may have

# One model per notebook, its fields those of Settings or ChapterOnly (same types, ranges and defaults).
NOTEBOOKS = {stem: create_model(f"Notebook_{stem}", __config__=STRICT,
                                **{name: (PARAMETERS[name].annotation, PARAMETERS[name]) for name in names})
             for stem, names in NOTEBOOK_PARAMETERS.items()}

Overrides = create_model("Overrides", __config__=STRICT, **{
    f"nb_{stem}": (model, Field(default_factory=model, alias=stem)) for stem, model in NOTEBOOKS.items()})

Settings.model_rebuild()

DESCRIPTIONS = {name: f.description for name, f in (Settings.model_fields | ChapterOnly.model_fields).items()}
