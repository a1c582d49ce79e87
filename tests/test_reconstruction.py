"""The reconstructed cohort: the published numbers reproduced from its rows, the same bytes on
every machine, patients that look like patients, and no treatment effect that no source reports.

Percentages and means/SDs are recomputed here with helpers.response and plain pandas,
independently of helpers.scorecard.check.
"""
import concurrent.futures
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats as sps

from helpers import data, published, reconstruct, schema, scorecard
from helpers.consistency import rounds_to
from helpers.paths import RECONSTRUCTED_DIR, REPO_ROOT
from helpers.reconstruct import plan
from helpers.renal import egfr_tenths
from helpers.response import WINDOW, Criteria, baseline_labs, classify, summarise
from helpers.stats import compare_proportions

STUDIES = published.studies()
LABS = ["upcr_g_g", "creatinine_mg_dl", "egfr", "albumin_g_dl", "c3_mg_dl", "c4_mg_dl", "anti_dsdna_iu_ml"]


@pytest.fixture(scope="module")
def cohorts():
    return {s: data.load(RECONSTRUCTED_DIR / s) for s in STUDIES}


def _targets(statistics):
    return [pytest.param(s, n, id=f"{s}:{n.id}") for s in STUDIES for n in published.load(s).targets()
            if n.statistic in statistics]


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
    table = scorecard.check(pub, cohorts[study]).set_index("id")
    assert len(table) == len(pub.numbers)
    for n in pub.numbers:
        row = table.loc[n.id]
        assert row["role"] in ("target", "check", "infeasible", "resolution")
        if row["role"] == "target":
            assert row["match"], f"target {n.id} is not reproduced"
        if row["role"] in ("infeasible", "resolution"):
            assert not row["match"], f"{n.id} is {row['role']} yet reproduced"
            assert row["reason"], f"{n.id} differs without a reason"


def test_study_a_roles():
    table = scorecard.check(published.load("study_a"), data.load(RECONSTRUCTED_DIR / "study_a")).set_index("id")
    assert table.loc[["cr_1y_p", "or_5y_p", "or_5y_p_lsm2023"], "role"].eq("check").all()
    assert table.loc[["cr_1y_p", "or_5y_p", "or_5y_p_lsm2023"], "match"].all()
    assert table.loc[["cr_6m_p", "pr_6m_p", "cr_2y_p", "or_3y_p"], "role"].eq("infeasible").all()
    assert table.loc[["or_1y_p", "poor_outcome_logrank_p"], "role"].eq("target").all()
    assert "0.057" in table.loc["cr_2y_p", "reason"]          # the nearest any test comes, up to the arm sizes


def test_study_b_overall_upcr_is_reproduced_with_the_flare_group(cohorts):
    table = scorecard.check(published.load("study_b"), cohorts["study_b"]).set_index("id")
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
    _, largest = plan.consistent_denominators(pub)
    for arm, rows in frame.groupby("arm"):
        assert rows.sort_values("timepoint")["n"].is_monotonic_decreasing
        assert list(rows["n"]) == [largest[tp, arm] for tp in rows["timepoint"]]
    assert largest["5y", "no_tacrolimus"] == 55    # the one n at which both 87.3% and 85.5% are possible


def _two_arm_study(cr_a, cr_b, p, size=40):
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
            number("cr_p", "p_value", p, 3, "a vs b")]})


def test_a_reachable_p_value_moves_the_denominators_and_becomes_a_target():
    # 50.0% vs 25.0%: 20/40 vs 10/40 gives Pearson p = 0.021, 10/20 vs 5/20 gives 0.103
    p = round(compare_proportions(10, 20, 5, 20)["p"], 3)
    pub = _two_arm_study(50.0, 25.0, p)
    n_by, moved = plan.denominators(pub)
    assert (n_by["6m", "a"], n_by["6m", "b"]) != (40, 40) and moved == ["cr_p"]


def test_an_unreachable_p_value_leaves_the_largest_denominators():
    pub = _two_arm_study(50.0, 25.0, 0.9)
    n_by, moved = plan.denominators(pub)
    assert (n_by["6m", "a"], n_by["6m", "b"]) == (40, 40) and moved == []


def _split_p(summary, tp, outcome):
    a, b = (summary[(summary["timepoint"] == tp) & (summary["arm"] == arm)].iloc[0]
            for arm in ("tacrolimus", "no_tacrolimus"))
    return compare_proportions(int(a[outcome]), int(a["n"]), int(b[outcome]), int(b["n"]))["p"]


@pytest.mark.parametrize("tp,outcome", [("3y", "CR"), ("3y", "PR"), ("5y", "CR"), ("5y", "PR"), ("2y", "PR"),
                                        ("2y", "overall")])
def test_no_between_arm_difference_that_no_source_publishes(cohorts, tp, outcome):
    """CR and PR at 3 and 5 years, PR and the overall response at 2 years: not published, so the
    reconstruction must not show a difference between the arms."""
    pub = published.load("study_a")
    assert not any(n.timepoint == tp and n.outcome == outcome and n.statistic == "percent" for n in pub.numbers)
    summary = summarise(classify(cohorts["study_a"], pub.timepoints))
    assert _split_p(summary, tp, outcome) > 0.2


def test_baseline_characteristics_are_the_same_in_both_arms(cohorts):
    """Only the class V excess (reported) and the maintenance regimens (which define the arms) differ."""
    cohort = cohorts["study_a"]
    base = cohort.patients.merge(baseline_labs(cohort.labs, WINDOW)[LABS], left_on="patient_id",
                                 right_index=True)
    tac, non = (base[base["arm"] == arm] for arm in ("tacrolimus", "no_tacrolimus"))
    for column in ["age", *LABS]:
        assert sps.mannwhitneyu(tac[column], non[column]).pvalue > 0.5, column
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


@pytest.mark.parametrize("study", STUDIES)
@pytest.mark.parametrize("field", ["cr_upcr_max", "cr_creatinine_rise_max", "pr_upcr_reduction_min", "pr_upcr_max",
                                   "pr_egfr_min", "pr_egfr_drop_max"])
@pytest.mark.parametrize("factor", [0.95, 1.05])
def test_no_value_sits_just_inside_a_threshold(cohorts, study, field, factor):
    """Moving any response threshold by 5% changes no patient's response: every lab value has room."""
    pub, cohort = published.load(study), cohorts[study]
    default = classify(cohort, pub.timepoints)
    moved = classify(cohort, pub.timepoints, criteria=replace(Criteria(), **{field: getattr(Criteria(), field)
                                                                             * factor}))
    changed = default["response"].astype(str) != moved["response"].astype(str)
    assert not changed.any(), default.loc[changed, ["patient_id", "timepoint", "response"]]


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
    for row in cohort.labs.itertuples():
        person = people.loc[row.patient_id]
        expected = egfr_tenths(round(row.creatinine_mg_dl * 100), int(person["age"]), person["sex"]) / 10
        assert row.egfr == expected, (row.patient_id, row.day)


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
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
