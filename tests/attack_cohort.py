"""A cohort crafted to leak, for the attack suite (tests/book/test_attacks.py): a tiny subgroup, a tiny
arm, a rare adverse event and unique free text, each planted with a token no real value contains; a lab
measured in two patients and another in three; a shown group of five that one patient dominates (age 95,
UPCR 42 among values near 2)."""
from pathlib import Path

import pandas as pd

from helpers.paths import RECONSTRUCTED_DIR

TOKENS = {"induction": "ZQSMITHJOHN", "category": "ZQRAREEVENT", "maintenance": "ZQWARDNOTE"}
FILES = ("patients.csv", "labs.csv", "events.csv")


def _read(study: str) -> dict[str, pd.DataFrame]:
    return {name.removesuffix(".csv"): pd.read_csv(RECONSTRUCTED_DIR / study / name, dtype=str, keep_default_na=False)
            for name in FILES}


def _write(frames: dict[str, pd.DataFrame], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")


def craft(root: Path) -> dict:
    """Write the cohort under root (one sub-folder per study) and return what was planted."""
    a = _read("study_a")
    first = a["patients"]["patient_id"].iloc[0]
    a["patients"].loc[a["patients"]["patient_id"] == first, "induction"] = TOKENS["induction"]
    a["patients"].loc[a["patients"].index[1], "maintenance"] = TOKENS["maintenance"]
    rare = pd.DataFrame([{"patient_id": first, "day": "200", "event": "adverse_event", "category": TOKENS["category"]}])
    a["events"] = pd.concat([a["events"], rare], ignore_index=True)
    ids = a["patients"]["patient_id"].tolist()
    a["labs"].loc[~a["labs"]["patient_id"].isin(ids[:2]), "c4_mg_dl"] = ""          # C4 measured in 2 patients
    a["labs"].loc[~a["labs"]["patient_id"].isin(ids[2:5]), "anti_dsdna_iu_ml"] = ""  # anti-dsDNA in 3
    _write(a, root / "study_a")

    b = _read("study_b")
    none = b["patients"].index[b["patients"]["prior_response"] == "none"]
    b["patients"].loc[none[2:], "prior_response"] = "partial"        # two patients left in 'none'
    _write(b, root / "study_b")

    t = _read("study_a")
    keep = t["patients"]["patient_id"].iloc[:43].tolist()
    t = {name: frame[frame["patient_id"].isin(keep)].copy() for name, frame in t.items()}
    t["patients"]["study"] = "tiny"
    t["patients"]["arm"] = ["big"] * 40 + ["small"] * 3                # an arm of three patients
    for frame in t.values():
        frame["patient_id"] = "T" + frame["patient_id"]
    _write(t, root / "tiny")

    f = _read("study_a")                                                # a shown group of five, one patient dominant
    keep = f["patients"]["patient_id"].iloc[100:145].tolist()
    f = {name: frame[frame["patient_id"].isin(keep)].copy() for name, frame in f.items()}
    f["patients"]["study"], f["patients"]["arm"] = "five", "multitarget"
    f["patients"]["prior_response"] = ["partial"] * 20 + ["flare"] * 20 + ["none"] * 5
    outlier = keep[-1]
    f["patients"].loc[f["patients"]["patient_id"] == outlier, "age"] = "95"
    first_visit = f["labs"][f["labs"]["patient_id"] == outlier].index[0]
    f["labs"].loc[first_visit, "upcr_g_g"] = "42.0"
    for frame in f.values():
        frame["patient_id"] = "F" + frame["patient_id"]
    _write(f, root / "five")
    return {"tokens": list(TOKENS.values()), "tiny_group": ("study_b", "none"), "tiny_arm": ("tiny", "small"),
            "dominant": ("five", "none", "F" + outlier)}
