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
from helpers.publication import measures as measure_table
from helpers.publication.measures import EFFECTS, OUTCOMES, STATISTICS


class _Strict(BaseModel):
    # a field's docstring is its description: the study file's reference page is generated from them
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Source(_Strict):
    """A publication the numbers are quoted from (a paper, an abstract, a trial registry's results)."""
    citation: str
    """The full reference: authors, title, journal, year, volume, pages."""
    short: str = ""
    """How a table footnote names it ('Kim et al., Korean J Intern Med 2025')."""
    doi: str | None = None
    """Its DOI, when it has one."""
    url: str | None = None
    """Where the quoted text was read (the address of the stored page)."""


class Criterion(_Strict):
    """One threshold of the study's response definition: a field of helpers.cohort.response.Criteria, its
    value in `unit` (converted to the stored unit: 50 mg/mmol is 0.442 g/g), and the words it comes from."""
    parameter: str
    """A field of helpers.cohort.response.Criteria (cr_upcr_max, cr_creatinine, pr_egfr_min, ...)."""
    value: float | bool | str | None
    """Its value in `unit`; None: the definition has no such condition."""
    unit: str
    """The unit the source prints it in (g/g, mg/mmol, mg/dL, µmol/L, mL/min/1.73 m², fraction of baseline, rule)."""
    source: str
    """The source the words come from (a key of `sources`, or none)."""
    quote: str
    """The words, verbatim."""
    note: str | None = None
    """How the words are read, where they need reading ('sub-nephrotic read as UPCR < 3.0 g/g')."""


class Grade(_Strict):
    """A response grade as the study names it ('complete renal response (CRR)'), with its definition's words."""
    name: str
    """The study's own name of the grade."""
    source: str | None = None
    """The source of its definition (a key of `sources`)."""
    quote: str | None = None
    """Its definition, verbatim."""


class ResponseDefinition(_Strict):
    """How the study grades the response: a named preset (helpers.cohort.response.PRESETS) as the start,
    the thresholds in `criteria` over it, the study's own name for each grade (CR, PR, overall, NR), and
    the parts of its definition the patient-level format cannot show ('no use of rescue therapy')."""
    preset: str | None = None
    """A named published definition to start from (helpers.cohort.response.PRESETS)."""
    grades: dict[Literal[OUTCOMES], Grade] = {}  # type: ignore[valid-type]
    """The study's name and words for each grade: CR, PR, overall (CR or PR), NR."""
    not_expressible: str | None = None
    """The parts of the definition no patient-level data in the format can show, in words."""


class Number(_Strict):
    """One published number: what it is about (`measure`, helpers.publication.measures.MEASURES), in which
    unit, which statistic of which group at which timepoint, and the words it comes from."""
    id: str
    """Its name in the study file (letters, digits, _), unique."""
    source: str
    """The source it is quoted from (a key of `sources`)."""
    quote: str = Field(min_length=10)
    """The words it is printed in, verbatim (at least 10 characters)."""
    measure: str
    """What it is about: a measure of helpers.publication.measures.MEASURES, or anything with not_expressible."""
    group: str
    """'all', an arm, a subgroup, subgroups joined by '+', or 'a vs b' (a comparison of two)"""
    statistic: Literal[tuple(STATISTICS)]  # type: ignore[valid-type]
    """What of the group it is: count, percent, mean, sd, median, q1, q3, min, max, p_value, logrank_p, or an effect
    size (odds_ratio, risk_ratio, risk_difference, hazard_ratio) or one of its 95% limits (odds_ratio_low, ...)."""
    value: float
    """The number as printed."""
    decimals: int = Field(ge=0, le=4)
    """The decimals it is printed with: a recomputed value reproduces it when it rounds to it."""
    outcome: str | None = None
    """Response grade: CR, PR, overall or NR (the study's names: `response`)"""
    timepoint: str | None = None
    """'baseline' or a key of `timepoints` (none: about the whole cohort or follow-up)."""
    unit: str | None = None
    """As printed (g/L, µmol/L, mg/mmol, events, ...); default the stored unit"""
    threshold: str | None = None
    """'< 60': the patients below (or above) it, as a count or percent"""
    level: list[str] = []
    """The values counted: ISN classes ('III/IV': [III, IV]), adverse-event categories"""
    bound: Literal["<", "<=", ">", ">="] | None = None
    """'p < 0.001': the value is a bound, not a rounding"""
    not_expressible: str | None = None
    """Why no patient-level data in the format can give it (said, not checked)"""
    same_as: str | None = None
    """The same statement as another number, in another source (the same p beside the same comparison): shown,
    compared, and counted once, as that number."""

    @model_validator(mode="after")
    def _consistent(self):
        found = []
        if self.measure == "response" and (self.outcome is None or self.timepoint is None):
            found.append("a response number needs an outcome and a timepoint")
        if self.outcome is not None and self.outcome not in OUTCOMES:
            found.append(f"outcome {self.outcome!r} is not a response grade ({', '.join(OUTCOMES)}; the study's "
                         f"own names go in `response: grades:`)")
        if self.statistic in ("p_value", "logrank_p") and not 0 <= self.value <= 1:
            found.append("a p-value lies between 0 and 1")
        if self.statistic == "percent" and not 0 <= self.value <= 100:
            found.append("a percentage lies between 0 and 100")
        if round(self.value, self.decimals) != self.value:
            found.append(f"value {self.value} has more decimals than {self.decimals}")
        effect = self.statistic.removesuffix("_low").removesuffix("_high")
        if effect in EFFECTS and " vs " not in self.group and self.not_expressible is None:
            found.append(f"{'an' if effect[0] in 'aeiou' else 'a'} {effect.replace('_', ' ')} compares two groups: "
                         f"give group as 'a vs b' (the first over, or minus, the second)")
        if self.not_expressible is None:
            found += measure_table.problems(self)
        if self.measure == "isn_class" and self.not_expressible is None:
            from helpers.cohort.schema import ISN_CLASSES
            odd = [v for v in self.level if v not in ISN_CLASSES]
            if odd or not self.level:
                found.append(f"an ISN/RPS class number lists its classes in level (of {', '.join(ISN_CLASSES)})"
                             + (f"; not classes: {', '.join(odd)}" if odd else ""))
        if found:
            raise ValueError("; ".join(found))
        return self

    @property
    def key(self) -> str:
        """The measure as a result row names it: the measure, with the values counted ('isn_class[III/IV]'),
        the threshold ('egfr < 60'), events rather than patients ('adverse_event[infection] events') and a unit
        other than the stored one ('albumin (g/L)'), so that two such numbers never share a row."""
        text = self.measure + (f"[{'/'.join(self.level)}]" if self.level else "")
        text += f" {self.threshold.strip()}" if self.threshold else ""
        if self.unit is not None and measure_table.unit_name(self.unit) == "events":
            text += " events"
        elif self.unit is not None and self.measure in measure_table.MEASURES and \
                measure_table.factor(self.measure, self.unit) not in (None, 1):
            text += f" ({measure_table.unit_name(self.unit)})"
        return text

    def agrees(self, computed: float) -> bool:
        """Does a computed value agree with this number: round to it at its decimals, or, for a bound
        ('p < 0.001'), lie on its side?"""
        from helpers.publication.consistency import rounds_to
        if computed != computed:
            return False
        if self.bound is None:
            return rounds_to(computed, self.value, self.decimals)
        return {"<": computed < self.value, "<=": computed <= self.value, ">": computed > self.value,
                ">=": computed >= self.value}[self.bound]


class Resolution(_Strict):
    """A contradiction between (or within) the sources, and the side the reconstruction takes, with why."""
    id: str
    """Its name, unique."""
    about: list[str]
    """The published numbers (or claims) involved."""
    choice: str
    """What the reconstruction keeps."""
    why: str
    """Why: the evidence weighed."""
    sets_aside: list[str] = []
    """Published numbers the reconstruction does not aim at."""
    weighs: list[str] = []
    """Published numbers weighed as evidence for the choice: the rows were chosen with them in view, so they are
    targets, not independent checks."""
    value: Any = None
    """The choice in machine-readable form, where the code needs it"""


class Assumption(_Strict):
    """What the reconstruction needs and no source gives, said in words; the builder reads the values of the
    assumptions it knows by their id (the reference page lists them)."""
    id: str
    """Its name: one the builder reads (female_fraction, age, isn_class, ...) or any other, for words only."""
    what: str
    """What is assumed, in words (it is printed in the book)."""
    rule: str | None = None
    """How it is applied, in words, where `what` does not say."""
    value: Any = None
    """Its values, in the shape the builder reads for this id."""
    by_construction: list[str] = []
    """Published numbers (or 'claim:measure') that hold only because this assumption was chosen to make them hold:
    targets, never independent checks."""
    covers: list[str] = []
    """What a chapter shows that this assumption decides: measures ('age', 'renal_flare', 'upcr', ...), optionally
    with ':outcome' and '@timepoint' ('response:PR@2y', 'response@3y'); the book marks such numbers as assumed."""


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
    """Its name, unique among numbers and claims."""
    source: str
    """The source it is quoted from."""
    quote: str = Field(min_length=10)
    """The words, verbatim."""
    holds: Literal["no_difference", "higher", "only", "text"]
    """What it says: no significant difference, higher in one arm, only these values, or words the rows cannot
    test."""
    about: list[str] = []
    """Measures: labs (upcr, egfr, ...), patient attributes, event kinds"""
    timepoint: str = "baseline"
    """'baseline' or a key of `timepoints`."""
    higher: str | None = None
    """The arm with the larger value, for holds: higher"""
    values: list[str] = []
    """The values allowed, for holds: only (every patient's `about[0]` is one)"""
    alpha: float = Field(default=0.05, gt=0, lt=1)
    """The significance level the words imply."""
    not_expressible: dict[str, str] = {}
    """Measure -> why the rows cannot show it"""
    same_as: str | None = None
    """The same statement as another claim, in another source: counted once"""

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
    """How the reconstruction draws: its first seed, the letters of its patient ids, the eGFR equation."""
    seed: int = 0
    """The first seed of the reconstruction's draws"""
    id_prefix: str = Field(default="P", pattern=r"^[A-Za-z]{1,3}$")
    """Patient ids: <prefix>001, ..."""
    egfr_equation: Literal["ckd_epi_2009", "ckd_epi_2021"] = "ckd_epi_2009"
    """The equation of the study's recorded eGFR: the reconstruction stores it by this one, and a number of that
    equation's measure (egfr_ckd_epi_2021) is the recorded eGFR."""


class Study(_Strict):
    """A study file: data/published/<study>.yaml."""
    study: str
    """Its name: the file's name, and the study column of the patient-level data."""
    title: str
    """The study's title, as the book shows it."""
    arms: list[str]
    """The arms, in the order every table and figure shows them (one arm: a single-arm study)."""
    subgroups: list[str] = []
    """Groups before baseline (prior_response of the patient-level format), in the order they are shown."""
    timepoints: dict[str, int]
    """The nominal timepoints: {name: days since baseline}."""
    sources: dict[str, Source]
    """The publications quoted: {key: source}."""
    criteria: list[Criterion] = []
    """The response definition's thresholds, each with its words (over the preset, if any)."""
    response: ResponseDefinition = ResponseDefinition()
    """The response definition: a preset, the study's names of the grades, what the format cannot show."""
    numbers: list[Number]
    """Every published number, each with its words."""
    claims: list[Claim] = []
    """Statements in words ('no significant difference in ...'), made testable."""
    resolutions: list[Resolution] = []
    """The contradictions between the sources, and the side taken."""
    assumptions: list[Assumption] = []
    """What no source gives, said in words (and values the builder reads)."""
    reconstruction: Reconstruction = Reconstruction()
    """The reconstruction's seed and patient-id letters."""

    @model_validator(mode="after")
    def _references(self):
        found = self.reference_problems()
        if found:
            raise ValueError("\n".join(found))
        return self

    def comparisons(self) -> set[str]:
        """The 'a vs b' groups a number may compare: any two arms (or subgroups), and all arms together."""
        names = [*self.arms, *self.subgroups]
        out = {f"{a} vs {b}" for a in names for b in names if a != b}
        return out | {" vs ".join(self.arms)}

    def reference_problems(self) -> list[str]:
        """Every dangling reference of the study file, each in words with the id it is about."""
        found = []
        days = list(self.timepoints.values())
        if days != sorted(days) or len(set(days)) != len(days):
            found.append(f"timepoints: list them in the order of their days, each on a day of its own (given: "
                         f"{', '.join(f'{k}: {v}' for k, v in self.timepoints.items())})")
        ids = [n.id for n in self.numbers]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            found.append(f"duplicate number ids: {duplicated}")
        groups = set(self.arms) | set(self.subgroups)
        for n in self.numbers:
            if n.source not in self.sources:
                found.append(f"number {n.id}: unknown source {n.source!r}")
            if n.timepoint not in (None, "baseline") and n.timepoint not in self.timepoints:
                found.append(f"number {n.id}: unknown timepoint {n.timepoint!r}")
            if n.group not in {"all"} | self.comparisons() and not set(n.group.split("+")) <= groups:
                found.append(f"number {n.id}: unknown group {n.group!r}")
            if n.same_as is not None and n.same_as not in ids:
                found.append(f"number {n.id}: same_as names an unknown number {n.same_as!r}")
        claim_ids = [c.id for c in self.claims]
        statements = set(ids) | set(claim_ids) | {f"{c.id}:{m}" for c in self.claims for m in c.items()}
        for c in self.claims:
            if c.source not in self.sources:
                found.append(f"claim {c.id}: unknown source {c.source!r}")
            if c.id in ids or claim_ids.count(c.id) > 1:
                found.append(f"claim {c.id}: the id is used twice")
            if c.timepoint != "baseline" and c.timepoint not in self.timepoints:
                found.append(f"claim {c.id}: unknown timepoint {c.timepoint!r}")
            if c.higher is not None and c.higher not in self.arms:
                found.append(f"claim {c.id}: higher names {c.higher!r}, not an arm")
            if c.same_as is not None and c.same_as not in claim_ids:
                found.append(f"claim {c.id}: same_as names an unknown claim {c.same_as!r}")
        for r in self.resolutions:
            unknown = sorted((set(r.about) | set(r.sets_aside) | set(r.weighs)) - statements)
            if unknown:
                found.append(f"resolution {r.id}: unknown numbers {unknown}")
        for a in self.assumptions:
            unknown = sorted(set(a.by_construction) - statements)
            if unknown:
                found.append(f"assumption {a.id}: unknown numbers or claims {unknown}")
        found += _criteria_problems(self)
        return found

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

def _criteria_problems(pub: Study) -> list[str]:
    """The response definition's thresholds: known names, values of their kind, units that convert."""
    from helpers.cohort.response import PRESETS, Criteria
    found = []
    if pub.response.preset is not None and pub.response.preset not in PRESETS:
        found.append(f"response: unknown preset {pub.response.preset!r}; known: {', '.join(PRESETS)}")
    known = Criteria.__dataclass_fields__
    for c in pub.criteria:
        if c.parameter not in known:
            found.append(f"criteria {c.parameter}: unknown threshold; known: {', '.join(known)}")
            continue
        try:
            criterion_value(c)
        except ValueError as err:
            found.append(f"criteria {c.parameter}: {err}")
    return found


PARAMETER_MEASURES = {"cr_upcr_max": "upcr", "pr_upcr_max": "upcr", "creatinine_uln_female": "creatinine",
                      "creatinine_uln_male": "creatinine", "pr_egfr_min": "egfr", "cr_egfr_min": "egfr"}


def criterion_value(c: Criterion):
    """A threshold's value in the unit helpers.cohort.response.Criteria uses (g/g, mg/dL, mL/min/1.73 m²,
    fractions), from the unit the study prints it in."""
    measure = PARAMETER_MEASURES.get(c.parameter)
    if measure is None or c.value is None or isinstance(c.value, (bool, str)):
        return c.value
    if measure_table.factor(measure, c.unit) is None:
        raise ValueError(f"unit {c.unit!r} is not a unit of {measure} "
                         f"({', '.join(measure_table.MEASURES[measure].units)})")
    return float(measure_table.convert(c.value, measure, c.unit))


def criteria(pub: Study, overrides: dict | None = None):
    """The study's response criteria (helpers.cohort.response.Criteria): its preset, then its own thresholds
    (in Criteria's units), then `overrides` (a params file's `criteria`, which may name a preset of its own)."""
    from helpers.cohort.response import Criteria
    params: dict = {}
    if pub.response.preset:
        params["preset"] = pub.response.preset
    params |= {c.parameter: criterion_value(c) for c in pub.criteria}
    overrides = dict(overrides or {})
    if "preset" in overrides:    # a book's preset replaces the study's definition as a whole
        params = {}
    return Criteria.from_params(params | overrides)


def grade_name(pub: Study | None, outcome: str) -> str | None:
    """The study's own name of a response grade ('complete renal response (CRR)'), if it gives one."""
    grade = pub.response.grades.get(outcome) if pub is not None else None
    return grade.name if grade else None


class PublishedError(ValueError):
    pass


def _where(raw, loc: tuple) -> str:
    """'numbers[3] (id cr_6m)' for a pydantic error location in the study file."""
    parts, node = [], raw
    for key in loc:
        if isinstance(key, int):
            parts[-1] += f"[{key}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(node, dict) and "id" in node:
                parts[-1] += f" (id {node['id']})"
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "the file"


def problems_in_words(path: Path, raw, err: ValidationError) -> list[str]:
    """Every problem pydantic found, one line each: where in the file (with the number's id) and what; and,
    when an entry itself is wrong (so the file's references were not checked), the references too."""
    lines = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        message = str(e["msg"]).removeprefix("Value error, ")
        for part in message.split("\n"):
            lines.append(f"{_where(raw, loc)}: {part}" if loc else part)
    return list(dict.fromkeys(lines + _raw_references(raw)))


def _raw_references(raw: dict) -> list[str]:
    """The references of a study file whose entries did not all validate (its numbers, claims, resolutions and
    assumptions taken as written): what Study.reference_problems would say of them; [] when the file is too
    broken to tell."""
    def made(model, items):
        return [model.model_construct(**{k: v for k, v in item.items() if k in model.model_fields})
                for item in items or [] if isinstance(item, dict)]
    try:
        study = Study.model_construct(
            study=raw.get("study", ""), arms=list(raw.get("arms") or []), subgroups=list(raw.get("subgroups") or []),
            timepoints=dict(raw.get("timepoints") or {}), sources=dict(raw.get("sources") or {}),
            numbers=made(Number, raw.get("numbers")), claims=made(Claim, raw.get("claims")),
            resolutions=made(Resolution, raw.get("resolutions")), assumptions=made(Assumption, raw.get("assumptions")),
            criteria=made(Criterion, raw.get("criteria")), response=ResponseDefinition())
        return study.reference_problems()
    except Exception:   # noqa: BLE001 (a file this broken has its entries' problems said already)
        return []


@cache
def load(study: str, folder: Path = PUBLISHED_DIR) -> Study:
    """The validated published targets of `study` (data/published/<study>.yaml); PublishedError naming the
    file, and every problem in it, one per line, otherwise."""
    path = Path(folder) / f"{study}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise PublishedError(f"{path}: cannot be read: {err}") from None
    if not isinstance(raw, dict):
        raise PublishedError(f"{path}: is not a study file (a mapping with study, title, arms, timepoints, sources, "
                             f"numbers)")
    try:
        return Study.model_validate(raw)
    except ValidationError as err:
        lines = problems_in_words(path, raw, err)
        raise PublishedError(f"{path}: {len(lines)} problem(s):\n" + "\n".join(f"  {x}" for x in lines)) from None
