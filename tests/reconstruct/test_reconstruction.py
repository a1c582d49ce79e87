"""The reconstructed cohort: the published numbers reproduced from its rows, the same bytes on
every machine, patients that look like patients, and no treatment effect that no source reports.

Percentages and means/SDs are recomputed here with helpers.cohort.response and plain pandas,
independently of helpers.compare.scorecard.check.
"""
import concurrent.futures
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from helpers import paths, reconstruct
from helpers.chapters import check
from helpers.cohort import data, schema
from helpers.cohort.renal import egfr_tenths
from helpers.cohort.response import WINDOW, Criteria, baseline_labs, classify, summarise
from helpers.methods.proportions import compare_proportions
from helpers.paths import RECONSTRUCTED_DIR, REPO_ROOT
from helpers.publication import counts, published
from helpers.publication.consistency import rounds_to
from helpers.reconstruct import plan, realism

STUDIES = paths.studies()
LABS = ["upcr_g_g", "creatinine_mg_dl", "egfr", "albumin_g_dl", "c3_mg_dl", "c4_mg_dl", "anti_dsdna_iu_ml"]


@pytest.fixture(scope="module")
def cohorts():
    return {s: data.load(RECONSTRUCTED_DIR / s) for s in STUDIES}


def _targets(statistics):
    """The published numbers of these statistics the reconstruction aims at (neither set aside nor
    infeasible for any data)."""
    return [pytest.param(s, n, id=f"{s}:{n.id}") for s in STUDIES for n in published.load(s).targets()
            if n.statistic in statistics and n.id not in counts.infeasible(published.load(s))]


def _group_mask(frame, group, pub):
    if group == "all":
        return pd.Series(True, index=frame.index)
    parts = group.split("+")
    return frame["arm" if parts[0] in pub.arms else "prior_response"].isin(parts)


# --- the published numbers, from the rows -------------------------------------------------------

@pytest.mark.parametrize("study,number", _targets({"percent"}))
def test_published_percentage_is_reproduced_from_rows(cohorts, study, number):
    pub, cohort = published.load(study), cohorts[study]
    if number.measure == "response":
        rows = classify(cohort, pub.timepoints)
        rows = rows[(rows["timepoint"] == number.timepoint) & _group_mask(rows, number.group, pub)]
        evaluated = rows["response"].dropna()
        k = evaluated.isin({"CR": ["CR"], "PR": ["PR"], "overall": ["CR", "PR"]}[number.outcome]).sum()
        n = len(evaluated)
    else:
        group = cohort.patients[_group_mask(cohort.patients, number.group, pub)]
        hit = group["sex"].eq("F") if number.measure == "female" else group["maintenance"].eq("tacrolimus")
        k, n = hit.sum(), len(group)
    assert rounds_to(100 * k / n, number.value, number.decimals), f"{k}/{n} = {100 * k / n:.2f}%"


@pytest.mark.parametrize("study,number", _targets({"mean", "sd"}))
def test_published_mean_and_sd_are_reproduced_from_rows(cohorts, study, number):
    pub, cohort = published.load(study), cohorts[study]
    patients = cohort.patients[_group_mask(cohort.patients, number.group, pub)]
    if number.measure == "age":
        values = patients["age"]
    else:
        column = {"upcr": "upcr_g_g", "egfr": "egfr"}[number.measure]
        if number.timepoint == "baseline":
            values = baseline_labs(cohort.labs, WINDOW)[column].reindex(patients["patient_id"])
        else:
            rows = classify(cohort, pub.timepoints)
            values = rows.loc[(rows["timepoint"] == number.timepoint)
                              & rows["patient_id"].isin(patients["patient_id"]), column]
        values = values.dropna()
    got = values.mean() if number.statistic == "mean" else values.std(ddof=1)
    assert rounds_to(got, number.value, number.decimals), f"{got:.4f} (n = {len(values)})"


@pytest.mark.parametrize("study", STUDIES)
def test_every_target_is_reproduced_and_every_difference_explained(cohorts, study):
    pub = published.load(study)
    table = check.check(pub, cohorts[study]).set_index("id")
    statements = [f"{c.id}:{m}" for c in pub.claims for m in c.items()]
    assert sorted(table.index) == sorted([n.id for n in pub.numbers] + statements)
    for id, row in table.iterrows():
        assert row["role"] in ("target", "check", "infeasible", "not_reached", "resolution", "repeat",
                               "not_expressible"), id
        if row["role"] == "target":
            assert row["match"], f"target {id} is not reproduced"
        if row["role"] in ("infeasible", "resolution", "not_expressible"):
            assert not row["match"], f"{id} is {row['role']} yet reproduced"
            assert row["reason"], f"{id} differs without a reason"


def test_study_a_roles():
    table = check.check(published.load("study_a"), data.load(RECONSTRUCTED_DIR / "study_a")).set_index("id")
    checks = ["cr_1y_p", "or_1y_p", *(f"labs_5y_similar:{m}" for m in ("upcr", "egfr", "anti_dsdna", "c3", "c4"))]
    assert sorted(table.index[table["role"] == "check"]) == sorted(checks)   # the evidence: nothing else
    assert table.loc[["cr_1y_p", "or_1y_p"], "match"].all()
    assert (table.loc[checks, "match"] | table.loc[checks, "reason"].str.startswith("The rows give")).all()
    assert table.loc[["or_5y_p", "poor_outcome_logrank_p", "class_v_higher:isn_class_v"], "role"].eq("target").all()
    assert table.loc[["or_5y_p_lsm2023", "or_5y_tac_lsm2023", "baseline_similar_lsm2023:upcr"], "role"].eq(
        "repeat").all()
    assert table.loc["or_5y_non", "role"] == "resolution" and table.loc["or_5y_non_lsm2023", "role"] == "target"
    assert table.loc[["cr_6m_p", "pr_6m_p", "cr_2y_p", "or_3y_p"], "role"].isin(["infeasible", "not_reached"]).all()
    assert table.loc["labs_5y_similar:renal_sledai", "role"] == "not_expressible"


def test_study_b_has_the_full_papers_six_response_numbers():
    table = check.check(published.load("study_b"), data.load(RECONSTRUCTED_DIR / "study_b")).set_index("id")
    assert table.loc[["cr_12m_lupus2018", "pr_12m_lupus2018"], "match"].all()
    assert table.loc[["or_6m_lupus2018", "or_12m_lupus2018"], "role"].eq("infeasible").all()   # sums of rounded parts
    assert table.loc[["cr_6m_lupus2018", "pr_6m_lupus2018"], "role"].eq("resolution").all()    # against the abstract


def test_study_b_overall_upcr_is_reproduced_with_the_flare_group(cohorts):
    table = check.check(published.load("study_b"), cohorts["study_b"]).set_index("id")
    for id in ("upcr_baseline_mean", "upcr_baseline_sd", "upcr_24w_mean", "upcr_24w_sd"):
        assert table.loc[id, "match"] and table.loc[id, "role"] == "target", id
    assert table.loc["n_total", "role"] == "resolution"     # the abstract's 20
    assert set(cohorts["study_b"].patients["prior_response"]) == {"partial", "none", "flare"}


def test_stricter_cr_threshold_changes_the_cr_counts(cohorts):
    pub, cohort = published.load("study_a"), cohorts["study_a"]
    default = summarise(classify(cohort, pub.timepoints))
    strict = summarise(classify(cohort, pub.timepoints, criteria=Criteria(cr_upcr_max=0.3)))
    assert (strict["CR"] < default["CR"]).all()
    assert (strict["n"] == default["n"]).all()
    assert (strict["PR"] > default["PR"]).all()      # the patients leaving CR mostly meet PR


def test_response_is_not_stored(cohorts):
    for cohort in cohorts.values():
        for frame in (cohort.patients, cohort.labs, cohort.events):
            assert not {"response", "cr", "pr"} & {c.lower() for c in frame.columns}


# --- the counts plan ------------------------------------------------------------------------------

def test_denominators_are_the_largest_consistent_and_never_rise():
    pub = published.load("study_a")
    frame = plan.plan(pub).frame()
    _, largest = counts.consistent_denominators(pub)
    for arm, rows in frame.groupby("arm"):
        assert rows.sort_values("timepoint")["n"].is_monotonic_decreasing
        assert list(rows["n"]) == [largest[tp, arm] for tp in rows["timepoint"]]
    assert largest["5y", "no_tacrolimus"] == 55    # the one n at which both 87.3% and 85.5% are possible


def test_no_p_value_chooses_counts_by_default():
    pub = published.load("study_a")
    the_plan = plan.plan(pub)
    assert not [i for i in the_plan.targets if pub.number(i).statistic == "p_value"]
    one_year = the_plan.frame().set_index(["timepoint", "arm"])
    # PR in the same share (50 of 82, pooled at 6 months) of the patients not in CR: 72/88 vs 70/78
    assert one_year.loc[("1y", "tacrolimus"), ["CR", "PR"]].tolist() == [46, 26]
    assert one_year.loc[("1y", "no_tacrolimus"), ["CR", "PR"]].tolist() == [57, 13]


def _two_arm_study(cr_a, cr_b, p, size=40, p_chooses=False):
    """A one-timepoint study: CR percentages of two arms of `size` and a p-value."""
    def number(id, statistic, value, decimals, group):
        return {"id": id, "source": "paper", "quote": f"quoted sentence {id}", "measure": "response",
                "outcome": "CR", "timepoint": "6m", "group": group, "statistic": statistic, "value": value,
                "decimals": decimals}
    return published.Study.model_validate({
        "study": "demo", "title": "Demo", "arms": ["a", "b"], "timepoints": {"6m": 182, "1y": 365},
        "sources": {"paper": {"citation": "A paper."}}, "criteria": [],
        "numbers": [
            {"id": "n_a", "source": "paper", "quote": "quoted sentence n", "measure": "n_patients", "group": "a",
             "statistic": "count", "value": size, "decimals": 0},
            {"id": "n_b", "source": "paper", "quote": "quoted sentence n", "measure": "n_patients", "group": "b",
             "statistic": "count", "value": size, "decimals": 0},
            number("cr_a", "percent", cr_a, 1, "a"), number("cr_b", "percent", cr_b, 1, "b"),
            number("cr_p", "p_value", p, 3, "a vs b")],
        "assumptions": [{"id": "loss", "what": "Evaluated patients chosen by the p-value.",
                         "by_construction": ["cr_p"]}] if p_chooses else []})


def test_a_reachable_p_value_moves_the_denominators_only_where_the_study_file_says_so():
    # 50.0% vs 25.0%: 20/40 vs 10/40 gives Pearson p = 0.021, 10/20 vs 5/20 gives 0.103
    p = round(compare_proportions(10, 20, 5, 20)["p"], 3)
    n_by, moved = plan.denominators(_two_arm_study(50.0, 25.0, p))
    assert (n_by["6m", "a"], n_by["6m", "b"]) == (40, 40) and moved == []
    n_by, moved = plan.denominators(_two_arm_study(50.0, 25.0, p, p_chooses=True))
    assert (n_by["6m", "a"], n_by["6m", "b"]) != (40, 40) and moved == ["cr_p"]


def test_an_unreachable_p_value_leaves_the_largest_denominators():
    pub = _two_arm_study(50.0, 25.0, 0.9)
    n_by, moved = plan.denominators(pub)
    assert (n_by["6m", "a"], n_by["6m", "b"]) == (40, 40) and moved == []


def _split_p(summary, tp, outcome):
    a, b = (summary[(summary["timepoint"] == tp) & (summary["arm"] == arm)].iloc[0]
            for arm in ("tacrolimus", "no_tacrolimus"))
    return compare_proportions(int(a[outcome]), int(a["n"]), int(b[outcome]), int(b["n"]))["p"]


@pytest.mark.parametrize("tp,outcome,share_of", [("1y", "PR", "not CR"), ("2y", "PR", "not CR"),
                                                 ("3y", "CR", "responders"), ("5y", "CR", "responders")])
def test_an_unpublished_split_is_the_same_in_both_arms(cohorts, tp, outcome, share_of):
    """PR at 1 and 2 years, the CR/PR split at 3 and 5 years: not published, so the same share in both
    arms (of the patients not in CR, or of the responders), up to the rounding of one patient."""
    pub = published.load("study_a")
    assert not any(n.timepoint == tp and n.outcome == outcome and n.statistic == "percent" for n in pub.numbers)
    summary = summarise(classify(cohorts["study_a"], pub.timepoints)).set_index(["timepoint", "arm"])
    shares = []
    for arm in pub.arms:
        row = summary.loc[(tp, arm)]
        whole = row["n"] - row["CR"] if share_of == "not CR" else row["CR"] + row["PR"]
        shares.append((row[outcome], whole))
    (k1, n1), (k2, n2) = shares
    assert abs(k1 / n1 - k2 / n2) <= 1 / min(n1, n2) + 1e-12, shares


def test_baseline_characteristics_are_the_same_in_both_arms(cohorts):
    """Only the class V excess (reported) and the maintenance regimens (which define the arms) differ:
    what is dealt to the arms alike (age, sex, induction, UPCR, creatinine, eGFR) is close to identical;
    what the patient model draws from them (albumin, complements, anti-dsDNA) shows no significant
    difference (a target claim of the paper, which the builder checks)."""
    cohort = cohorts["study_a"]
    base = cohort.patients.merge(baseline_labs(cohort.labs, WINDOW)[LABS], left_on="patient_id",
                                 right_index=True)
    tac, non = (base[base["arm"] == arm] for arm in ("tacrolimus", "no_tacrolimus"))
    for column in ["age", "upcr_g_g", "creatinine_mg_dl", "egfr"]:
        assert sps.mannwhitneyu(tac[column], non[column]).pvalue > 0.5, column
    for column in ["albumin_g_dl", "c3_mg_dl", "c4_mg_dl", "anti_dsdna_iu_ml"]:
        assert sps.mannwhitneyu(tac[column], non[column]).pvalue >= 0.05, column
    for column in ["sex", "induction"]:
        table = pd.crosstab(base["arm"], base[column])
        assert sps.chi2_contingency(table)[1] > 0.5, column


def test_flares_poor_outcomes_and_adverse_events_are_the_same_in_both_arms(cohorts):
    cohort = cohorts["study_a"]
    sizes = cohort.patients["arm"].value_counts()
    arm_of = cohort.patients.set_index("patient_id")["arm"]
    events = cohort.events.assign(arm=cohort.events["patient_id"].map(arm_of))
    events["kind"] = events["category"].fillna(events["event"]).replace({"esrd": "poor", "death": "poor"})
    for kind, rows in events.drop_duplicates(["patient_id", "kind"]).groupby("kind"):
        k = rows["arm"].value_counts()
        p = compare_proportions(int(k.get("tacrolimus", 0)), int(sizes["tacrolimus"]),
                                int(k.get("no_tacrolimus", 0)), int(sizes["no_tacrolimus"]), "fisher")["p"]
        assert p > 0.5, kind


# --- patients that look like patients -------------------------------------------------------------

@pytest.mark.parametrize("study", STUDIES)
def test_no_value_piles_up_at_a_bound(cohorts, study):
    """The smallest and largest value of each lab are no more frequent than the values next to them (a
    clipped draw would pile up there); on a coarse grid (C4 in whole mg/dL) ties are natural."""
    labs = cohorts[study].labs
    for column in LABS:
        values = labs[column].dropna()
        distinct = sorted(values.unique())
        for edge, neighbour in ((distinct[0], distinct[1]), (distinct[-1], distinct[-2])):
            at_edge, next_to_it = int((values == edge).sum()), int((values == neighbour).sum())
            assert at_edge <= max(3, 0.01 * len(values), 2 * next_to_it), \
                f"{column}: {edge} x {at_edge}, {neighbour} x {next_to_it}"


@pytest.mark.parametrize("threshold", list(realism.densities(pd.DataFrame(
    {"patient_id": [], "day": [], "upcr_g_g": [], "creatinine_mg_dl": [], "egfr": []}))))
def test_values_cross_every_threshold_with_natural_density(cohorts, threshold):
    """Around every response threshold, the band across it holds values on both sides and is neither a
    gap (far fewer than both neighbouring bands) nor a pile (far more than both): no moat of slack kept
    around a criterion, no values pushed onto one (study A: enough values to tell)."""
    bands = realism.densities(cohorts["study_a"].labs)[threshold]
    below, across, above = bands["below"], bands["across"], bands["above"]
    assert below + above >= 20, bands    # enough values to judge
    assert bands["just below"] > 0 and bands["just above"] > 0, bands
    assert across >= 0.4 * min(below, above), bands
    assert across <= 2.5 * max(below, above), bands


def test_baseline_labs_correlate_as_in_lupus_nephritis(cohorts):
    """Albumin falls as proteinuria rises (nephrotic patients are hypoalbuminaemic), C3 moves with C4,
    complement against anti-dsDNA."""
    for study in STUDIES:
        c = cohorts[study]
        rho = realism.baseline_correlations(c.patients, c.labs)
        assert rho["albumin_g_dl ~ upcr_g_g"] < -0.3, (study, rho)
        assert rho["c3_mg_dl ~ c4_mg_dl"] > 0.4, (study, rho)
        assert rho["c3_mg_dl ~ anti_dsdna_iu_ml"] < -0.2, (study, rho)
        assert rho["nephrotic with albumin >= 3.5"] <= 0.1 * rho["nephrotic"], (study, rho)


def test_courses_are_smooth(cohorts):
    """Few patients without a flare reverse a two-fold UPCR move twice (a course, not independent draws per
    visit); a flare and its remission are two such moves by nature."""
    for study in STUDIES:
        c = cohorts[study]
        flared = set(c.events.loc[c.events["event"] == "renal_flare", "patient_id"])
        reversals = realism.reversals(c.labs)
        calm = reversals[~reversals.index.isin(flared)]
        assert (calm >= 2).mean() <= 0.08, (study, int((calm >= 2).sum()), len(calm))


def test_every_proteinuric_flare_in_the_labs_has_its_event(cohorts):
    """A UPCR below 0.5, then at least 1.0 g/g at a later lab: a renal_flare event lies between."""
    c = cohorts["study_a"]
    found = realism.lab_flares(c.labs, c.events)
    assert found["lab flares"] > 0 and found["without an event"] == 0, found
    assert found["lab flares"] >= found["renal_flare events"] - 2, found   # events are seen in the labs too


def test_esrd_ends_a_decline(cohorts):
    """Every ESRD follows months of falling eGFR through the CKD stages, after a last scheduled visit
    without response; nobody falls from normal kidney function to ESRD within weeks."""
    pub, c = published.load("study_a"), cohorts["study_a"]
    courses = realism.esrd_courses(c.labs, c.events, classify(c, pub.timepoints))
    assert len(courses) == 7
    assert courses["last_response"].eq("NR").all(), courses
    assert (courses["days_from_egfr_60"] >= 180).all(), courses
    for values in courses["last_year"]:
        assert len(values) >= 2 and values[-1] < 15 and values == sorted(values, reverse=True), values


@pytest.mark.parametrize("study", STUDIES)
def test_no_clones(cohorts, study):
    cohort = cohorts[study]
    base = cohort.patients.merge(baseline_labs(cohort.labs, WINDOW)[LABS], left_on="patient_id",
                                 right_index=True)
    assert not base.duplicated(["age", "sex", *LABS]).any()
    assert not cohort.labs.duplicated(LABS).any()


@pytest.mark.parametrize("study", STUDIES)
def test_egfr_is_ckd_epi_of_the_stored_creatinine(cohorts, study):
    cohort = cohorts[study]
    people = cohort.patients.set_index("patient_id")
    for row in cohort.labs.itertuples():   # at the age on the day of the visit: a birthday may fall in between
        person = people.loc[row.patient_id]
        ages = int(person["age"]) + row.day // 365 + np.array([0, 1])
        expected = [egfr_tenths(round(row.creatinine_mg_dl * 100), int(a), person["sex"]) / 10 for a in ages]
        assert row.egfr in expected, (row.patient_id, row.day)
        if row.day == 0:
            assert row.egfr == expected[0], row.patient_id


def test_events_follow_the_labs(cohorts):
    cohort = cohorts["study_a"]
    labs, events = cohort.labs, cohort.events
    last = cohort.patients.set_index("patient_id")["last_followup_day"]
    for row in events.itertuples():
        assert row.day <= last[row.patient_id]
        if row.event == "esrd":   # end-stage kidney disease follows an eGFR below 15
            before = labs[(labs["patient_id"] == row.patient_id) & (labs["day"] <= row.day)]
            assert (before["egfr"] < 15).any(), row.patient_id
        if row.event == "death":  # nothing follows death
            assert (labs.loc[labs["patient_id"] == row.patient_id, "day"] < row.day).all()
            later = events[(events["patient_id"] == row.patient_id) & (events["day"] >= row.day)]
            assert list(later["event"]) == ["death"], row.patient_id
    assert (labs["day"] <= labs["patient_id"].map(last)).all()


def test_prior_partial_responders_have_near_normal_gfr(cohorts):
    cohort = cohorts["study_b"]
    base = baseline_labs(cohort.labs, WINDOW)
    partial = cohort.patients.loc[cohort.patients["prior_response"] == "partial", "patient_id"]
    assert (base.loc[partial, "egfr"] >= 60).all()


# --- the same bytes on every machine --------------------------------------------------------------

CPU_FLAGS = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").exists() else set()
KERNELS = {  # OPENBLAS_CORETYPE -> the CPU flags it needs to run here
    None: set(), "Prescott": set(), "Haswell": {"avx2"}, "Zen": {"avx2"}, "SkylakeX": {"avx512f"}}
NO_VECTOR_UNITS = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX2 FMA3"


def _reconstruct(out: Path, coretype: str | None, numpy_features: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")}
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    if numpy_features:
        env["NPY_DISABLE_CPU_FEATURES"] = numpy_features
    return subprocess.run([sys.executable, "-m", "helpers", "reconstruct", "--out", str(out)], env=env,
                          capture_output=True, text=True, cwd=REPO_ROOT)


@pytest.mark.slow   # five kernels, each a fresh interpreter: left out of `make test-fast`
def test_reconstruction_is_byte_identical_on_every_kernel_and_committed(tmp_path):
    """The cohort, rebuilt under each BLAS kernel (and once with numpy's vector units off), equals
    the committed files byte for byte."""
    runs = {(k or "unset"): (k, None) for k, needs in KERNELS.items() if needs <= CPU_FLAGS}
    runs["Prescott, no AVX in numpy"] = ("Prescott", NO_VECTOR_UNITS)
    assert len(runs) >= 3, "fewer than three kernels can run on this CPU"
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        done = {name: pool.submit(_reconstruct, tmp_path / name.replace(" ", "_").replace(",", ""), *how)
                for name, how in runs.items()}
    for name, future in done.items():
        result = future.result()
        assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"
        for study in STUDIES:
            for file in schema.FILES:
                fresh = (tmp_path / name.replace(" ", "_").replace(",", "") / study / file).read_bytes()
                committed = (RECONSTRUCTED_DIR / study / file).read_bytes()
                assert fresh == committed, \
                    f"{study}/{file} under {name} differs from the committed file: run `make data`"


def test_write_replaces_the_folder_only_when_complete(tmp_path):
    target = reconstruct.write("study_b", tmp_path)
    assert sorted(p.name for p in target.iterdir()) == sorted(schema.FILES)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".built-from.json"]   # no temp left


def test_write_records_the_study_file_the_rows_are_built_from(tmp_path):
    from helpers.reconstruct import record
    reconstruct.write("study_b", tmp_path)
    assert record.built_from(tmp_path, "study_b")["sha256"] == record.study_file_hash("study_b")
    assert record.stale("study_b", tmp_path) is None
    changed = tmp_path / "published"
    changed.mkdir()
    (changed / "study_b.yaml").write_text((paths.PUBLISHED_DIR / "study_b.yaml").read_text(encoding="utf-8")
                                          + "\n# changed\n", encoding="utf-8")
    assert "were not built from study_b.yaml as it is now" in record.stale("study_b", tmp_path, changed)
    assert "no record" in record.stale("study_a", tmp_path)


def test_the_committed_rows_are_recorded_as_built_from_the_committed_study_files():
    from helpers.reconstruct import record
    for study in STUDIES:
        assert record.stale(study) is None, f"{study}: run `make data`"
