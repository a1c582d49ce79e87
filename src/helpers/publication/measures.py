"""What a published number can be about, in which unit, and which statistic: declared once, as data.

A study file's number names a `measure` (MEASURES: what it is about, where the patient-level format
holds it, its unit as stored), a `unit` (the one the source printed; any unit of UNITS for that
measure, converted exactly by `convert`), and a `statistic` (STATISTICS). A proportion may be
published as a count, a percent, or as the share of patients below (or above) a threshold of a
continuous measure ("eGFR < 60 in 30%": measure egfr, statistic percent, threshold '< 60').

Conversions are exact (fractions): g/L = 10 x g/dL; creatinine µmol/L = 88.4 x mg/dL; UPCR mg/mmol
= 113.12 x g/g (the molar mass of creatinine, 113.12 g/mol); mg/g = 1000 x g/g. A 24-hour urine
protein (g/day) is its own measure, never converted to a ratio.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

EGFR_UNIT = "mL/min/1.73 m²"


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    kind: str                 # cohort, patient, category, lab, kidney, response, event
    unit: str = ""            # as the patient-level format stores it ('' for counts and categories)
    column: str | None = None  # the column of the patient-level format that holds it (None: derived)
    units: dict = field(default_factory=dict)   # unit -> Fraction f: a value in that unit = f x the stored value
    note: str = ""


def _units(stored: str, **others) -> dict:
    return {stored: Fraction(1), **{k: Fraction(v) for k, v in others.items()}}


# Unit spellings a source may print, each read as one of the units below.
ALIASES = {
    "g/dl": "g/dL", "g/l": "g/L", "mg/dl": "mg/dL", "mg/l": "mg/L", "umol/l": "µmol/L", "μmol/l": "µmol/L",
    "µmol/l": "µmol/L", "micromol/l": "µmol/L", "g/g": "g/g", "mg/mg": "g/g", "mg/g": "mg/g", "mg/mmol": "mg/mmol",
    "g/day": "g/day", "g/d": "g/day", "g/24h": "g/day", "g/24 h": "g/day", "g/24 hours": "g/day",
    "mg/day": "mg/day", "mg/24h": "mg/day", "ml/min/1.73 m²": EGFR_UNIT, "ml/min/1.73m²": EGFR_UNIT,
    "ml/min/1.73 m2": EGFR_UNIT, "ml/min/1.73m2": EGFR_UNIT, "ml/min per 1.73 m2": EGFR_UNIT,
    "ml/min per 1.73 m²": EGFR_UNIT, "ml/min": "mL/min", "iu/ml": "IU/mL", "years": "years", "year": "years",
    "months": "months", "month": "months", "kg": "kg", "%": "%", "patients": "patients", "events": "events",
    "percentage points": "percentage points", "fraction": "fraction",
}

_LAB = {"upcr": ("UPCR", "upcr_g_g", _units("g/g", **{"mg/g": 1000, "mg/mmol": Fraction(11312, 100)})),
        "proteinuria_24h": ("24-hour urine protein", "proteinuria_g_day", _units("g/day", **{"mg/day": 1000})),
        "creatinine": ("Serum creatinine", "creatinine_mg_dl", _units("mg/dL", **{"µmol/L": Fraction(884, 10)})),
        "egfr": ("eGFR (as recorded)", "egfr", _units(EGFR_UNIT)),
        "albumin": ("Serum albumin", "albumin_g_dl", _units("g/dL", **{"g/L": 10})),
        "c3": ("Complement C3", "c3_mg_dl", _units("mg/dL", **{"g/L": Fraction(1, 100), "mg/L": 10})),
        "c4": ("Complement C4", "c4_mg_dl", _units("mg/dL", **{"g/L": Fraction(1, 100), "mg/L": 10})),
        "anti_dsdna": ("Anti-dsDNA", "anti_dsdna_iu_ml", _units("IU/mL"))}

MEASURES: dict[str, Measure] = {
    "n_patients": Measure("n_patients", "Patients", "cohort", "patients", units=_units("patients")),
    "female": Measure("female", "Female sex", "patient", column="sex"),
    "age": Measure("age", "Age", "patient", "years", "age", _units("years")),
    "disease_duration": Measure("disease_duration", "Disease duration (since the diagnosis of lupus nephritis)",
                                "patient", "months", "disease_duration_months",
                                _units("months", years=Fraction(1, 12))),
    "weight": Measure("weight", "Body weight", "patient", "kg", "weight_kg", _units("kg")),
    "isn_class": Measure("isn_class", "ISN/RPS class", "category", column="isn_class",
                         note="a class set ('III/IV') is the list of classes in `level`"),
    "induction": Measure("induction", "Induction regimen", "category", column="induction"),
    "maintenance": Measure("maintenance", "Maintenance regimen", "category", column="maintenance"),
    "active_sediment": Measure("active_sediment", "Active urinary sediment at baseline", "category",
                               column="active_sediment"),
    "active_serology": Measure("active_serology", "Active serology at baseline (low complement or raised "
                               "anti-dsDNA, as the source defines it)", "category", column="active_serology"),
    "tacrolimus_monotherapy": Measure("tacrolimus_monotherapy", "Tacrolimus alone as maintenance", "category",
                                      column="maintenance", note="maintenance 'tacrolimus'"),
    **{name: Measure(name, label, "lab", next(iter(units)), column, units,
                     "the reconstruction does not build it (not expressible there); a real cohort's column is compared"
                     if name == "proteinuria_24h" else "") for name, (label, column, units) in _LAB.items()},
    "egfr_ckd_epi_2009": Measure("egfr_ckd_epi_2009", "eGFR, CKD-EPI 2009 (from creatinine, age, sex)", "kidney",
                                 EGFR_UNIT, None, _units(EGFR_UNIT)),
    "egfr_ckd_epi_2021": Measure("egfr_ckd_epi_2021", "eGFR, CKD-EPI 2021 race-free (from creatinine, age, sex)",
                                 "kidney", EGFR_UNIT, None, _units(EGFR_UNIT)),
    "creatinine_clearance": Measure("creatinine_clearance", "Creatinine clearance, Cockcroft-Gault (from creatinine, "
                                    "age, sex, weight)", "kidney", "mL/min", None, _units("mL/min")),
    "response": Measure("response", "Renal response", "response"),
    "renal_flare": Measure("renal_flare", "Renal flare", "event"),
    "poor_outcome": Measure("poor_outcome", "End-stage renal disease or death", "event"),
    "esrd": Measure("esrd", "End-stage renal disease", "event"),
    "death": Measure("death", "Death", "event"),
    "adverse_event": Measure("adverse_event", "Adverse event (`level`: its categories)", "event"),
}

PROPORTIONS = ("count", "percent")
MOMENTS = ("mean", "sd", "median", "q1", "q3", "min", "max")
EFFECTS = {   # an effect between two groups ('a vs b'), with its 95% CI as two more numbers
    "odds_ratio": "odds ratio (Woolf 95% CI)", "risk_ratio": "risk ratio (log 95% CI)",
    "risk_difference": "risk difference (Newcombe 95% CI)", "hazard_ratio": "hazard ratio (Cox, 95% CI)"}
STATISTICS = {
    "count": "patients (or events, with unit: events) counted", "percent": "percent of the group",
    "mean": "mean", "sd": "sample standard deviation (n - 1)", "median": "median", "q1": "first quartile",
    "q3": "third quartile", "min": "smallest value", "max": "largest value",
    "p_value": "p-value of a comparison", "logrank_p": "log-rank p-value",
    **EFFECTS, **{f"{e}_low": f"lower 95% limit of the {e.replace('_', ' ')}" for e in EFFECTS},
    **{f"{e}_high": f"upper 95% limit of the {e.replace('_', ' ')}" for e in EFFECTS}}

OUTCOMES = ("CR", "PR", "overall", "NR")   # response grades: the study file's `response` names them
THRESHOLD = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*(-?\d+(?:\.\d+)?)\s*$")


def unit_name(text: str | None) -> str | None:
    """The unit a source's spelling stands for ('umol/l' -> 'µmol/L'), or None when unknown."""
    if text is None:
        return None
    key = re.sub(r"\s+", " ", str(text).strip()).lower().replace("μ", "µ")
    return ALIASES.get(key)


def factor(measure: str, unit: str | None) -> Fraction | None:
    """f such that a value in `unit` = f x the value as stored; 1 without a unit; None if not a unit of it."""
    m = MEASURES.get(measure)
    if m is None:
        return None
    if unit is None or unit in ("%", "patients", "events", "fraction", "percentage points"):
        return Fraction(1)
    name = unit_name(unit)
    return m.units.get(name) if m.units else None


def convert(value, measure: str, unit: str | None, to: str | None = None) -> Fraction:
    """`value` given in `unit` of `measure`, in unit `to` (default: as stored), exactly."""
    here, there = factor(measure, unit), factor(measure, to)
    if here is None or there is None:
        raise ValueError(f"{measure}: cannot convert {unit!r} to {to!r}")
    exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
    return exact / here * there


def threshold(text: str) -> tuple[str, float]:
    """('<', 60.0) from '< 60' (also <=, >, >=, ≤, ≥)."""
    match = THRESHOLD.match(text or "")
    if not match:
        raise ValueError(f"threshold {text!r} is not of the form '< 60', '>= 3.5'")
    op = {"≤": "<=", "≥": ">="}.get(match.group(1), match.group(1))
    return op, float(match.group(2))


def problems(number) -> list[str]:
    """What is wrong with one number's measure, unit, statistic, threshold and level, in words (empty: nothing)."""
    out = []
    m = MEASURES.get(number.measure)
    if m is None:
        return [f"unknown measure {number.measure!r}; known: {', '.join(MEASURES)} (a number about something else: "
                f"give its reason in not_expressible)"]
    if number.unit is not None and factor(number.measure, number.unit) is None:
        known = ", ".join(m.units) if m.units else "none (a count or share)"
        out.append(f"unit {number.unit!r} is not a unit of {number.measure}; known: {known}")
    if number.threshold is not None:
        try:
            threshold(number.threshold)
        except ValueError as err:
            out.append(str(err))
        if m.kind not in ("lab", "kidney", "patient") or number.statistic not in PROPORTIONS:
            out.append("a threshold ('eGFR < 60 in 30%') belongs to a count or percent of a measured value")
    if number.level and m.kind not in ("category", "event"):
        out.append(f"level (a set of values) belongs to a category or event kind, not to {number.measure}")
    if number.statistic in MOMENTS and m.kind not in ("lab", "kidney", "patient") or (
            number.statistic in MOMENTS and number.measure == "female"):
        out.append(f"a {number.statistic} of {number.measure} is not a number of values")
    return out
