"""A hospital's cohort as hospitals export it, for the real-cohort book tests (tests/book/test_hospital_book.py):
80 patients of one study, `hospital_x`, in two arms named in the hospital's own words (`tac`, `other`), dates
instead of days, the labs as an Excel workbook beside CSV files, a column the format does not use (`ward`), three
deaths, and one lab row dated after its patient's death (LAB_AFTER_DEATH: the spreadsheet row to exclude).
Follow-up reaches two years and no further. A rule per patient decides the proteinuria course (no reconstruction
code involved)."""
from pathlib import Path

import pandas as pd

STUDY = "hospital_x"
PATIENTS = 80
ARMS = {"tac": 40, "other": 40}
TIMEPOINTS = {"6m": 182, "1y": 365, "2y": 730, "5y": 1826}   # 5 years: past every patient's follow-up
DEATHS = {"H007": 500, "H018": 600, "H033": 650}             # patient: day of death
LAB_AFTER_DEATH = ("H007", 520)                              # a lab dated 20 days after H007 died
COMPARE = {STUDY: {"study": "study_a", "arms": {"tac": "tacrolimus", "other": "no_tacrolimus"}}}


def write(folder: Path) -> dict:
    """Write the cohort into `folder` (patients.csv, labs.xlsx, events.csv); returns what the tests check:
    {'lab_row': the Excel row of the lab after death}."""
    patients, labs, events = [], [], []
    for i in range(PATIENTS):
        pid = f"H{i + 1:03d}"
        arm = "tac" if i % 2 == 0 else "other"
        base = pd.Timestamp("2017-03-01") + pd.Timedelta(days=5 * i)
        course = [2.5 + (i % 6) * 0.4, [0.3, 0.7, 1.6, 2.4][i % 4], [0.2, 0.4, 1.1, 2.6][(i + 1) % 4],
                  [0.2, 0.3, 0.8, 3.0][(i + 2) % 4]]
        days = [0, 178 + i % 9, 360 + i % 11, 728 + i % 6]
        last = DEATHS.get(pid, 760 if i % 8 else 420)       # every eighth patient leaves after about a year

        def date(day: int, base: pd.Timestamp = base) -> str:
            return (base + pd.Timedelta(days=day)).date().isoformat()
        patients.append({"patient_id": pid, "study": STUDY, "arm": arm, "sex": "F" if i % 7 else "M",
                         "age": 22 + i % 35, "isn_class": ["III", "IV", "V", "IV+V"][(i // 2) % 4],
                         "induction": "cyclophosphamide" if i % 3 else "mycophenolate",
                         "maintenance": "tacrolimus+mycophenolate" if arm == "tac" else "mycophenolate",
                         "prior_response": "", "baseline_date": date(0), "last_followup_date": date(last),
                         "ward": f"W{i % 3}"})
        for day, upcr in zip(days, course):
            if day <= last:
                labs.append({"patient_id": pid, "date": date(day), "upcr_g_g": upcr,
                             "creatinine_mg_dl": round(0.7 + (i % 5) * 0.1, 1), "egfr": 100 - i % 25,
                             "albumin_g_dl": 3.6, "c3_mg_dl": 85, "c4_mg_dl": 16, "anti_dsdna_iu_ml": ""})
        if pid == LAB_AFTER_DEATH[0]:
            labs.append({"patient_id": pid, "date": date(LAB_AFTER_DEATH[1]), "upcr_g_g": 0.4,
                         "creatinine_mg_dl": 0.9, "egfr": 90, "albumin_g_dl": 3.6, "c3_mg_dl": 85, "c4_mg_dl": 16,
                         "anti_dsdna_iu_ml": ""})
            lab_row = len(labs) + 1                          # the header is row 1
        if pid in DEATHS:
            events.append({"patient_id": pid, "date": date(DEATHS[pid]), "event": "death", "category": ""})
        if i % 6 == 1:
            events.append({"patient_id": pid, "date": date(240), "event": "adverse_event", "category": "infection"})
        if i % 9 == 4:
            events.append({"patient_id": pid, "date": date(300), "event": "renal_flare", "category": ""})
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(patients).to_csv(folder / "patients.csv", index=False)
    pd.DataFrame(labs).to_excel(folder / "labs.xlsx", index=False)
    pd.DataFrame(events).to_csv(folder / "events.csv", index=False)
    return {"lab_row": lab_row}
