"""The patient-level format: one folder per cohort with three tables (CSV, Excel .xlsx or Parquet).

Every column, its type, unit and allowed range is declared here once; the data
dictionary page of the book and the loader both read these declarations.
"""
from __future__ import annotations

from dataclasses import dataclass

SEXES = ("F", "M")
ISN_CLASSES = ("I", "II", "III", "IV", "V", "VI", "III+V", "IV+V")
EVENT_TYPES = ("renal_flare", "esrd", "death", "adverse_event")
YES_NO = ("yes", "no")
ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# arms and groups are the study's own labels (checked against its study file, when there is one)
LABEL_PATTERN = r"^[A-Za-z0-9_.+-]{1,64}$"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "str", "int", "float"
    description: str
    unit: str = ""
    required: bool = True  # a value must be present in every row
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None
    # the column itself may be left out of the table (a column added to the format later: a cohort written
    # before it, or without such data, stays valid; a left-out column reads as empty)
    may_be_absent: bool = False

    def expected(self) -> str:
        """Plain-words description of a valid value, used in error messages."""
        if self.allowed:
            return "one of " + ", ".join(self.allowed)
        if self.name == "patient_id":  # checked against ID_PATTERN (see pattern())
            return "an identifier of 1 to 64 letters, digits, _ . - (no spaces)"
        if self.name in LABEL_COLUMNS:
            return "a label of 1 to 64 letters, digits, _ + . - (no spaces)"
        words = {"str": "text", "int": "a whole number", "float": "a number"}[self.kind]
        if self.min is not None and self.max is not None:
            words += f" from {self.min:g} to {self.max:g}"
        elif self.min is not None:
            words += f" >= {self.min:g}"
        if self.unit:
            words += f" ({self.unit})"
        return words


LABEL_COLUMNS = ("arm", "prior_response")

PATIENTS = (
    Field("patient_id", "str", "Unique patient identifier (letters, digits, _ . -)"),
    Field("study", "str", "Study label"),
    Field("arm", "str", "Treatment arm (a label; a study with a study file: one of its arms)"),
    Field("sex", "str", "Sex", allowed=SEXES),
    Field("age", "float", "Age at baseline", "years", min=10, max=100),
    Field("isn_class", "str", "ISN/RPS class of the kidney biopsy", required=False, allowed=ISN_CLASSES),
    Field("induction", "str", "Induction regimen", required=False),
    Field("maintenance", "str", "Maintenance regimen ('+' joins drugs)", required=False),
    Field("prior_response", "str", "Group by the course before baseline, e.g. partial or no response to "
          "prior induction, or a flare after a complete response (a label; a study with a study file: one of its "
          "subgroups)", required=False),
    Field("last_followup_day", "int", "Last day observed (censoring)", "days since baseline", min=0, max=20000),
    Field("disease_duration_months", "float", "Time from the diagnosis of lupus nephritis to baseline (0 for a "
          "first episode); the column may be left out", "months", required=False, min=0, max=1200, may_be_absent=True),
    Field("weight_kg", "float", "Body weight at baseline (for the Cockcroft-Gault creatinine clearance); the column "
          "may be left out", "kg",
          required=False, min=20, max=300, may_be_absent=True),
    Field("active_sediment", "str", "Active urinary sediment at baseline (haematuria, pyuria or cellular casts, as "
          "the study defines it); the column may be left out", required=False, allowed=YES_NO, may_be_absent=True),
    Field("active_serology", "str", "Active serology at baseline (low complement or raised anti-dsDNA, as the study "
          "defines it); the column may be left out", required=False, allowed=YES_NO, may_be_absent=True),
)

LAB_FIELDS = (
    Field("patient_id", "str", "Patient identifier, as in patients.csv"),
    Field("day", "int", "Day of the visit", "days since baseline", min=0, max=20000),
    Field("upcr_g_g", "float", "Urine protein/creatinine ratio", "g/g", required=False, min=0, max=50),
    Field("creatinine_mg_dl", "float", "Serum creatinine", "mg/dL", required=False, min=0.1, max=20),
    Field("egfr", "float", "Estimated GFR", "mL/min/1.73 m²", required=False, min=1, max=200),
    Field("albumin_g_dl", "float", "Serum albumin", "g/dL", required=False, min=0.5, max=7),
    Field("c3_mg_dl", "float", "Complement C3", "mg/dL", required=False, min=0, max=400),
    Field("c4_mg_dl", "float", "Complement C4", "mg/dL", required=False, min=0, max=200),
    Field("anti_dsdna_iu_ml", "float", "Anti-dsDNA antibody", "IU/mL", required=False, min=0, max=10000),
    Field("proteinuria_g_day", "float", "24-hour urine protein (its own measure, never a UPCR); the column may be "
          "left out", "g/day", required=False, min=0, max=50,
          may_be_absent=True),
)

EVENTS = (
    Field("patient_id", "str", "Patient identifier, as in patients.csv"),
    Field("day", "int", "Day of the event", "days since baseline", min=0, max=20000),
    Field("event", "str", "Event type", allowed=EVENT_TYPES),
    Field("category", "str", "Adverse event category (required for adverse_event)", required=False),
)

FILES = {"patients.csv": PATIENTS, "labs.csv": LAB_FIELDS, "events.csv": EVENTS}
KEYS = {"patients.csv": ["patient_id"], "labs.csv": ["patient_id", "day"], "events.csv": None}
FORMATS = (".csv", ".xlsx", ".parquet")   # a table may be given as any one of these

# Dates instead of day numbers: a column of ISO dates (YYYY-MM-DD) may stand in for a day column;
# it is converted to days since the patient's baseline_date (patients.csv), which it then needs.
BASELINE_DATE = Field("baseline_date", "str", "Date of baseline (day 0), needed when dates are given",
                      "YYYY-MM-DD", required=False)
DATE_COLUMNS = {  # file -> {day column: (date column, description)}
    "patients.csv": {"last_followup_day": ("last_followup_date", "Last date observed")},
    "labs.csv": {"day": ("date", "Date of the visit")},
    "events.csv": {"day": ("date", "Date of the event")},
}


def _column(field: Field, optional: bool = False):
    import pandera.pandas as pa  # imported where a check is built: a valid cohort loads without pandera
    checks = []
    if field.allowed:
        checks.append(pa.Check.isin(field.allowed))
    if field.min is not None:
        checks.append(pa.Check.ge(field.min))
    if field.max is not None:
        checks.append(pa.Check.le(field.max))
    if pattern(field) is not None:
        checks.append(pa.Check.str_matches(pattern(field)))
    dtype = {"str": str, "int": "Int64", "float": float}[field.kind]
    return pa.Column(dtype, checks=checks, nullable=not field.required, coerce=False, required=not optional)


def pattern(field: Field) -> str | None:
    """The regular expression a text value of `field` must match, if any."""
    if field.name == "patient_id":
        return ID_PATTERN
    if field.name in LABEL_COLUMNS:
        return LABEL_PATTERN
    return None


def dataframe_schema(filename: str, keys: bool = True):
    """The checks of one table (a pandera DataFrameSchema); `keys=False` leaves out the uniqueness of its
    keys (the loader checks them over the whole table, and the other checks a chunk of rows at a time). A
    column that may be absent need not be there."""
    import pandera.pandas as pa
    fields = FILES[filename]
    return pa.DataFrameSchema(
        {f.name: _column(f, f.may_be_absent) for f in fields},
        strict=True,
        ordered=False,
        unique=KEYS[filename] if keys else None,
        report_duplicates="all",
        name=filename,
    )
