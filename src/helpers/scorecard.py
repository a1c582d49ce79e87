"""The reproduction scorecard: every published number beside the number the notebooks computed.

Published values come from data/published/*.yaml (helpers.published); computed
values only from the notebooks' result CSVs (helpers.results), joined on
study / measure / outcome / timepoint / group / statistic. Neither is copied
into the other. Status of each published number:

- reproduced:   the computed value rounds to the published one at its decimals;
- differs:      it does not (reason from the YAML resolutions; for p-values,
                which standard tests on counts consistent with the published
                percentages could give it: helpers.audit.p_value_reachable);
- not computed: no notebook wrote a matching row.
"""
from __future__ import annotations

import math

import pandas as pd

from . import published
from .audit import p_value_reachable
from .consistency import rounds_to

KEYS = ["study", "measure", "outcome", "timepoint", "group", "statistic"]
STATUSES = ("reproduced", "differs", "not computed")


def _key(values) -> tuple:
    """A join key with missing parts ('' for None / NaN) and every part as text."""
    return tuple("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values)


def _p_value_reason(pub: published.Study, n: published.Number) -> str:
    if n.statistic != "p_value":
        return ""
    hits = p_value_reachable(pub, n)
    if hits is None:
        return "The percentages behind this p-value are not published."
    if not hits:
        return ("No Pearson, Yates or Fisher test on any counts consistent with the published "
                "percentages gives this p-value.")
    more = f" (and {len(hits) - 3} more)" if len(hits) > 3 else ""
    return "Reachable by " + "; ".join(hits[:3]) + more + "."


def build(results_frame: pd.DataFrame, studies) -> pd.DataFrame:
    """One row per published number of `studies` (helpers.published.Study objects):
    published value, computed value and counts from `results_frame`, status, reason, note."""
    computed: dict[tuple, list] = {}
    for r in results_frame.to_dict("records"):
        computed.setdefault(_key(r[k] for k in KEYS), []).append(r)
    rows = []
    for pub in studies:
        why = {}
        for res in pub.resolutions:  # a number set aside by a resolution first, then any it is about
            for i in res.about:
                why.setdefault(i, res.why)
        for res in pub.resolutions:
            for i in res.sets_aside:
                why[i] = res.why
        constructed = {i: a.what for a in pub.assumptions for i in a.by_construction}
        for n in pub.numbers:
            matches = computed.get(_key([pub.study, n.measure, n.outcome, n.timepoint, n.group, n.statistic]), [])
            values = [float(m["value"]) for m in matches]
            value = values[0] if values else math.nan
            if not matches:
                status, reason = "not computed", "No notebook wrote this number."
            elif any(not math.isclose(v, value, rel_tol=1e-9, abs_tol=1e-12) for v in values):
                status = "differs"
                reason = "Notebooks disagree: " + ", ".join(f"{v:g}" for v in values) + "."
            elif not math.isnan(value) and rounds_to(value, n.value, n.decimals):
                status, reason = "reproduced", ""
            else:
                status = "differs"
                reason = " ".join(x for x in (why.get(n.id, ""), _p_value_reason(pub, n)) if x) \
                    or "Differs from the published value; no documented reason."
            first = matches[0] if matches else {}
            rows.append({
                "study": pub.study, "id": n.id, "source": n.source, "quote": n.quote,
                **{k: ("" if getattr(n, k) is None else getattr(n, k)) for k in KEYS[1:]},
                "published": n.value, "decimals": n.decimals, "computed": value,
                "detail": _text(first.get("detail")), "test": _text(first.get("test")),
                "status": status, "reason": reason,
                "note": f"By construction: {constructed[n.id]}" if n.id in constructed and status == "reproduced" else "",
            })
    return pd.DataFrame(rows)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def summary(card: pd.DataFrame) -> pd.DataFrame:
    """Counts per study and in total: published, reproduced (of which by construction), differs, not computed."""
    def counts(rows: pd.DataFrame) -> dict:
        return {"published": len(rows),
                "reproduced": int((rows["status"] == "reproduced").sum()),
                "by construction": int((rows["note"] != "").sum()),
                "differs": int((rows["status"] == "differs").sum()),
                "not computed": int((rows["status"] == "not computed").sum())}
    out = [{"study": study, **counts(rows)} for study, rows in card.groupby("study", sort=False)]
    out.append({"study": "total", **counts(card)})
    return pd.DataFrame(out)


# --- rendering (MyST markdown) ---------------------------------------------------

def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table; '|' in cells escaped."""
    lines = ["| " + " | ".join(_cell(c) for c in frame.columns) + " |",
             "|" + "|".join(" --- " for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _shown(value: float, decimals: int) -> str:
    return "" if math.isnan(value) else f"{value:.{decimals}f}"


def render(card: pd.DataFrame, titles: dict[str, str] | None = None) -> str:
    """The scorecard page body: the summary table, then per study a table of its numbers
    and the reasons (numbers sharing a reason listed together)."""
    titles = titles or {}
    parts = ["## Summary\n", markdown_table(summary(card)), ""]
    for study, rows in card.groupby("study", sort=False):
        parts.append(f"## {titles.get(study, study)}\n")
        view = pd.DataFrame({
            "number": [f"`{i}`" for i in rows["id"]], "source": rows["source"],
            "published": [f"{v:.{d}f}" for v, d in zip(rows["published"], rows["decimals"])],
            "computed": [_shown(v, d) + (f" ({v:.{d + 3}g})" if s != "reproduced" and v == v and round(v, d) != v else "")
                         for v, d, s in zip(rows["computed"], rows["decimals"], rows["status"])],
            "from": [", ".join(x for x in (r.detail, r.test) if x) for r in rows.itertuples()],
            "status": [r.status + (" (by construction)" if r.note else "") for r in rows.itertuples()],
        })
        parts += [markdown_table(view), ""]
        reasons: dict[str, list[str]] = {}
        for r in rows.itertuples():
            for text in (r.reason, r.note):
                if text:
                    reasons.setdefault(text, []).append(f"`{r.id}`")
        if reasons:
            parts.append("Why:\n")
            parts += [f"- {', '.join(ids)}: {text}" for text, ids in reasons.items()]
            parts.append("")
    return "\n".join(parts)


def summary_sentence(card: pd.DataFrame) -> str:
    """One sentence of counts for the introduction."""
    t = summary(card).iloc[-1]
    return (f"Of **{t['published']}** published numbers, **{t['reproduced']}** are reproduced by the notebooks "
            f"({t['by construction']} of them by construction of the reconstructed cohort), "
            f"**{t['differs']}** differ and **{t['not computed']}** are not computed.")
