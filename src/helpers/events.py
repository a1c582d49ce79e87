"""Events: time to first event (for Kaplan-Meier / log-rank) and adverse-event counts."""
from __future__ import annotations

import pandas as pd

POOR_OUTCOME = ("esrd", "death")


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


def adverse_event_comparison(cohort, arms, test: str = "fisher") -> pd.DataFrame:
    """Per adverse-event category: patients with the event per arm ({arm}_k, {arm}_n), the p-value
    and the test, in the shape of stats.response_comparison; an arm without patients or a cohort
    without adverse events gives 'not estimable' with the reason."""
    from .stats import compare_proportions, not_estimable
    counts = adverse_event_counts(cohort, by="arm")
    sizes = cohort.patients["arm"].value_counts()
    categories = sorted(counts["category"].unique()) or ["(none recorded)"]
    rows = []
    for category in categories:
        part = counts[counts["category"] == category].set_index("arm")["k"]
        row = {"category": category}
        for arm in arms:
            row[f"{arm}_k"], row[f"{arm}_n"] = int(part.get(arm, 0)), int(sizes.get(arm, 0))
        ks = [row[f"{a}_k"] for a in arms]
        ns = [row[f"{a}_n"] for a in arms]
        if len(arms) != 2 or 0 in ns:
            result = not_estimable(test, "needs two arms with patients")
        elif category == "(none recorded)":
            result = not_estimable(test, "no adverse events recorded")
        else:
            result = compare_proportions(ks[0], ns[0], ks[1], ns[1], test)
        rows.append({**row, "p": result["p"], "test": result["test"], "note": result["note"]})
    return pd.DataFrame(rows)


def event_table(times: dict[str, pd.DataFrame], tests: dict[str, dict], arms, min_cell: int = 0) -> pd.DataFrame:
    """Per outcome: events/N per arm (from time_to_event), the p-value and its test."""
    from . import tables
    rows = []
    for name, t in times.items():
        counts = {f"{arm} events/N": tables.n_of_N(int(t.loc[t["arm"] == arm, "event"].sum()),
                                                  int((t["arm"] == arm).sum()), min_cell=min_cell) for arm in arms}
        rows.append({"outcome": name, **counts, "p": tables.format_p(tests[name]["p"]),
                     "test": tests[name]["test"], "note": tests[name]["note"]})
    return pd.DataFrame(rows).set_index("outcome")
