"""The attack suite: a cohort crafted to leak (tests/attack_cohort.py: a subgroup of two patients, an
arm of three, a rare adverse event and free text typed for one patient) is built into a book with
min_cell 5, and an attacker then tries to read back what fewer than 5 patients have: planted text in
any file the build wrote; hidden counts by subtraction (exact bounds by linear programming over every
relation the tables show); counts behind a p-value by inverting it; a small group's mean from the
others'; single events from the Kaplan-Meier steps and numbers at risk."""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from attack_cohort import craft
from scipy.optimize import linprog

from helpers.chapters import groups, safety
from helpers.cohort import data, response
from helpers.methods import disclosure, proportions, stats
from helpers.paths import REPO_ROOT
from helpers.present import figures

pytestmark = pytest.mark.slow   # builds a whole book: left out of `make test-fast`

MIN_CELL = 5
NAME = f"attack_test_{os.getpid()}"
VARIANT = REPO_ROOT / "_build" / "variants" / NAME / "html"
STAGING = REPO_ROOT / "_build" / "staging" / NAME


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    root = tmp_path_factory.mktemp("attack")
    planted = craft(root / "cohort")
    params = root / f"{NAME}.yaml"
    params.write_text(f"data_dir: {root / 'cohort'}\nmin_cell: {MIN_CELL}\ntimepoints: {{6m: 182, 1y: 365}}\n",
                      encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "helpers", "book", "--params", str(params)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield root, planted
    shutil.rmtree(VARIANT.parent, ignore_errors=True)
    shutil.rmtree(STAGING, ignore_errors=True)


def results(name: str) -> pd.DataFrame:
    return pd.read_csv(STAGING / "results" / f"{name}.csv", dtype={"timepoint": str})


# --- an attacker's tools --------------------------------------------------------------------------

def bounds(known: dict, unknown: list, lines: list[tuple[list, object]]) -> dict:
    """For each unknown count, the smallest and largest value consistent with every line (parts add up
    to the whole; a part or whole is a known value or another unknown), all counts >= 0."""
    index = {u: i for i, u in enumerate(unknown)}
    rows, rhs = [], []
    for parts, whole in lines:
        row, total = np.zeros(len(unknown)), 0.0
        for p in parts:
            if p in index:
                row[index[p]] += 1
            else:
                total -= known[p]
        if whole in index:
            row[index[whole]] -= 1
        else:
            total += known[whole]
        if row.any():
            rows.append(row)
            rhs.append(total)
    out = {}
    for u in unknown:
        c = np.zeros(len(unknown))
        c[index[u]] = 1
        lo = linprog(c, A_eq=rows or None, b_eq=rhs or None, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=rows or None, b_eq=rhs or None, bounds=(0, None), method="highs")
        out[u] = (lo.fun if lo.success else -math.inf, -hi.fun if hi.success else math.inf)
    return out


def assert_not_pinned(true: dict, found: dict):
    """No hidden count below the threshold is worked out exactly."""
    pinned = [(cell, true[cell]) for cell, (lo, hi) in found.items()
              if disclosure.small(true[cell], MIN_CELL) and hi - lo < 0.5]
    assert not pinned, pinned


# --- 1. free text ---------------------------------------------------------------------------------

def test_planted_free_text_reaches_no_file_the_build_wrote(attacked):
    _, planted = attacked
    leaks = []
    for folder in (VARIANT, STAGING):
        for path in (p for p in folder.rglob("*") if p.is_file()):
            text = path.read_bytes().decode("utf-8", errors="ignore")
            leaks += [f"{path.relative_to(folder.parent)}: {t}" for t in planted["tokens"] if t in text]
    assert not leaks, leaks[:10]
    scanned = {p.name for p in VARIANT.rglob("*")} | {p.suffix for p in STAGING.rglob("*")}
    assert {"searchindex.js", "03_safety_flares.html", ".csv", ".ipynb"} <= scanned   # index, pages, results, runs


def test_no_local_path_or_warning_reaches_the_pages(attacked):
    """A warning printed by a figure or a table would carry the machine's own paths into the book."""
    found = [str(path.relative_to(VARIANT)) for path in VARIANT.rglob("*.html")
             if str(REPO_ROOT) in path.read_text(encoding="utf-8", errors="ignore")
             or "Warning:" in path.read_text(encoding="utf-8", errors="ignore")]
    assert not found, found


def test_rare_free_text_is_folded_into_other(attacked):
    root, planted = attacked
    folded = disclosure.fold_rare(data.load(root / "cohort" / "study_a"), MIN_CELL)
    values = set(folded.patients["induction"]) | set(folded.patients["maintenance"]) | set(folded.events["category"])
    assert not set(planted["tokens"]) & values
    assert "other" in set(folded.patients["induction"])


# --- 2. small groups: their statistics, and subtraction --------------------------------------------

@pytest.mark.parametrize("study, group", [("study_b", "none"), ("tiny", "small")])
def test_a_small_group_has_no_statistic_in_any_result_file(attacked, study, group):
    rows = pd.concat([results(n) for n in ("01_cohort_description", "02_response", "04_refractory_multitarget")])
    mine = rows[(rows["study"] == study) & (rows["group"] == group)]
    assert len(mine) and mine["value"].isna().all(), mine[mine["value"].notna()]
    assert (mine["detail"] == disclosure.HIDDEN).all()


def test_no_small_group_size_follows_by_subtraction(attacked):
    rows = results("01_cohort_description")
    for study, part in rows[(rows["measure"] == "n_patients")].groupby("study"):
        sizes = dict(zip(part["group"], part["value"]))
        groups = [g for g in sizes if g != "all" and "+" not in g]
        known = {g: v for g, v in sizes.items() if v == v}
        unknown = [g for g in sizes if g not in known]
        found = bounds(known, unknown, [(groups, "all")])
        assert all(hi - lo >= 0.5 for lo, hi in found.values()), (study, found)


def test_no_hidden_response_count_follows_from_the_others(attacked):
    """CR + PR + NR = evaluated, CR + PR = overall, groups add up to all: exact bounds of every hidden count."""
    rows = results("04_refractory_multitarget")
    rows = rows[(rows["measure"].isin(["response", "n_patients"])) & (rows["statistic"].isin(["percent", "count"]))]
    for (study, tp), part in rows.groupby(["study", "timepoint"]):
        known, unknown = {}, []
        groups = sorted(set(part["group"]))
        for r in part.itertuples():
            key = (r.group, "n" if r.measure == "n_patients" else r.outcome)
            if r.detail == disclosure.HIDDEN:
                unknown.append(key)
            elif r.measure == "n_patients":
                known[key] = int(r.value)
            else:
                known[key] = int(r.detail.split("/")[0])
        for g in groups:
            unknown.append((g, "NR"))
        lines = [([(g, "CR"), (g, "PR"), (g, "NR")], (g, "n")) for g in groups]
        lines += [([(g, "CR"), (g, "PR")], (g, "overall")) for g in groups]
        parts = [g for g in groups if g != "all"]
        lines += [([(g, c) for g in parts], ("all", c)) for c in ("n", "CR", "PR", "NR", "overall")]
        found = bounds(known, unknown, lines)
        hidden = {u: v for u, v in found.items() if u[1] != "NR"}
        assert all(hi - lo >= 0.5 for lo, hi in hidden.values()), (study, tp, hidden)


def test_table_one_hides_no_count_that_subtraction_gives_back(attacked):
    root, _ = attacked
    for study, by in (("study_a", "arm"), ("study_b", "prior_response"), ("tiny", "arm")):
        patients = disclosure.fold_rare(data.load(root / "cohort" / study), MIN_CELL).patients
        groups = sorted(patients[by].unique())
        sizes = {"Overall": len(patients), **patients.groupby(by).size().to_dict()}
        dark, cells, _ = disclosure.table_hidden(patients, by, ["sex", "isn_class", "induction", "maintenance"],
                                                 MIN_CELL)
        for column in ("sex", "isn_class", "induction", "maintenance"):
            levels = sorted(patients[column].astype(str).unique())
            true = {(lv, g): int(((patients[column].astype(str) == lv) & ((patients[by] == g) if g != "Overall"
                                                                            else True)).sum())
                    for lv in levels for g in ["Overall", *groups]}
            true |= {("n", g): sizes[g] for g in sizes}
            hidden = {(lv, g) for lv in levels for g in ["Overall", *groups]
                      if g in dark or (column, lv, g) in cells} | {("n", g) for g in dark}
            known = {k: v for k, v in true.items() if k not in hidden}
            lines = [([(lv, g) for lv in levels], ("n", g)) for g in ["Overall", *groups]]
            lines += [([(lv, g) for g in groups], (lv, "Overall")) for lv in [*levels, "n"]]
            found = bounds(known, sorted(hidden, key=str), lines)
            assert_not_pinned(true, found)


# --- 3. p-values and means ------------------------------------------------------------------------

def test_no_p_value_is_shown_beside_a_hidden_count(attacked):
    for name in ("02_response", "03_safety_flares"):
        rows = results(name)
        tests = rows[rows["statistic"].isin(["p_value", "logrank_p"])]
        shown = tests[tests["value"].notna()]
        assert not (shown["detail"] == disclosure.HIDDEN).any()
    ae = events_of(attacked)
    for r in ae.to_dict("records"):
        if any(r[f"{a}_k"] != r[f"{a}_k"] for a in ("big", "small")):
            assert r["p"] != r["p"], r


def events_of(attacked):
    root, _ = attacked
    tiny = disclosure.fold_rare(data.load(root / "cohort" / "tiny"), MIN_CELL)
    return safety.adverse_event_comparison(tiny, ["big", "small"], "fisher", MIN_CELL)


def test_inverting_a_p_value_gives_nothing_back():
    """The attack that worked before: 5/92 vs hidden/87 with Fisher p = 0.445 gives k = 2. Now no p is
    shown beside the hidden count, so there is nothing to invert."""
    p_for = {k: proportions.compare_proportions(5, 92, k, 87, "fisher")["p"] for k in range(1, 5)}
    assert len(set(round(p, 3) for p in p_for.values())) == 4          # each k had its own p: invertible
    comparison = pd.DataFrame([{"category": "x", "a_k": 5, "a_n": 92, "b_k": 2, "b_n": 87, "p": p_for[2],
                                "rd": 0.01, "rd_low": 0, "rd_high": 0.1, "or": 2, "or_low": 1, "or_high": 3,
                                "test": "Fisher exact", "note": ""}])
    masked = disclosure.mask_shares(comparison, ["a", "b"], MIN_CELL)
    assert math.isnan(masked["b_k"][0]) and math.isnan(masked["p"][0]) and math.isnan(masked["rd"][0])


def test_no_small_group_mean_follows_from_the_others(attacked):
    rows = pd.concat([results(n) for n in ("01_cohort_description", "04_refractory_multitarget")])
    means = rows[rows["statistic"] == "mean"]
    for (study, measure, tp), part in means.groupby(["study", "measure", "timepoint"], dropna=False):
        hidden = part[part["value"].isna()]["group"].tolist()
        if hidden and "all" not in hidden:
            assert len(hidden) >= 2, (study, measure, tp, hidden)


# --- 4. time to event -----------------------------------------------------------------------------

def test_kaplan_meier_steps_gather_at_least_min_cell_events_and_hide_single_exits():
    rng = np.random.default_rng(3)
    days = pd.Series(rng.integers(30, 1800, 60))
    event = pd.Series((rng.random(60) < 0.4).astype(int))
    km = stats.km_by_group(days, event, pd.Series(["a"] * 60))
    steps = disclosure.km_steps(km, MIN_CELL, figures.KM_MIN_AT_RISK)
    assert len(steps) and (steps["events"] >= MIN_CELL).all() and (steps["censored"] == 0).all()
    assert (steps["time"] % disclosure.STEP_DAYS == 0).all()          # on the grid, not at an event's day
    shown = disclosure.at_risk_shown([60, 59, 52, 50, 44, 3], MIN_CELL)
    assert shown == [60, None, 52, None, 44, None]
    fig = figures.km_plot(km, "t", MIN_CELL, ["a"])
    drawn = fig.axes[0].lines[0].get_xydata()
    assert len(drawn) <= len(steps) + 1                                 # no step but the gathered ones


def test_no_patient_line_is_drawn_for_a_real_cohort(attacked):
    root, _ = attacked
    b = data.load(root / "cohort" / "study_b")
    classified = groups.by_timepoint(response.classify(b, {"6m": 182}, 45), ["6m"])["6m"]
    fig = figures.trajectories(classified, "upcr_g_g", "prior_response", {"6m": 182}, min_cell=MIN_CELL)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert all("mean" in label for label in labels)
    assert not any("No response" in label for label in labels)            # the group of two draws nothing


def test_a_curve_with_nothing_to_draw_says_so_without_a_warning():
    km = stats.km_by_group(pd.Series([100, 200, 300]), pd.Series([1, 0, 1]), pd.Series(["a"] * 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                  # a warning would print a local path
        fig = figures.km_plot(km, "t", MIN_CELL, ["a"])
    assert fig.axes[0].get_legend() is None
    assert any("No curve can be drawn" in t.get_text() for t in fig.axes[0].texts)
