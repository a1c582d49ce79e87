"""The cohort loader: a valid folder loads with the declared dtypes; every kind of
malformed input raises DataError naming file, line, column and what was expected,
and no input file is ever modified."""
from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from helpers.cohort import schema
from helpers.cohort.data import Cohort, DataError, load

# --------------------------------------------------------------------------- helpers

def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by relative path (also catches new/removed files)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read_lines(folder: Path, name: str) -> list[str]:
    return (folder / name).read_text(encoding="utf-8").split("\n")  # last item "" (final newline)


def write_lines(folder: Path, name: str, lines: list[str]) -> None:
    (folder / name).write_text("\n".join(lines), encoding="utf-8", newline="")


def set_cell(name: str, line: int, column: str, value: str) -> Callable[[Path], None]:
    """Mutation: put `value` (raw CSV text) in `column` of `line` (header = line 1)."""
    def mutate(folder: Path) -> None:
        lines = read_lines(folder, name)
        header = lines[0].split(",")
        cells = lines[line - 1].split(",")
        cells[header.index(column)] = value
        lines[line - 1] = ",".join(cells)
        write_lines(folder, name, lines)
    return mutate


def in_study_a(line: int, column: str, value: str) -> Callable[[Path], None]:
    """Mutation: the patient of `line` belongs to study_a (which has a study file) and has `value` in `column`."""
    def mutate(folder: Path) -> None:
        set_cell("patients.csv", line, "study", "study_a")(folder)
        set_cell("patients.csv", line, "arm", "tacrolimus")(folder)
        set_cell("patients.csv", line, "prior_response", "")(folder)
        set_cell("patients.csv", line, column, value)(folder)
    return mutate


def edit_lines(name: str, edit: Callable[[list[str]], None]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        lines = read_lines(folder, name)
        edit(lines)
        write_lines(folder, name, lines)
    return mutate


def edit_bytes(name: str, edit: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        (folder / name).write_bytes(edit((folder / name).read_bytes()))
    return mutate


def drop_column(name: str, column: str) -> Callable[[Path], None]:
    def edit(lines: list[str]) -> None:
        j = lines[0].split(",").index(column)
        for i, text in enumerate(lines):
            if text:
                cells = text.split(",")
                del cells[j]
                lines[i] = ",".join(cells)
    return edit_lines(name, edit)


def add_column(name: str, column: str, value: str) -> Callable[[Path], None]:
    def edit(lines: list[str]) -> None:
        for i, text in enumerate(lines):
            if text:
                lines[i] = text + "," + (column if i == 0 else value)
    return edit_lines(name, edit)


def last_line(name: str) -> Callable[[Path], int]:
    """Expected line: the last non-empty line of `name` (after the mutation)."""
    def number(folder: Path) -> int:
        return len((folder / name).read_bytes().rstrip(b"\n").split(b"\n"))
    return number


# --------------------------------------------------------------------------- the valid cohort

def test_valid_cohort_loads_with_declared_dtypes(valid_cohort: Path):
    before = snapshot(valid_cohort)
    cohort = load(valid_cohort)
    assert isinstance(cohort, Cohort)
    assert len(cohort.patients) == 3 and len(cohort.labs) == 6 and len(cohort.events) == 2

    assert pd.api.types.is_float_dtype(cohort.patients["age"])
    assert pd.api.types.is_integer_dtype(cohort.patients["last_followup_day"])
    assert pd.api.types.is_integer_dtype(cohort.labs["day"])
    assert pd.api.types.is_integer_dtype(cohort.events["day"])
    assert pd.api.types.is_float_dtype(cohort.labs["upcr_g_g"])
    assert cohort.patients["age"].tolist() == [31.5, 44.0, 27.0]
    assert cohort.labs["anti_dsdna_iu_ml"].isna().sum() == 2  # empty optional cells become NaN
    assert cohort.labs.attrs["lines"] == [2, 3, 4, 5, 6, 7]

    assert snapshot(valid_cohort) == before  # nothing written, created or removed


@pytest.mark.parametrize("variant", [
    pytest.param(edit_bytes("labs.csv", lambda b: b.replace(b"\n", b"\r\n")), id="crlf-line-endings"),
    pytest.param(edit_bytes("labs.csv", lambda b: b.rstrip(b"\n")), id="no-final-newline"),
    pytest.param(edit_bytes("events.csv", lambda b: b + b"\n\n"), id="trailing-blank-lines"),
])
def test_harmless_variants_still_load(valid_cohort: Path, variant):
    variant(valid_cohort)
    before = snapshot(valid_cohort)
    cohort = load(valid_cohort)
    assert len(cohort.labs) == 6 and len(cohort.events) == 2
    assert snapshot(valid_cohort) == before


# --------------------------------------------------------------------------- malformed inputs

@dataclass(frozen=True)
class Case:
    mutate: Callable[[Path], None]
    file: str  # the name the message must contain
    line: int | None | Callable[[Path], int]  # None: a whole-file problem
    column: str | None
    phrase: str  # says what was expected


def _remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def _header_only(name: str) -> Callable[[Path], None]:
    return edit_lines(name, lambda lines: lines.__setitem__(slice(1, None), [""]))


def _duplicate_line(name: str, line: int) -> Callable[[Path], None]:
    return edit_lines(name, lambda lines: lines.insert(-1, lines[line - 1]))


def _truncate_last_line(name: str, keep_fields: int) -> Callable[[Path], None]:
    def edit(lines: list[str]) -> None:
        lines.pop()  # the "" after the final newline: the file now ends mid-row, as if cut off
        lines[-1] = ",".join(lines[-1].split(",")[:keep_fields])
    return edit_lines(name, edit)


def _blank_line_then(name: str, after: int, then: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        then(folder)
        edit_lines(name, lambda lines: lines.insert(after, ""))(folder)
    return mutate


def _crlf_then(name: str, then: Callable[[Path], None]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        then(folder)
        edit_bytes(name, lambda b: b.replace(b"\n", b"\r\n"))(folder)
    return mutate


NUMBER_UPCR = "is not a number from 0 to 50 (g/g)"
WHOLE_DAY = "is not a whole number from 0 to 20000 (days since baseline)"
BAD_FIELDS = ("expected 9 (patient_id,day,upcr_g_g,creatinine_mg_dl,egfr,albumin_g_dl,c3_mg_dl,c4_mg_dl,"
              "anti_dsdna_iu_ml)")

CASES = {
    # header
    "missing-column": Case(drop_column("labs.csv", "upcr_g_g"), "labs.csv", 1, "upcr_g_g",
                           "required column missing; expected columns: patient_id,day,upcr_g_g,"),
    "duplicated-column": Case(edit_lines("events.csv", lambda ls: ls.__setitem__(0, ls[0] + ",day")),
                              "events.csv", 1, "day", "column appears more than once"),
    # cell types and ranges
    "text-in-age": Case(set_cell("patients.csv", 2, "age", "thirty"), "patients.csv", 2, "age",
                        "'thirty' is not a number from 10 to 100 (years)"),
    "decimal-comma-quoted": Case(set_cell("labs.csv", 2, "upcr_g_g", '"1,2"'), "labs.csv", 2, "upcr_g_g",
                                 "'1,2' " + NUMBER_UPCR),
    "decimal-comma-unquoted": Case(set_cell("labs.csv", 2, "upcr_g_g", "1,2"), "labs.csv", 2, None,
                                   "has 10 fields, " + BAD_FIELDS),
    "abc-in-upcr": Case(set_cell("labs.csv", 3, "upcr_g_g", "abc"), "labs.csv", 3, "upcr_g_g",
                        "'abc' " + NUMBER_UPCR),
    "nan-in-upcr": Case(set_cell("labs.csv", 4, "upcr_g_g", "NaN"), "labs.csv", 4, "upcr_g_g",
                        "'NaN' " + NUMBER_UPCR),
    "negative-lab-value": Case(set_cell("labs.csv", 4, "c3_mg_dl", "-1"), "labs.csv", 4, "c3_mg_dl",
                               "is not a number from 0 to 400 (mg/dL)"),
    "impossible-egfr": Case(set_cell("labs.csv", 2, "egfr", "900"), "labs.csv", 2, "egfr",
                            "is not a number from 1 to 200 (mL/min/1.73 m²)"),
    "unknown-arm": Case(in_study_a(3, "arm", "placebo"), "patients.csv", 3, "arm",
                        "'placebo' is not an arm of study_a (tacrolimus, no_tacrolimus)"),
    "arm-with-space": Case(set_cell("patients.csv", 3, "arm", "no tacrolimus"), "patients.csv", 3, "arm",
                           "'no tacrolimus' is not a label of 1 to 64 letters, digits, _ + . -"),
    "unknown-group": Case(in_study_a(3, "prior_response", "partial"), "patients.csv", 3,
                          "prior_response", "'partial' is not a subgroup of study_a (it has none)"),
    "unknown-isn-class": Case(set_cell("patients.csv", 4, "isn_class", "VII"), "patients.csv", 4, "isn_class",
                              "'VII' is not one of I, II, III, IV, V, VI, III+V, IV+V"),
    "empty-sex": Case(set_cell("patients.csv", 4, "sex", ""), "patients.csv", 4, "sex",
                      "is empty; expected one of F, M"),
    "blank-sex": Case(set_cell("patients.csv", 4, "sex", "   "), "patients.csv", 4, "sex",
                      "is empty; expected one of F, M"),
    "empty-patient-id": Case(set_cell("labs.csv", 5, "patient_id", ""), "labs.csv", 5, "patient_id",
                             "is empty; expected an identifier of 1 to 64 letters, digits"),
    "patient-id-with-space": Case(set_cell("patients.csv", 4, "patient_id", "P 3"), "patients.csv", 4,
                                  "patient_id", "'P 3' is not an identifier of 1 to 64 letters, digits"),
    "nul-in-patient-id": Case(set_cell("labs.csv", 7, "patient_id", "P03\x00"), "labs.csv", 7, "patient_id",
                              "'P03\\x00' is not an identifier"),
    # days
    "negative-day": Case(set_cell("labs.csv", 3, "day", "-5"), "labs.csv", 3, "day", "'-5' " + WHOLE_DAY),
    "date-in-day": Case(set_cell("labs.csv", 3, "day", "2021-03-04"), "labs.csv", 3, "day",
                        "'2021-03-04' " + WHOLE_DAY),
    "fractional-day": Case(set_cell("labs.csv", 3, "day", "12.5"), "labs.csv", 3, "day", "'12.5' " + WHOLE_DAY),
    "day-1e30": Case(set_cell("events.csv", 2, "day", "1e30"), "events.csv", 2, "day", "'1e30' " + WHOLE_DAY),
    "huge-followup": Case(set_cell("patients.csv", 3, "last_followup_day", "9" * 23), "patients.csv", 3,
                          "last_followup_day", WHOLE_DAY),
    # keys and cross-file checks
    "duplicate-patient-id": Case(set_cell("patients.csv", 3, "patient_id", "P01"), "patients.csv", 3,
                                 "patient_id", "duplicate patient_id: each must appear once"),
    "duplicate-lab-visit": Case(_duplicate_line("labs.csv", 3), "labs.csv", last_line("labs.csv"),
                                "patient_id, day", "duplicate patient_id + day: each must appear once"),
    "labs-of-unknown-patient": Case(set_cell("labs.csv", 7, "patient_id", "P99"), "labs.csv", 7, "patient_id",
                                    "patient 'P99' is not in patients.csv"),
    "event-of-unknown-patient": Case(set_cell("events.csv", 2, "patient_id", "P99"), "events.csv", 2,
                                     "patient_id", "patient 'P99' is not in patients.csv"),
    "lab-after-followup": Case(set_cell("labs.csv", 2, "day", "20000"), "labs.csv", 2, "day",
                               "day 20000 is after the patient's last_followup_day"),
    "event-after-followup": Case(set_cell("events.csv", 3, "day", "20000"), "events.csv", 3, "day",
                                 "day 20000 is after the patient's last_followup_day"),
    "adverse-event-without-category": Case(set_cell("events.csv", 3, "category", ""), "events.csv", 3,
                                           "category", "is empty; an adverse_event needs its category"),
    # whole files, bytes and lines
    "empty-file": Case(edit_bytes("events.csv", lambda b: b""), "events.csv", None, None,
                       "file is empty; expected a header line: patient_id,day,event,category"),
    "whitespace-only-file": Case(edit_bytes("events.csv", lambda b: b" \n\n"), "events.csv", None, None,
                                 "file is empty; expected a header line"),
    "header-only-file": Case(_header_only("labs.csv"), "labs.csv", None, None, "has a header but no data rows"),
    "latin-1-byte": Case(edit_bytes("patients.csv", lambda b: b.replace(b"P03,demo", "P03,d\xe9mo".encode("latin-1"))),
                         "patients.csv", 4, None, "byte 0xe9 is not UTF-8; save the file as UTF-8"),
    "byte-order-mark": Case(edit_bytes("labs.csv", lambda b: b"\xef\xbb\xbf" + b), "labs.csv", 1, None,
                            "byte-order mark (BOM); save as UTF-8 without BOM"),
    "truncated-last-line": Case(_truncate_last_line("labs.csv", 7), "labs.csv", 7, None,
                                "has 7 fields, " + BAD_FIELDS + ", and the file ends here without a final newline: "
                                "the file looks cut off (truncated)"),
    "unclosed-quote": Case(set_cell("labs.csv", 7, "patient_id", '"P03'), "labs.csv", 7, None,
                           "is not valid CSV"),
    "enormous-line": Case(set_cell("events.csv", 3, "category", "x" * 20_000), "events.csv", 3, None,
                          "characters long (at most 10,000)"),
    "missing-file": Case(_remove("events.csv"), "events.csv", None, None, "file not found"),
    "missing-folder": Case(shutil.rmtree, "cohort", None, None,
                           "is not a folder with patients.csv, labs.csv, events.csv"),
    # line numbers stay right around blank lines and CRLF endings
    "blank-line-before-bad-cell": Case(_blank_line_then("labs.csv", 2, set_cell("labs.csv", 3, "egfr", "x")),
                                       "labs.csv", 4, "egfr", "'x' is not a number from 1 to 200"),
    "crlf-bad-cell": Case(_crlf_then("labs.csv", set_cell("labs.csv", 6, "day", "soon")), "labs.csv", 6, "day",
                          "'soon' " + WHOLE_DAY),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_malformed_input_is_rejected_clearly(valid_cohort: Path, case: Case):
    root = valid_cohort.parent
    case.mutate(valid_cohort)
    before = snapshot(root)

    with pytest.raises(DataError) as info:
        load(valid_cohort)

    err = info.value
    line = case.line(valid_cohort) if callable(case.line) else case.line
    matching = [p for p in err.problems
                if Path(p.file).name == case.file and p.line == line and p.column == case.column
                and case.phrase in p.message]
    assert matching, f"no problem like {case} (line {line}) in:\n{err}"

    # the rendered message carries the same facts, as "FILE, line N, column 'C': message"
    text = str(err)
    assert str(matching[0]) in text.splitlines()
    assert case.file in text and case.phrase in text
    if line is not None:
        assert f", line {line}" in str(matching[0])
    if case.column is not None:
        assert f"column '{case.column}'" in str(matching[0])

    assert snapshot(root) == before  # the loader never writes, creates or removes a file


def test_duplicate_patient_id_names_both_lines(valid_cohort: Path):
    set_cell("patients.csv", 3, "patient_id", "P01")(valid_cohort)
    with pytest.raises(DataError) as info:
        load(valid_cohort)
    assert sorted(p.line for p in info.value.problems) == [2, 3]


def test_problems_of_all_files_are_reported_together(valid_cohort: Path):
    set_cell("patients.csv", 2, "age", "old")(valid_cohort)
    _remove("events.csv")(valid_cohort)
    with pytest.raises(DataError) as info:
        load(valid_cohort)
    assert {Path(p.file).name for p in info.value.problems} == {"patients.csv", "events.csv"}


def test_corpus_is_large_enough():
    assert len(CASES) >= 15


def test_header_only_events_is_a_cohort_without_events(valid_cohort: Path):
    _header_only("events.csv")(valid_cohort)
    cohort = load(valid_cohort)
    assert cohort.events.empty
    assert list(cohort.events.columns) == [f.name for f in schema.EVENTS]


# --------------------------------------------------------------------------- the data hospitals have

def test_extra_columns_are_kept_out_and_reported(valid_cohort: Path):
    add_column("labs.csv", "hba1c", "5.5")(valid_cohort)
    cohort = load(valid_cohort)
    assert "hba1c" not in cohort.labs.columns
    assert any("hba1c" in note and "not used" in note for note in cohort.notes)


def _with_dates(folder: Path) -> None:
    """The valid cohort with a baseline date per patient and dates instead of day numbers."""
    patients = pd.read_csv(folder / "patients.csv", dtype=str, keep_default_na=False)
    start = {"P01": "2019-11-07", "P02": "2020-01-31", "P03": "2021-06-01"}
    patients["baseline_date"] = patients["patient_id"].map(start)
    patients["last_followup_date"] = [
        (pd.Timestamp(start[p]) + pd.Timedelta(days=int(d))).date().isoformat()
        for p, d in zip(patients["patient_id"], patients.pop("last_followup_day"))]
    patients.to_csv(folder / "patients.csv", index=False, lineterminator="\n")
    for name in ("labs.csv", "events.csv"):
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        frame["date"] = [(pd.Timestamp(start[p]) + pd.Timedelta(days=int(d))).date().isoformat()
                         for p, d in zip(frame["patient_id"], frame.pop("day"))]
        frame.to_csv(folder / name, index=False, lineterminator="\n")


def test_dates_become_days_since_the_baseline_date(valid_cohort: Path, tmp_path: Path):
    expected = load(valid_cohort)
    _with_dates(valid_cohort)
    cohort = load(valid_cohort)
    assert cohort.labs["day"].tolist() == expected.labs["day"].tolist()
    assert cohort.events["day"].tolist() == expected.events["day"].tolist()
    assert cohort.patients["last_followup_day"].tolist() == expected.patients["last_followup_day"].tolist()


@pytest.mark.parametrize("edit,phrase", [
    (set_cell("labs.csv", 2, "date", "07/11/2019"), "'07/11/2019' is not a date (YYYY-MM-DD)"),
    (set_cell("labs.csv", 2, "date", "2019-11-01"), "is before the patient's baseline_date (2019-11-07)"),
    (set_cell("patients.csv", 2, "baseline_date", ""), "has no baseline_date"),
])
def test_bad_dates_are_named(valid_cohort: Path, edit, phrase):
    _with_dates(valid_cohort)
    edit(valid_cohort)
    with pytest.raises(DataError) as info:
        load(valid_cohort)
    assert any(phrase in p.message for p in info.value.problems), str(info.value)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_excel_and_parquet_load_like_csv(valid_cohort: Path, suffix):
    expected = load(valid_cohort)
    for name in ("patients", "labs", "events"):
        frame = pd.read_csv(valid_cohort / f"{name}.csv", dtype=str, keep_default_na=False)
        (valid_cohort / f"{name}.csv").unlink()
        if suffix == ".xlsx":
            frame.to_excel(valid_cohort / f"{name}.xlsx", index=False)
        else:
            frame.replace("", None).to_parquet(valid_cohort / f"{name}.parquet", index=False)
    cohort = load(valid_cohort)
    for name in ("patients", "labs", "events"):
        pd.testing.assert_frame_equal(getattr(cohort, name), getattr(expected, name))
    (valid_cohort / f"labs{suffix}").unlink()
    with pytest.raises(DataError, match="labs.csv: file not found"):
        load(valid_cohort)


def test_every_problem_in_one_pass(valid_cohort: Path):
    set_cell("patients.csv", 2, "age", "thirty")(valid_cohort)
    set_cell("labs.csv", 3, "upcr_g_g", "abc")(valid_cohort)
    set_cell("events.csv", 2, "event", "fell")(valid_cohort)
    with pytest.raises(DataError) as info:
        load(valid_cohort)
    files = {Path(p.file).name for p in info.value.problems}
    assert files == {"patients.csv", "labs.csv", "events.csv"}


def test_nothing_after_death_and_arms_belong_to_their_study(valid_cohort: Path):
    edit_lines("events.csv", lambda ls: ls.insert(-1, "P01,100,death,"))(valid_cohort)   # P01 has labs at 180
    set_cell("patients.csv", 2, "study", "study_a")(valid_cohort)
    set_cell("patients.csv", 2, "arm", "multitarget")(valid_cohort)
    with pytest.raises(DataError) as info:
        load(valid_cohort)
    messages = [str(p) for p in info.value.problems]
    assert any("labs.csv, line 4, column 'day': day 180 is after the patient's death (day 100)" in m for m in messages)
    assert any("'multitarget' is not an arm of study_a (tacrolimus, no_tacrolimus)" in m for m in messages)


@pytest.mark.parametrize("text", ["1_200", "１２", "0x10"])
def test_numbers_are_plain_ascii(valid_cohort: Path, text):
    set_cell("labs.csv", 2, "upcr_g_g", text)(valid_cohort)
    with pytest.raises(DataError, match="is not a number"):
        load(valid_cohort)


def test_a_folder_named_like_a_table_is_said_to_be_a_folder(valid_cohort: Path):
    (valid_cohort / "labs.csv").unlink()
    (valid_cohort / "labs.csv").mkdir()
    with pytest.raises(DataError, match="labs.csv: is a directory, not a file"):
        load(valid_cohort)


def test_columns_added_to_the_format_may_be_left_out_or_given(valid_cohort):
    """Disease duration, weight, sediment and serology (patients) and 24-hour urine protein (labs) may be
    absent from a table written before them; given, each is checked like any column."""
    absent = load(valid_cohort)
    assert "weight_kg" not in absent.patients and "proteinuria_g_day" not in absent.labs
    path = valid_cohort / "patients.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] += ",weight_kg,active_sediment"
    lines[1:] = [line + extra for line, extra in zip(lines[1:], [",61.5,yes", ",,no", ",70,"])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    given = load(valid_cohort)
    assert given.patients["weight_kg"].tolist()[0] == 61.5 and given.patients["active_sediment"].tolist()[:2] == \
        ["yes", "no"]
    lines[2] = lines[2].replace(",,no", ",,maybe")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load(valid_cohort)
    assert "active_sediment" in str(err.value) and "'maybe' is not one of yes, no" in str(err.value)
