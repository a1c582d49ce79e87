"""Published targets: data/published/<study>.yaml, validated on load.

These values are used for exactly two things: building the reconstructed
cohort, and the side-by-side comparison (check command, scorecard). They are
never printed as results.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from helpers.paths import PUBLISHED_DIR


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    citation: str
    short: str = ""           # how a table footnote names it ('Kim et al., Korean J Intern Med 2025')
    doi: str | None = None
    url: str | None = None


class Criterion(_Strict):
    parameter: str
    value: float
    unit: str
    source: str
    quote: str
    note: str | None = None


class Number(_Strict):
    id: str
    source: str
    quote: str = Field(min_length=10)
    measure: Literal["n_patients", "tacrolimus_monotherapy", "response", "poor_outcome", "age", "female",
                     "upcr", "egfr"]
    group: str   # 'all', an arm, a subgroup, subgroups joined by '+', or 'arm1 vs arm2'
    statistic: Literal["count", "percent", "mean", "sd", "p_value", "logrank_p"]
    value: float
    decimals: int = Field(ge=0, le=4)
    outcome: Literal["CR", "PR", "overall"] | None = None
    timepoint: str | None = None
    # the same statement as another number, in another source (the same p beside the same
    # comparison): shown, compared, and counted once, as that number
    same_as: str | None = None

    @model_validator(mode="after")
    def _consistent(self):
        if self.measure == "response" and (self.outcome is None or self.timepoint is None):
            raise ValueError("a response number needs an outcome and a timepoint")
        if self.statistic in ("p_value", "logrank_p") and not 0 <= self.value <= 1:
            raise ValueError("a p-value lies between 0 and 1")
        if self.statistic == "percent" and not 0 <= self.value <= 100:
            raise ValueError("a percentage lies between 0 and 100")
        if round(self.value, self.decimals) != self.value:
            raise ValueError(f"value {self.value} has more decimals than {self.decimals}")
        return self


class Resolution(_Strict):
    id: str
    about: list[str]          # the published numbers involved
    choice: str
    why: str
    sets_aside: list[str] = []  # published numbers the reconstruction does not aim at
    # published numbers weighed as evidence for the choice: the rows were chosen with them in view,
    # so they are targets, not independent checks
    weighs: list[str] = []
    value: Any = None           # the choice in machine-readable form, where the code needs it


class Assumption(_Strict):
    id: str
    what: str
    rule: str | None = None
    value: Any = None
    # published numbers that hold only because this assumption was chosen to make them hold
    by_construction: list[str] = []
    # what a chapter shows that this assumption decides: measures ('age', 'renal_flare', 'upcr', ...),
    # optionally with ':outcome' and '@timepoint' ('response:PR@2y', 'response@3y'); the book marks
    # such numbers as assumed
    covers: list[str] = []


CLAIM_TESTS = {
    "mann_whitney": "Mann-Whitney U",
    "pearson": "Pearson chi-square",
    "fisher": "Fisher exact",
    "logrank": "log-rank",
}


class Claim(_Strict):
    """A statement in words, with its quote, made testable: between the arms at `timepoint`, each
    measure of `about` shows no significant difference (`holds: no_difference`: p >= alpha), or
    a significant difference with `higher` the arm where it is larger (`holds: higher`: p < alpha
    and the direction). Each measure is one statement, tested by the named test; a measure the
    patient-level format does not hold is listed in `not_expressible` with the reason."""
    id: str
    source: str
    quote: str = Field(min_length=10)
    holds: Literal["no_difference", "higher", "only", "text"]
    about: list[str] = []       # measures: labs (upcr, egfr, ...), patient attributes, event kinds
    timepoint: str = "baseline"
    higher: str | None = None   # the arm with the larger value, for holds: higher
    values: list[str] = []      # the values allowed, for holds: only (every patient's `about[0]` is one)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    not_expressible: dict[str, str] = {}   # measure -> why the rows cannot show it
    same_as: str | None = None  # the same statement as another claim, in another source: counted once

    @model_validator(mode="after")
    def _consistent(self):
        if (self.holds == "higher") != (self.higher is not None):
            raise ValueError("a claim of a higher value names the arm (higher:), and only such a claim does")
        if (self.holds == "only") != bool(self.values):
            raise ValueError("a claim that only some values occur lists them (values:), and only such a claim does")
        if self.holds == "text" and self.about:
            raise ValueError("a claim the rows cannot test (holds: text) names what it is about in not_expressible")
        return self

    def items(self) -> list[str]:
        """The measures this claim makes a statement about, testable or not, in order."""
        return [*self.about, *[m for m in self.not_expressible if m not in self.about]]


class Reconstruction(_Strict):
    seed: int = 0             # the first seed of the reconstruction's draws
    id_prefix: str = Field(default="P", pattern=r"^[A-Za-z]{1,3}$")   # patient ids: <prefix>001, ...


class Study(_Strict):
    study: str
    title: str
    arms: list[str]
    subgroups: list[str] = []
    timepoints: dict[str, int]
    sources: dict[str, Source]
    criteria: list[Criterion]
    numbers: list[Number]
    claims: list[Claim] = []
    resolutions: list[Resolution] = []
    assumptions: list[Assumption] = []
    reconstruction: Reconstruction = Reconstruction()

    @model_validator(mode="after")
    def _references(self):
        ids = [n.id for n in self.numbers]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"duplicate number ids: {duplicated}")
        for n in self.numbers:
            if n.source not in self.sources:
                raise ValueError(f"number {n.id}: unknown source {n.source!r}")
            if n.timepoint not in (None, "baseline") and n.timepoint not in self.timepoints:
                raise ValueError(f"number {n.id}: unknown timepoint {n.timepoint!r}")
            groups = set(self.arms) | set(self.subgroups)
            if n.group not in {"all", " vs ".join(self.arms)} and not set(n.group.split("+")) <= groups:
                raise ValueError(f"number {n.id}: unknown group {n.group!r}")
        for n in self.numbers:
            if n.same_as is not None and n.same_as not in ids:
                raise ValueError(f"number {n.id}: same_as names an unknown number {n.same_as!r}")
        claim_ids = [c.id for c in self.claims]
        statements = set(ids) | set(claim_ids) | {f"{c.id}:{m}" for c in self.claims for m in c.items()}
        for c in self.claims:
            if c.source not in self.sources:
                raise ValueError(f"claim {c.id}: unknown source {c.source!r}")
            if c.id in ids or claim_ids.count(c.id) > 1:
                raise ValueError(f"claim {c.id}: the id is used twice")
            if c.timepoint != "baseline" and c.timepoint not in self.timepoints:
                raise ValueError(f"claim {c.id}: unknown timepoint {c.timepoint!r}")
            if c.higher is not None and c.higher not in self.arms:
                raise ValueError(f"claim {c.id}: higher names {c.higher!r}, not an arm")
            if c.same_as is not None and c.same_as not in claim_ids:
                raise ValueError(f"claim {c.id}: same_as names an unknown claim {c.same_as!r}")
        for r in self.resolutions:
            unknown = sorted((set(r.about) | set(r.sets_aside) | set(r.weighs)) - statements)
            if unknown:
                raise ValueError(f"resolution {r.id}: unknown numbers {unknown}")
        for a in self.assumptions:
            unknown = sorted(set(a.by_construction) - statements)
            if unknown:
                raise ValueError(f"assumption {a.id}: unknown numbers or claims {unknown}")
        return self

    def number(self, id: str) -> Number:
        return next(n for n in self.numbers if n.id == id)

    @property
    def set_aside(self) -> set[str]:
        return {i for r in self.resolutions for i in r.sets_aside}

    def targets(self) -> list[Number]:
        """The published numbers the reconstruction aims to reproduce."""
        return [n for n in self.numbers if n.id not in self.set_aside]

    @property
    def by_construction(self) -> dict[str, str]:
        """{number, claim or 'claim:measure' id: what the assumption that makes it hold says}."""
        return {i: a.what for a in self.assumptions for i in a.by_construction}

class PublishedError(ValueError):
    pass


@cache
def load(study: str, folder: Path = PUBLISHED_DIR) -> Study:
    """The validated published targets of `study` (data/published/<study>.yaml)."""
    path = Path(folder) / f"{study}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise PublishedError(f"{path}: cannot be read: {err}") from None
    try:
        return Study.model_validate(raw)
    except ValidationError as err:
        raise PublishedError(f"{path}: {err}") from None
