"""Events: time to first event (for Kaplan-Meier / log-rank) and adverse-event counts."""
from __future__ import annotations

import math

import pandas as pd

from helpers import labels
from helpers.compare import claims, numbers, results
from helpers.methods import disclosure
from helpers.methods.proportions import compare_proportions, difference, not_estimable
from helpers.methods.stats import hazard_ratio, logrank
from helpers.present import tables


def time_to_event(cohort, kinds: tuple[str, ...] | str) -> pd.DataFrame:
    """Per patient: days to the first event of `kinds` (event = 1), else to last follow-up (0)."""
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    hits = cohort.events[cohort.events["event"].isin(kinds)]
    first = hits.groupby("patient_id")["day"].min()
    p = cohort.patients
    day = p["patient_id"].map(first)
    return pd.DataFrame({"patient_id": p["patient_id"], "arm": p["arm"],
                         "days": day.fillna(p["last_followup_day"]).astype(int),
                         "event": day.notna().astype(int)})


def adverse_event_counts(cohort, by: str = "arm") -> pd.DataFrame:
    """Patients with at least one adverse event of each category, per group, with the group size:
    columns category, <group>, k, n."""
    p = cohort.patients
    sizes = p.groupby(by).size()
    ae = cohort.events[cohort.events["event"] == "adverse_event"].merge(p[["patient_id", by]], on="patient_id")
    patients = ae.drop_duplicates(["patient_id", "category"])
    counts = patients.groupby(["category", by]).size()
    categories = sorted(ae["category"].unique())
    grid = pd.MultiIndex.from_product([categories, sizes.index], names=["category", by])
    out = counts.reindex(grid, fill_value=0).rename("k").reset_index()
    out["n"] = out[by].map(sizes).astype(int)
    return out


def adverse_event_comparison(cohort, arms, test: str = "fisher", min_cell: int = 0) -> pd.DataFrame:
    """Per adverse-event category: patients with the event per arm ({arm}_k, {arm}_n), the p-value
    and the test, in the shape of stats.response_comparison; an arm without patients or a cohort
    without adverse events gives 'not estimable' with the reason. With min_cell > 0 a count hidden by
    disclosure.share_hidden is NaN, with no effect and no p beside it."""
    counts = adverse_event_counts(cohort, by="arm")
    sizes = cohort.patients["arm"].value_counts()
    dark = disclosure.dark_groups(cohort.patients, "arm", min_cell)
    categories = sorted(counts["category"].unique()) or ["(none recorded)"]
    rows = []
    for category in categories:
        part = counts[counts["category"] == category].set_index("arm")["k"]
        row = {"category": category}
        for arm in arms:
            row[f"{arm}_k"], row[f"{arm}_n"] = int(part.get(arm, 0)), int(sizes.get(arm, 0))
        ks = [row[f"{a}_k"] for a in arms]
        ns = [row[f"{a}_n"] for a in arms]
        effect = difference(0, 0, 0, 0)                       # not estimable
        if len(arms) > 2 and 0 not in ns and category != "(none recorded)":
            result = several_arms(ks, ns)
        elif len(arms) != 2 or 0 in ns:
            result = not_estimable(test, "needs two arms with patients")
        elif category == "(none recorded)":
            result = not_estimable(test, "no adverse events recorded")
        else:
            result = compare_proportions(ks[0], ns[0], ks[1], ns[1], test)
            effect = difference(ks[0], ns[0], ks[1], ns[1])
        rows.append({**row, **effect, "p": result["p"], "test": result["test"], "note": result["note"]})
    return disclosure.mask_shares(pd.DataFrame(rows), arms, min_cell, dark)


def several_arms(ks: list[int], ns: list[int]) -> dict:
    """Pearson chi-square over every arm's patients with and without the event (three or more arms)."""
    from scipy import stats as sps
    table = [[k, n - k] for k, n in zip(ks, ns)]
    if sum(k for k, _ in table) in (0, sum(ns)):
        return not_estimable("Pearson chi-square, all arms", "no patient, or every patient, has the event")
    return {"test": "Pearson chi-square, all arms", "statistic": math.nan,
            "p": float(sps.chi2_contingency(table, correction=False)[1]), "note": ""}


def event_table(times: dict[str, pd.DataFrame], tests: dict[str, dict], arms, marker=None,
                min_cell: int = 0) -> tables.Table:
    """Per outcome: patients with the event / N (%) per arm (from time_to_event), the log-rank p,
    and, on a reconstructed cohort, the mark of each number."""
    marker = marker.fresh() if marker is not None and marker.active else None
    versus = " vs ".join(arms)
    rows = []
    for name, t in times.items():
        row = {"Outcome": labels.EVENTS.get(name, name)}
        hidden, dark = False, disclosure.dark_groups(t, "arm", min_cell)
        for arm in arms:
            k, n = int(t.loc[t["arm"] == arm, "event"].sum()), int((t["arm"] == arm).sum())
            if arm in dark:   # a group the book hides: not even its size (Table 1 hides it)
                k = n = math.nan
            concealed = disclosure.share_hidden(k, n, min_cell)
            hidden |= concealed
            cell = tables.n_of_N(k, n, min_cell=min_cell)
            if marker and n and not concealed:
                cell += marker.mark(100 * k / n, name, "percent", arm)
            row[f"{labels.arm(arm)}, events/N (%)"] = cell
        p = tests[name]["p"]
        published = marker.published(name, "logrank_p", versus) if marker else []
        if len(arms) == 2:
            hr = hazard(t, arms)
            row["Hazard ratio (95% CI)"] = "" if hidden else tables.interval(hr["hr"], hr["hr_low"], hr["hr_high"], 2)
        if len(arms) > 1:
            row["p (log-rank)"] = disclosure.HIDDEN if hidden else (
                (tables.p_beside(p, published[0].value, published[0].decimals) if published else tables.format_p(p))
                + (marker.mark(p, name, "logrank_p", versus) if marker else ""))
        rows.append(row)
    notes = [f"{labels.EVENTS.get(n, n)}: {t['note']}" for n, t in tests.items() if t.get("note")] \
        if len(arms) > 1 else [tables.ONE_ARM]
    if len(arms) == 2:
        notes.insert(0, f"Hazard ratio: {labels.arm(arms[0]).lower()} over {labels.arm(arms[1]).lower()} (Cox "
                        f"proportional hazards, lifelines; 95% CI).")
    if marker:
        sizes = tuple(int((next(iter(times.values()))["arm"] == arm).sum()) for arm in arms)
        notes += marker.footnotes() + ([text for name in times if (text := marker.pinned_events(name, sizes))]
                                       if len(arms) == 2 else [])
    return tables.Table(pd.DataFrame(rows), notes)


def hazard(t: pd.DataFrame, arms) -> dict:
    """The hazard ratio of the first arm over the second (stats.hazard_ratio) on time_to_event rows."""
    two = t[t["arm"].isin(list(arms)[:2])]
    return hazard_ratio(two["days"], two["event"], two["arm"] == arms[0])


def km_statistics(times: dict[str, pd.DataFrame], tests: dict[str, dict], arms, min_cell: int = 0) -> dict[str, str]:
    """What a Kaplan-Meier figure says in its corner, per outcome: 'log-rank p = 0.412; HR 0.71 (0.32 to 1.58)',
    exactly as event_table shows them (nothing where the table hides them)."""
    out = {}
    for name, t in times.items():
        counts = [(int(t.loc[t["arm"] == arm, "event"].sum()), int((t["arm"] == arm).sum())) for arm in arms]
        hidden = any(disclosure.share_hidden(k, n, min_cell) for k, n in counts) or \
            bool(disclosure.dark_groups(t, "arm", min_cell) & set(arms))
        if hidden or len(arms) < 2 or tests[name]["p"] != tests[name]["p"]:
            out[name] = ""
            continue
        text = f"log-rank p = {tables.format_p(tests[name]['p'])}".replace("= <", "<")
        if len(arms) == 2:
            hr = hazard(t, arms)
            shown = tables.interval(hr["hr"], hr["hr_low"], hr["hr_high"], 2)
            text += f"; HR {shown}" if shown else ""
        out[name] = text
    return out


def adverse_event_view(comparison: pd.DataFrame, arms, marker=None, min_cell: int = 0) -> tables.Table:
    """adverse_event_comparison for a reader: categories in words, effect sizes, marks."""
    marker = marker.fresh() if marker is not None and marker.active else None

    def mark(category, arm, value):
        return marker.mark(value, "adverse_event", "percent" if arm else "p_value", arm or " vs ".join(arms))

    table = tables.comparison_table(comparison, arms, "Adverse event", labels.category, mark if marker else None,
                                    None, min_cell)
    table.notes.insert(0, "Patients with at least one event of the category; one test per category, not adjusted "
                          "for multiplicity.")
    if marker:
        sizes = tuple(int(comparison[f"{arm}_n"].max()) for arm in arms)
        table.notes += marker.footnotes() + ([text for text in [marker.pinned_events("adverse_event", sizes)] if text]
                                             if len(arms) == 2 else [])
    return table


def survival_rows(study: str, times: dict[str, pd.DataFrame], tests: dict[str, dict], arms,
                  min_cell: int = 0) -> list[dict]:
    """The log-rank p of each time-to-event outcome, with the events per arm (neither beside an
    event count hidden by disclosure.share_hidden)."""
    rows = []
    for name, result in tests.items():
        t = times[name]
        counts = [(int(t.loc[t["arm"] == arm, "event"].sum()), int((t["arm"] == arm).sum())) for arm in arms]
        hidden = any(disclosure.share_hidden(k, n, min_cell) for k, n in counts) or \
            bool(disclosure.dark_groups(t, "arm", min_cell) & set(arms))
        rows.append(results.row(study, name, "logrank_p", math.nan if hidden else result["p"], group=" vs ".join(arms),
                                test="" if hidden else result["test"],
                                detail=disclosure.HIDDEN if hidden else " vs ".join(f"{k} events" for k, _ in counts)))
    return rows


def adverse_event_rows(study: str, comparison: pd.DataFrame, arms) -> list[dict]:
    """The p-value of each adverse-event category (events.adverse_event_comparison), and the patients with it
    per arm, as the table shows them (k/N; a hidden count NaN)."""
    rows = []
    for r in comparison.to_dict("records"):
        rows.append(results.row(study, "adverse_event:" + r["category"], "p_value", r["p"], group=" vs ".join(arms),
                                test=r["test"] if r["p"] == r["p"] else "", detail=r["note"]))
        rows += [_count_row(study, "adverse_event:" + r["category"], arm, r[f"{arm}_k"], r[f"{arm}_n"]) for arm in arms]
    return rows


def _count_row(study: str, measure: str, arm: str, k, n) -> dict:
    """Patients with an event in an arm, k of n, as the tables show it ('suppressed/n', or 'suppressed')."""
    shown = k == k and n == n
    detail = f"{int(k)}/{int(n)}" if shown else f"{disclosure.HIDDEN}/{int(n)}" if n == n else disclosure.HIDDEN
    return results.row(study, measure, "count", k if shown else math.nan, group=arm, detail=detail)


def event_rows(study: str, times: dict[str, pd.DataFrame], arms, min_cell: int = 0) -> list[dict]:
    """Patients with each time-to-event outcome per arm, k of N, hidden as event_table hides them."""
    rows = []
    for name, t in times.items():
        dark = disclosure.dark_groups(t, "arm", min_cell)
        for arm in arms:
            k, n = int(t.loc[t["arm"] == arm, "event"].sum()), int((t["arm"] == arm).sum())
            if arm in dark:
                k = n = math.nan
            elif disclosure.share_hidden(k, n, min_cell):
                k = math.nan
            rows.append(_count_row(study, name, arm, k, n))
    return rows


def survival(cohort) -> tuple[dict, dict]:
    """Time to a first renal flare and to ESRD or death, and their log-rank tests."""
    outcomes = {"renal_flare": ("renal_flare",), "poor_outcome": labels.POOR_OUTCOME}
    times = {name: time_to_event(cohort, kinds) for name, kinds in outcomes.items()}
    return times, {name: logrank(t["days"], t["event"], t["arm"]) for name, t in times.items()}


def rows(study: str, cohort, pub=None, arms=None, ae_test: str = "fisher", min_cell: int = 0) -> list[dict]:
    """The chapter's result rows: log-rank p of flares and poor outcomes, p of each adverse-event
    category, and, given the study file `pub`, its statements about events tested on the rows and every other
    published number about events the rows can give (compare.numbers: patients or events per category,
    hazard ratios; not with min_cell > 0)."""
    arms = list(arms or pub.arms)
    times, tests = survival(cohort)
    out = survival_rows(study, times, tests, arms, min_cell) + event_rows(study, times, arms, min_cell) + \
        adverse_event_rows(study, adverse_event_comparison(cohort, arms, ae_test, min_cell), arms) + \
        claims.rows(pub, cohort, None, parts=["events"])
    return out + (numbers.rows(pub, cohort, None, parts=["events"], have=out) if min_cell <= 0 else [])
