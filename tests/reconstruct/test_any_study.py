"""Any lupus nephritis study from its study file alone: published studies of other shapes (tests/fixtures:
BLISS-LN, Rituxilup, a Korean cohort; study_e, invented, for what they do not print), reconstructed and
checked with no code change; every missing assumption said at once; nothing a numpy error."""
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import cli
from helpers.chapters import check
from helpers.cohort import data, schema
from helpers.paths import REPO_ROOT
from helpers.publication import published, targets
from helpers.reconstruct import builder

FIXTURES = REPO_ROOT / "tests" / "fixtures"


def load(name: str) -> published.Study:
    return published.load(name, FIXTURES)


def built(name, tmp_path: Path):
    """The study's reconstruction (a fixture's name, or a study file) written and read back as a cohort (the
    loader's checks), and its check table."""
    pub = load(name) if isinstance(name, str) else name
    tables = builder.build(pub)
    folder = tmp_path / pub.study
    folder.mkdir(parents=True)
    for file, fields in schema.FILES.items():
        frame = tables[file][[f.name for f in fields if not f.may_be_absent or f.name in tables[file]]]
        frame.to_csv(folder / file, index=False, lineterminator="\n")
    cohort = data.load(folder)
    return pub, cohort, check.check(pub, cohort).set_index("id")


def by_role(table: pd.DataFrame) -> dict:
    numbers = table[table["says"].astype(str) == ""]
    return {role: (int((rows["status"] == "reproduced").sum()), len(rows)) for role, rows in numbers.groupby("role")}


def test_rituxilup_grades_in_mg_mmol_counts_and_relapses_as_events(tmp_path):
    pub, cohort, table = built("rituxilup", tmp_path)
    assert by_role(table) == {"target": (7, 7), "not_expressible": (0, 10)}
    assert table.loc["relapses", "from_rows"] == "12 events in 50 patients"
    flares = cohort.events[cohort.events["event"] == "renal_flare"]
    assert len(flares) == 12 and flares["patient_id"].nunique() == 11 and (flares["day"] > 364 + 45).all()
    assert table.loc["cr_52w_n", "recomputed"] == 26 and table.loc["pr_52w_pct", "recomputed"] == 34
    assert "best response at any time" in table.loc["responders_ever_n", "reason"]
    assert "published numbers: 17; expressed in the rows: 7, of which reproduced 7" in cli.expressed_text(
        table.reset_index())


def test_a_cohort_published_as_class_shares_and_no_response(tmp_path):
    pub, cohort, table = built("korea_ln_cohort", tmp_path)
    assert by_role(table) == {"target": (14, 14), "not_expressible": (0, 9)}
    assert cohort.patients["isn_class"].value_counts().to_dict() == {"IV": 33, "III": 15, "III+V": 12, "IV+V": 9,
                                                                    "V": 6}
    assert targets.category_counts(pub, "isn_class") == {"III": 15, "IV": 33, "III+V": 12, "IV+V": 9, "V": 6}
    assert table.loc["nr_12m", "from_rows"] == "19/75" and table.loc["female_n", "recomputed"] == 68


def test_three_arms_si_units_thresholds_and_effects(tmp_path):
    pub, cohort, table = built("study_e", tmp_path)
    roles = by_role(table)
    assert roles["target"] == (16, 16) and roles["check"][1] == 9 and "not_expressible" not in roles
    assert table.loc["upcr_mean", "recomputed"] == pytest.approx(310, abs=0.5)       # fitted in mg/mmol
    assert table.loc["p_all_arms", "test"] == "Pearson chi-square, all arms"
    assert table.loc["infections_events", "from_rows"] == "14 events in 90 patients"
    for id in ("albumin_median", "creatinine_q3", "egfr_below_60", "egfr_2021_mean", "clearance_mean", "class_iii_iv"):
        assert table.loc[id, "recomputed"] == table.loc[id, "recomputed"], id          # computed, not missing
    assert {"disease_duration_months", "weight_kg"} <= set(cohort.patients.columns)


@pytest.mark.slow   # the p-value search over 224-patient arms takes seconds the first time
def test_a_randomized_trial_with_its_own_grades_and_effect_sizes(tmp_path):
    pub, cohort, table = built("bliss_ln", tmp_path)
    roles = by_role(table)
    assert roles["target"] == (7, 7) and roles["not_expressible"] == (0, 4) and roles["check"][1] == 8
    assert table.loc["perr_or", "status"] == "reproduced" and table.loc["crr_or", "status"] == "reproduced"
    assert "model" in table.loc["perr_or_low", "reason"]            # the crude CI is not the source's
    assert "renal-related event" in table.loc["renal_event_hr", "reason"]


def test_the_same_study_file_gives_the_same_rows():
    first, second = builder.build(load("rituxilup")), builder.build(load("rituxilup"))
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


# --- what a study file lacks, said at once --------------------------------------------------------

def _variant(tmp_path, name: str, change) -> published.Study:
    """Fixture `name` after `change(raw)`, as a study file in tmp_path."""
    raw = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))
    change(raw)
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    published.load.cache_clear()
    return published.load(name, tmp_path)


MISSING = ("female_fraction", "age", "isn_class", "induction", "maintenance")


def test_every_missing_assumption_at_once(tmp_path):
    pub = _variant(tmp_path, "rituxilup", lambda raw: raw.update(
        assumptions=[a for a in raw["assumptions"] if a["id"] not in MISSING]))
    found = builder.requirements(pub)
    assert len(found) == 5 and all(any(f"no assumption '{m}'" in line for line in found) for m in MISSING), found
    with pytest.raises(builder.StudyFileError) as err:
        builder.build(pub)
    assert str(err.value).startswith("rituxilup.yaml: 5 problem(s), each with what to add:")


def test_more_adverse_events_than_patients_is_said_in_words(tmp_path):
    pub = _variant(tmp_path, "rituxilup", lambda raw: raw["assumptions"].append(
        {"id": "adverse_events", "what": "too many", "value": {"infection": 60, "rash": {"patients": 5, "events": 3}}}))
    found = builder.requirements(pub)
    assert "adverse event infection: 60 patients with one, 60 of them in rituxilup, which has 50 patients" in found
    assert "adverse event rash: 3 events in 5 patients: fewer events than patients" in found


def test_a_response_split_nobody_publishes_asks_for_its_assumption(tmp_path):
    def only_cr(raw):
        raw["numbers"] = [n for n in raw["numbers"] if n["id"] in ("n_total", "cr_52w_pct")]
    pub = _variant(tmp_path, "rituxilup", only_cr)
    found = builder.requirements(pub)
    assert any("add the assumption response_split with pr_share_of_not_cr" in line for line in found), found

    def with_split(raw):
        only_cr(raw)
        raw["assumptions"].append({"id": "response_split", "what": "assumed", "value": {"pr_share_of_not_cr": 0.5}})
    pub = _variant(tmp_path, "rituxilup", with_split)
    assert builder.requirements(pub) == []
    tables = builder.build(pub)
    assert len(tables["patients.csv"]) == 50


def test_timepoints_out_of_order_are_refused_in_words(tmp_path):
    with pytest.raises(published.PublishedError, match="timepoints: list them in the order of their days"):
        _variant(tmp_path, "study_e", lambda raw: raw.update(timepoints={"12m": 365, "6m": 182}))


def test_a_partial_response_against_a_definition_without_one(tmp_path):
    pub = _variant(tmp_path, "rituxilup", lambda raw: raw.update(response={"preset": "aurora_1"}, criteria=[]))
    found = builder.requirements(pub)
    assert found == ["number pr_52w_pct: a partial response, but the study's response definition has none "
                     "(partial_response: false)",
                     "number pr_52w_n: a partial response, but the study's response definition has none "
                     "(partial_response: false)"]


def test_a_study_whose_recorded_egfr_is_ckd_epi_2021(tmp_path):
    from helpers.cohort import renal
    def by_2021(raw):
        raw["reconstruction"].update(egfr_equation="ckd_epi_2021")
        mean = next(n for n in raw["numbers"] if n["id"] == "egfr_2021_mean")
        mean["quote"] = "eGFR (CKD-EPI 2021) 98 ± 24 mL/min/1.73 m²."
        raw["numbers"].append({**mean, "id": "egfr_2021_sd", "statistic": "sd", "value": 24})
    pub = _variant(tmp_path, "study_e", by_2021)
    _, cohort, table = built(pub, tmp_path / "out")
    assert table.loc["egfr_2021_sd", "status"] == "reproduced"
    assert table.loc["egfr_2021_mean", "role"] == "target" and table.loc["egfr_2021_mean", "status"] == "reproduced"
    base = cohort.labs[cohort.labs["day"] == 0].merge(cohort.patients, on="patient_id")
    again = renal.ckd_epi_2021(base["creatinine_mg_dl"], base["age"], base["sex"])
    assert (abs(base["egfr"] - again) <= 0.05 + 1e-9).all()                    # stored by the 2021 equation


def test_proteinuria_in_g_per_day_is_not_expressible_in_the_reconstruction_and_says_why(tmp_path):
    """Issue 19: a 24-hour urine protein (g/day) was an independent check with n = 0 and the reason 'the patient
    model and the assumptions give this value'; the reconstruction writes no such column, and says so. A real
    cohort that holds the column is still compared with it."""
    from helpers.compare import scorecard

    def in_g_per_day(raw):
        quote = "Proteinuria was 3.5 ± 2.0 g/day at baseline."
        raw["numbers"] += [{"id": f"prot_{s}", "source": "fixture", "measure": "proteinuria_24h", "group": "all",
                            "statistic": s, "timepoint": "baseline", "value": v, "decimals": 1, "unit": "g/day",
                            "quote": quote} for s, v in (("mean", 3.5), ("sd", 2.0))]
    pub = _variant(tmp_path, "single_arm", in_g_per_day)
    _, cohort, table = built(pub, tmp_path)
    for id in ("prot_mean", "prot_sd"):
        assert table.loc[id, "role"] == "not_expressible" and table.loc[id, "status"] == "not expressible", id
        assert "The reconstruction writes no 24-hour urine protein" in table.loc[id, "reason"]
    assert "proteinuria_g_day" not in cohort.labs.columns
    card = scorecard.build(pd.DataFrame(check.study_rows(pub, cohort)), [pub], reconstructed=False).set_index("id")
    assert card.loc["prot_mean", "role"] == "check"


def test_events_a_study_file_speaks_of_need_what_creates_them(tmp_path):
    """Issue 19: without the assumptions renal_flares and adverse_events, study A built with no flare and no
    adverse event, and 'no significant difference' passed as an independent check on 0/92 vs 0/87. Each is now a
    missing assumption, in the same one-pass list as the others."""
    raw = yaml.safe_load((REPO_ROOT / "data" / "published" / "study_a.yaml").read_text(encoding="utf-8"))
    dropped = ("renal_flares", "adverse_events", "poor_outcomes", "age", "female_fraction")
    raw["assumptions"] = [a for a in raw["assumptions"] if a["id"] not in dropped]
    (tmp_path / "study_a.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    published.load.cache_clear()
    found = builder.requirements(published.load("study_a", tmp_path))
    assert len(found) == 5 and all(any(f"no assumption '{m}'" in line for line in found) for m in dropped), found
    flares = next(line for line in found if "'renal_flares'" in line)
    assert "without it the rows hold no renal flares, yet the statement outcomes_similar speaks of them" in flares
    poor = next(line for line in found if "'poor_outcomes'" in line)
    assert "number poor_outcome_logrank_p, the statement outcomes_similar speak of them" in poor


def test_published_event_counts_need_no_assumption(tmp_path):
    """Adverse events of all patients by category, and renal flares of a study with one timepoint, are built from
    their published counts."""
    def infections(raw):
        quote = "Infections occurred in 12 patients (60 events)."
        raw["numbers"] += [{"id": "inf_pat", "source": "fixture", "measure": "adverse_event", "level": ["infection"],
                            "group": "all", "statistic": "count", "value": 12, "decimals": 0, "quote": quote}]
    assert builder.requirements(_variant(tmp_path, "single_arm", infections)) == []
    assert builder.requirements(load("rituxilup")) == []          # relapses: 12 events in 50 patients, one timepoint


def test_a_p_value_over_three_arms_whose_counts_are_published_says_what_they_allow(tmp_path):
    """Issue 19: the reason said 'The counts behind it are not published: the rows could give any p.' of a
    p-value over three arms whose counts are published; with counts, the p is fixed, so the check could not
    fail, and the reason says the range they allow."""
    three = "Complete response at 12 months: 5, 8 and 11 patients."
    raw = yaml.safe_load((FIXTURES / "single_arm.yaml").read_text(encoding="utf-8"))
    raw.update(study="three_arms", arms=["a", "b", "c"], numbers=[
        *({"id": f"n_{a}", "source": "fixture", "measure": "n_patients", "group": a, "statistic": "count",
           "value": 20, "decimals": 0, "quote": "Twenty patients per arm."} for a in "abc"),
        *({"id": f"cr_{a}", "source": "fixture", "measure": "response", "outcome": "CR", "timepoint": "12m",
           "group": a, "statistic": "count", "value": k, "decimals": 0, "quote": three}
          for a, k in zip("abc", (5, 8, 11))),
        {"id": "p3", "source": "fixture", "measure": "response", "outcome": "CR", "timepoint": "12m",
         "group": "a vs b vs c", "statistic": "p_value", "value": 0.15, "decimals": 2,
         "quote": "Complete response at 12 months: p = 0.15 across the arms."}])
    raw["assumptions"] = [a for a in raw["assumptions"] if a["id"] not in ("isn_class", "induction", "maintenance")]
    raw["assumptions"] += [{"id": "isn_class", "what": "assumed", "value": {"IV": 40, "III": 20}},
                           {"id": "induction", "what": "assumed", "value": {"mycophenolate": 60}},
                           {"id": "maintenance", "what": "assumed", "value": {"mycophenolate": 60}},
                           {"id": "response_split", "what": "assumed", "value": {"pr_share_of_not_cr": 0.5}}]
    (tmp_path / "three_arms.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                                              encoding="utf-8")
    published.load.cache_clear()
    _, _, table = built(published.load("three_arms", tmp_path), tmp_path)
    row = table.loc["p3"]
    assert row["role"] == "check" and row["status"] == "reproduced" and row["from_rows"] == "5/20 vs 8/20 vs 11/20"
    assert "not published" not in row["could_fail_why"], row["could_fail_why"]
    assert row["could_fail"] == "no" and "the Pearson chi-square p over all arms runs from 0.153 to 0.153, which " \
        "rounds to the published one always" in row["could_fail_why"]
