"""A cohort crafted to leak, for the attack suite (tests/book/test_attacks.py): a tiny subgroup, a tiny
arm, a rare adverse event and unique free text, each planted with a token no real value contains."""
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
    return {"tokens": list(TOKENS.values()), "tiny_group": ("study_b", "none"), "tiny_arm": ("tiny", "small")}
