"""The book's vocabulary: the words a reader sees for the codes the data use (arms, groups, timepoints,
outcomes, measures), and the lists of labs and outcomes every wing shares."""
from __future__ import annotations

ARMS = {"tacrolimus": "Tacrolimus", "no_tacrolimus": "No tacrolimus", "multitarget": "Multi-target"}
GROUPS = {"all": "All patients", "partial": "Partial response to induction", "none": "No response to induction",
          "flare": "Flare after complete response"}
OUTCOMES = {"CR": "Complete response", "PR": "Partial response", "overall": "Overall response (CR or PR)",
            "NR": "No response"}
EVENTS = {"renal_flare": "Renal flare", "poor_outcome": "End-stage renal disease or death",
          "esrd": "End-stage renal disease",
          "death": "Death", "adverse_event": "Adverse event"}
MEASURES = {"age": "Age (years)", "female": "Female sex", "upcr": "UPCR (g/g)",
            "creatinine": "Serum creatinine (mg/dL)",
            "egfr": "eGFR (mL/min/1.73 m²)", "albumin": "Serum albumin (g/dL)", "c3": "C3 (mg/dL)", "c4": "C4 (mg/dL)",
            "anti_dsdna": "Anti-dsDNA (IU/mL)", "induction": "Induction regimen", "isn_class": "ISN/RPS class",
            "proteinuria_24h": "24-hour urine protein (g/day)", "disease_duration": "Disease duration (months)",
            "isn_class_v": "ISN/RPS class V", "renal_sledai": "Renal SLEDAI",
            "induction_length": "Length of the induction before the switch", **EVENTS}
CATEGORIES = {"herpes_zoster": "Herpes zoster", "gastrointestinal": "Gastrointestinal"}
LAB_COLUMNS = {"upcr": "upcr_g_g", "creatinine": "creatinine_mg_dl", "egfr": "egfr", "albumin": "albumin_g_dl",
               "c3": "c3_mg_dl", "c4": "c4_mg_dl", "anti_dsdna": "anti_dsdna_iu_ml",
               "proteinuria_24h": "proteinuria_g_day"}   # lab measure -> column
RESPONSE_OUTCOMES = ("CR", "PR", "overall")   # the response outcomes a source publishes
POOR_OUTCOME = ("esrd", "death")   # the events of a poor outcome
DAYS_PER_MONTH = 365.25 / 12


def _words(code: str) -> str:
    """A label the book has no words for, readable: 'new_onset' -> 'New onset'."""
    text = str(code).replace("_", " ")
    return text[:1].upper() + text[1:]


def arm(code: str) -> str:
    return ARMS.get(code, _words(code))


def group(code: str) -> str:
    """A group code ('partial', 'partial+none', an arm, 'all') in words."""
    if "+" in code:
        return " or ".join(group(part).lower() if i else group(part) for i, part in enumerate(code.split("+")))
    return GROUPS.get(code, ARMS.get(code, _words(code)))


def listed(words, last: str = "and") -> str:
    """'a, b and c' ('a or b' with last='or'); one word as it is; '' for none."""
    words = list(words)
    return ", ".join(words[:-1]) + f" {last} " + words[-1] if len(words) > 1 else "".join(words)


def in_sentence(text: str) -> str:
    """A label inside a sentence: its first letter lower-case, the rest as written ('Overall response (CR or
    PR)' -> 'overall response (CR or PR)'; never 'cr or pr')."""
    return text[:1].lower() + text[1:]


def measure(code: str) -> str:
    """A measure code ('upcr', 'tacrolimus_monotherapy') in words."""
    return MEASURES.get(code, _words(code))


def category(code: str) -> str:
    """An adverse-event category in words ('herpes_zoster' -> 'Herpes zoster')."""
    return CATEGORIES.get(code, code.replace("_", " ").capitalize())


def months(days: float) -> float:
    return days / DAYS_PER_MONTH


def timepoint(name: str, day: int) -> str:
    """'6 months', '1 year', '5 years', '24 weeks' from the nominal day (the name is the fallback)."""
    month = months(day)
    if abs(month - round(month)) < 0.1:
        m = round(month)
        if m % 12 == 0:
            return f"{m // 12} year" + ("s" if m > 12 else "")
        return f"{m} months"
    if day % 7 == 0:
        return f"{day // 7} weeks"
    return name
