"""The reproduction scorecard: every published number beside the number the notebooks computed.

Published values come from data/published/*.yaml (helpers.publication.published); computed
values only from the notebooks' result CSVs (helpers.compare.results), joined on
study / measure / outcome / timepoint / group / statistic. Neither is copied
into the other. Each published number has

- a status: reproduced (the computed value rounds to the published one at its
  decimals), differs, suppressed (disclosure control hid the computed number), or not
  computed (no notebook wrote a matching row);
- a role (helpers.compare.provenance): target (the reconstruction was built to make it
  true), independent check, infeasible (with the proof) or resolution (set aside
  in a contradiction between sources, with the reason).

A real cohort compared with a publication (`as_published`) has its rows renamed first: its study as the
published one, its arms as the published arms, every comparison of two arms in the published order (a
difference or ratio turned round with it).

`check` is the same comparison for one study's cohort, computed on the spot from its rows by the
chapters' own rows (helpers.chapters.check): `python -m helpers reconstruct --check`.
"""
from __future__ import annotations

import math
import re

import pandas as pd

from helpers import labels
from helpers.compare import claims, provenance, results
from helpers.methods import disclosure
from helpers.present.tables import format_p, p_beside
from helpers.publication import feasibility, published, targets
from helpers.text import literal

KEYS = ["study", "measure", "outcome", "timepoint", "group", "statistic"]


def _key(values) -> tuple:
    """A join key with missing parts ('' for None / NaN), every part as text, and groups joined by '+'
    in one order ('partial+none' and 'none+partial' are the same patients)."""
    parts = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]
    parts[4] = "+".join(sorted(parts[4].split("+"))) if "+" in parts[4] else parts[4]
    return tuple(parts)


COLUMNS = ["study", "id", "source", "quote", *KEYS[1:], "published", "decimals", "says", "computed", "detail",
           "test", "status", "role", "role_why", "reason", "could_fail", "could_fail_why"]


REAL_COHORT = provenance.Role("check", "A real cohort compared with the publication: nothing was built to match it.")

VERSUS = " vs "
SYMMETRIC = {"p_value", "logrank_p"}   # the same whichever arm of a comparison comes first
TURNED = {"difference": lambda v: -v, "odds_ratio": lambda v: 1 / v, "hazard_ratio": lambda v: 1 / v}


def as_published(rows: pd.DataFrame, compared: dict[str, tuple[str, dict[str, str]]]) -> pd.DataFrame:
    """A real cohort's result rows in the words of the publications it is compared with: `compared` is
    {the cohort's study: (published study, {the cohort's arm: the published arm, in the published order})}.
    Rows of other studies are left out; an arm with no published counterpart keeps its name (and so joins
    nothing). A comparison 'a vs b' is written in the published order, its counts ('k/n vs k/n') with it, and a
    difference or a ratio turned round when the order changes."""
    out = []
    for r in rows[rows["study"].isin(compared)].to_dict("records"):
        study, arms = compared[r["study"]]
        order = list(arms.values())
        r["study"] = study
        names = [arms.get(a, a) for a in str(r["group"]).split(VERSUS)]
        if len(names) == 2 and set(names) <= set(order) and order.index(names[0]) > order.index(names[1]):
            statistic = r["statistic"]
            if statistic not in SYMMETRIC and statistic not in TURNED:
                raise ValueError(f"{statistic}: not known to be symmetric or turned round with the arms' order")
            if statistic in TURNED and r["value"] == r["value"]:
                r["value"] = TURNED[statistic](float(r["value"]))
            names.reverse()
            counts, sep, note = str(r["detail"]).partition("; ")
            parts = counts.split(VERSUS)
            if len(parts) == 2:
                r["detail"] = VERSUS.join(reversed(parts)) + sep + note
        r["group"] = VERSUS.join(names)
        out.append(r)
    return pd.DataFrame(out, columns=rows.columns)


def build(results_frame: pd.DataFrame, studies, reconstructed: bool = True) -> pd.DataFrame:
    """One row per published number of `studies` (helpers.publication.published.Study objects):
    published value, computed value and counts from `results_frame`, status, role, reason.
    On a real cohort (`reconstructed=False`) no number is a target: each one the reconstruction
    would be built to hit is an independent comparison instead."""
    computed: dict[tuple, list] = {}
    for r in results_frame.to_dict("records"):
        computed.setdefault(_key(r[k] for k in KEYS), []).append(r)
    rows = []
    for pub in studies:
        roles = provenance.roles(pub, reconstructed)
        for n in pub.numbers:
            matches = computed.get(_key([pub.study, n.key, n.outcome, n.timepoint, n.group, n.statistic]), [])
            values = [float(m["value"]) for m in matches]
            value = values[0] if values else math.nan
            role = roles[n.id]
            if not reconstructed and role.kind in ("target", "not_reached"):   # the reconstruction's words
                role = REAL_COHORT
            first = matches[0] if matches else {}
            if role.kind == "not_expressible":
                status, reason = "not expressible", role.why
            elif not matches:
                status, reason = "not computed", "No notebook wrote this number."
            elif any(not _same(v, value) for v in values):
                status = "differs"
                reason = "Notebooks disagree: " + ", ".join(f"{v:g}" for v in values) + "."
            elif math.isnan(value) and _text(first.get("detail")) == disclosure.HIDDEN:
                status, reason = "suppressed", "Hidden by disclosure control (min_cell): it rests on too few patients."
            elif not math.isnan(value) and n.agrees(value):
                status, reason = "reproduced", ""
            elif not reconstructed:
                status, reason = "differs", role.why if role.kind in ("infeasible", "resolution") else ""
            elif role.kind == "repeat":
                status, reason = "differs", f"{role.why} {_why_differs(pub, pub.number(n.same_as), roles[n.same_as])}"
            else:
                status, reason = "differs", _why_differs(pub, n, role)
            could, could_why = _could_fail(pub, n, role)
            rows.append({
                "study": pub.study, "id": n.id, "source": n.source, "quote": n.quote,
                **{k: ("" if getattr(n, k) is None else getattr(n, k)) for k in KEYS[1:]},
                "published": n.value, "decimals": n.decimals, "says": "", "computed": value,
                "detail": _text(first.get("detail")), "test": _text(first.get("test")),
                "status": status, "role": role.kind, "role_why": role.why, "reason": reason,
                "could_fail": could, "could_fail_why": could_why,
            })
        rows += _claim_rows(pub, computed, reconstructed)
    return pd.DataFrame(rows, columns=COLUMNS)


def _could_fail(pub: published.Study, n: published.Number, role: provenance.Role) -> tuple[str, str]:
    """For an independent check: could any data consistent with the published numbers have failed it
    ('yes' / 'no', with the range the consistent count tables give); '' for every other role."""
    if role.kind != "check":
        return "", ""
    pinned = targets.effect_range(pub, n)
    if pinned is not None:
        low, high, some, every = pinned
        return ("no" if every or not some else "yes"), (
            f"The counts behind it are the published percentages' (targets): over every count pair they allow, the "
            f"crude value runs from {low:.3g} to {high:.3g}, which rounds to the published one "
            f"{'always' if every else 'sometimes' if some else 'never'}.")
    if n.statistic != "p_value":
        return "yes", "Nothing published fixes the value the rows give."
    found = feasibility.check_range(pub, n)
    if found is None and (over := targets.arms_p_range(pub, n)) is not None:
        low, high, some, every = over
        return ("no" if every or not some else "yes"), (
            f"The counts behind it are the published figures' (targets): over every count table they allow, the "
            f"Pearson chi-square p over all arms runs from {low:.3g} to {high:.3g}, which rounds to the published "
            f"one {'always' if every else 'sometimes' if some else 'never'}.")
    if found is None:
        return "yes", "The counts behind it are not published: the rows could give any p."
    return ("yes" if found.could_fail else "no"), found.text()


def _claim_rows(pub: published.Study, computed: dict, reconstructed: bool) -> list[dict]:
    """One scorecard row per statement of `pub`'s claims (helpers.compare.claims): what the source says, the
    test and p the rows give, whether they agree, and the statement's role."""
    roles = provenance.claim_roles(pub)
    out = []
    for claim, measure in claims.statements(pub):
        role = roles[f"{claim.id}:{measure}"]
        if not reconstructed and role.kind == "target":
            role = REAL_COHORT
        found = [r for k, rs in computed.items() if k[0] == pub.study and k[1] == claims.key(claim, measure)
                 for r in rs]
        first = found[0] if found else {}
        value = float(first["value"]) if found else math.nan
        if role.kind == "not_expressible":
            status, reason = "not expressible", role.why
        elif not found:
            status, reason = "not computed", "No notebook tested this statement."
        elif math.isnan(value) and _text(first.get("detail")) == disclosure.HIDDEN:
            status, reason = "suppressed", "Hidden by disclosure control (min_cell): it rests on too few patients."
        elif claims.holds(claim, value, _text(first.get("detail"))):
            status, reason = "reproduced", ""
        else:
            status = "differs"
            given = f"p = {value:.3f}" if first.get("statistic") == "p_value" else _text(first.get("detail"))
            reason = (f"The rows give {given} ({_text(first.get('test'))}; {_text(first.get('detail'))}), not what the "
                      f"source says ({claims.wording(claim)}).")
        could, could_why = ("yes", "No source gives these values: the patient model draws them, never aiming at "
                                   "the statement.") if role.kind == "check" else ("", "")
        if role.kind == "check" and claims.no_events(measure, _text(first.get("detail"))):
            could, could_why = "no", ("The rows hold no such event in any arm: a test on none against none cannot "
                                      "find a difference, so agreeing with 'no difference' shows nothing.")
        out.append({"study": pub.study, "id": f"{claim.id}:{measure}", "source": claim.source, "quote": claim.quote,
                    "measure": claims.key(claim, measure), "outcome": "",
                    "timepoint": claim.timepoint if claim.timepoint != "baseline" else "",
                    "group": " vs ".join(pub.arms), "statistic": first.get("statistic", "p_value"),
                    "published": claim.alpha if claim.holds in ("no_difference", "higher") else 0.0,
                    "decimals": 2 if claim.holds in ("no_difference", "higher") else 0, "says": claims.wording(claim),
                    "computed": value, "detail": _text(first.get("detail")), "test": _text(first.get("test")),
                    "status": status, "role": role.kind, "role_why": role.why, "reason": reason,
                    "could_fail": could, "could_fail_why": could_why})
    return out


def _why_differs(pub: published.Study, n: published.Number, role: provenance.Role) -> str:
    if role.kind in ("infeasible", "not_reached", "resolution"):
        return role.why
    if targets.effect_range(pub, n) is not None:
        return ("The rows give the crude estimate of the published counts (odds ratio and its Woolf CI, risk ratio "
                "and its log CI, risk difference and its Newcombe CI); the source's does not round to it: it may come "
                "from a model (adjusted for other variables) or from other counts.")
    if n.statistic == "p_value":
        found = feasibility.verdict(pub, n)
        if found is None and (over := targets.arms_p_range(pub, n)) is not None:
            return (f"Over every count table the published figures allow, the Pearson chi-square p over all arms runs "
                    f"from {over[0]:.3g} to {over[1]:.3g}; the source's does not round to it: it may come from another "
                    f"test or other counts.")
        if found is None:
            return "The percentages behind this p-value are not published."
        if found.kind == "reached":
            hit = found.hits[0]
            return f"Not reproduced by these rows; {feasibility.TESTS[hit.test]} on {hit.counts} would give p = " \
                   f"{hit.p:.4f}."
    if role.kind == "check" and n.statistic != "p_value":
        return ("The reconstruction does not aim at it (helpers.publication.targets): the patient model and the "
                "assumptions give this value, which the source's does not round to.")
    if role.kind == "target":
        return (f"Not reached by the reconstruction's draws: the build sets a target aside when its draws keep "
                f"missing it, builds the rows without aiming at it, and says why in its message (`python -m helpers "
                f"reconstruct --study {pub.study}`).")
    return "Differs from the published value; no documented reason."


def _same(a: float, b: float) -> bool:
    """Equal, or both missing (a suppressed cell is missing in every notebook alike)."""
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def summary(card: pd.DataFrame) -> pd.DataFrame:
    """Counts per study and in total: published numbers and statements in words (claims); targets (and how
    many reproduced), independent checks (and how many reproduced), infeasible, not reached under the
    stated assumptions, resolutions, repeats (counted once, as the first), statements the rows cannot
    show, and those no notebook computed. Every number or statement is in exactly one role."""
    def counts(rows: pd.DataFrame) -> dict:
        done = rows["status"] == "reproduced"
        claim = rows["says"].astype(str) != ""
        return {"published": int((~claim).sum()), "claims": int(claim.sum()),
                "targets": int((rows["role"] == "target").sum()),
                "targets reproduced": int(((rows["role"] == "target") & done).sum()),
                "checks": int((rows["role"] == "check").sum()),
                "checks reproduced": int(((rows["role"] == "check") & done).sum()),
                "checks that could fail": int(((rows["role"] == "check") & (rows["could_fail"] == "yes")).sum()),
                "infeasible": int((rows["role"] == "infeasible").sum()),
                "not reached": int((rows["role"] == "not_reached").sum()),
                "resolutions": int((rows["role"] == "resolution").sum()),
                "repeats": int((rows["role"] == "repeat").sum()),
                "not expressible": int((rows["role"] == "not_expressible").sum()),
                "not computed": int((rows["status"] == "not computed").sum()),
                "suppressed": int((rows["status"] == "suppressed").sum())}
    out = [{"study": study, **counts(rows)} for study, rows in card.groupby("study", sort=False)]
    out.append({"study": "total", **counts(card)})
    return pd.DataFrame(out)


# --- rendering (MyST markdown) ---------------------------------------------------

def _cell(value) -> str:
    return re.sub(r"(?<!\\)\|", r"\\|", str(value)).replace("\n", " ")   # a pipe escaped once (text.literal escapes)


def markdown_table(frame: pd.DataFrame) -> str:
    """A pipe table; '|' in cells escaped."""
    lines = ["| " + " | ".join(_cell(c) for c in frame.columns) + " |",
             "|" + "|".join(" --- " for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def shown(value: float, published_value: float, decimals: int, statistic: str) -> str:
    """The computed value at the published precision; a p-value printed with fewer than three
    decimals also at three (or more where three would round the other way), so that 0.1 from
    0.056 and 0.1 from 0.149 are told apart."""
    if math.isnan(value):
        return ""
    places = max(decimals, 3)
    if statistic in ("p_value", "logrank_p") and value < 10.0 ** -places:
        return format_p(value, places)      # '< 0.001', as every table of the book prints it
    text = f"{value:.{decimals}f}"
    if statistic in ("p_value", "logrank_p") and decimals < 3:
        text += f" ({p_beside(value, published_value, decimals)})"
    return text


def render(card: pd.DataFrame, titles: dict[str, str] | None = None) -> str:
    """The scorecard page body: the summary table, then per study a table of its numbers
    and the reasons (numbers sharing a reason listed together)."""
    titles = titles or {}
    parts = ["## Summary\n", markdown_table(summary_display(card)), ""]
    for study, rows in card.groupby("study", sort=False):
        parts.append(f"## {titles.get(study) or literal(study)}\n")
        view = pd.DataFrame({
            "number": [literal(i, "code") for i in rows["id"]], "source": [literal(x) for x in rows["source"]],
            "published": [literal(x) for x in published_text(rows)],
            "computed": [shown(v, p, d, s) for v, p, d, s in
                         zip(rows["computed"], rows["published"], rows["decimals"], rows["statistic"])],
            "from": [literal(", ".join(x for x in (r.detail, r.test) if x)) for r in rows.itertuples()],
            "role": [provenance.ROLE_NAMES[r] for r in rows["role"]],
            "status": rows["status"],
        })
        parts += [markdown_table(view), ""]
        reasons: dict[str, list[str]] = {}
        for r in rows.itertuples():
            if r.role != "target" or r.status != "reproduced":
                text = r.reason or r.role_why
                if text:
                    reasons.setdefault(text, []).append(literal(r.id, "code"))
        if reasons:
            parts.append("Why:\n")
            parts += [f"- {', '.join(ids)}: {marked(text)}" for text, ids in reasons.items()]
            parts.append("")
    return "\n".join(parts)


def marked(reason: str) -> str:
    """A reason for the page: the ids it names in backticks as code spans, every other character literal
    (it quotes the study files' words)."""
    parts = re.split(r"`([^`]+)`", str(reason))
    return "".join(literal(part, "code") if i % 2 else literal(part) for i, part in enumerate(parts))


def published_text(rows: pd.DataFrame) -> list[str]:
    """The 'published' column: the number at its printed precision, or what a claim says."""
    return [says if says else f"{v:.{d}f}" for v, d, says in zip(rows["published"], rows["decimals"], rows["says"])]


def summary_display(card: pd.DataFrame) -> pd.DataFrame:
    """The summary with 'reproduced of' columns, for a page."""
    s = summary(card)
    return pd.DataFrame({
        "study": s["study"], "published numbers": s["published"], "statements in words": s["claims"],
        "targets reproduced": [f"{a} of {b}" for a, b in zip(s["targets reproduced"], s["targets"])],
        "independent checks reproduced": [f"{a} of {b}" for a, b in zip(s["checks reproduced"], s["checks"])],
        "checks that could have failed": s["checks that could fail"],
        "infeasible (with proof)": s["infeasible"], "not reached under the assumptions": s["not reached"],
        "resolutions": s["resolutions"], "repeats (counted once)": s["repeats"],
        "not expressible": s["not expressible"], "not computed": s["not computed"],
        **({"suppressed": s["suppressed"]} if s["suppressed"].any() else {})})


def render_comparison(card: pd.DataFrame, titles: dict[str, str], cohorts: dict[str, str]) -> str:
    """The comparison page of a real cohort's book: per published study (titled by `titles`, compared with the
    cohort named by `cohorts`), each published number beside this cohort's, with its status, and the reasons a
    source gives for a number no data can give. Statements in words no chapter tested are counted, not listed."""
    parts = []
    for study, rows in card.groupby("study", sort=False):
        untested = (rows["says"].astype(str) != "") & (rows["status"] == "not computed")
        parts.append(f"## {titles.get(study, study)}\n")
        parts.append(comparison_sentence(rows, cohorts.get(study, "this cohort"))
                     + (f" Its {int(untested.sum())} statements in words are not tested on this cohort."
                        if untested.any() else "") + "\n")
        rows = rows[~untested]
        view = pd.DataFrame({
            "number": [f"`{i}`" for i in rows["id"]], "source": rows["source"],
            "published": published_text(rows),
            "this cohort": [shown(v, p, d, s) for v, p, d, s in
                            zip(rows["computed"], rows["published"], rows["decimals"], rows["statistic"])],
            "from": [", ".join(x for x in (r.detail, r.test) if x) for r in rows.itertuples()],
            "status": ["same" if x == "reproduced" else x for x in rows["status"]],
        })
        parts += [markdown_table(view), ""]
        reasons: dict[str, list[str]] = {}
        for r in rows.itertuples():
            if r.role in ("infeasible", "resolution", "repeat", "not_expressible"):
                reasons.setdefault(of_the_sources(r.role_why), []).append(f"`{r.id}`")
        if reasons:
            parts.append("What the sources' own numbers say:\n")
            parts += [f"- {', '.join(ids)}: {marked(text)}" for text, ids in reasons.items()]
            parts.append("")
    return "\n".join(parts)


RECONSTRUCTION_WORDS = re.compile(r"(?<!-)\btargets?\b|independent checks?|reconstruct|synthetic|build the rows|"
                                  r"built to", re.I)   # 'multi-target' is a therapy, not a role


def of_the_sources(reason: str) -> str:
    """A reason as what the sources' own numbers say, for a real cohort's comparison: without the role's label
    ('Infeasible: ') and without a sentence or clause about how the reconstruction uses the number (a resolution's
    'both p-values become targets of this choice'), which a real cohort's book has no part in."""
    text = re.sub(r"^Infeasible: (\w)", lambda m: m.group(1).upper(), str(reason))
    pieces = re.split(r"(?<=[.;])\s+", text)
    dropped = [bool(RECONSTRUCTION_WORDS.search(p)) for p in pieces] + [True]
    kept = [p[:-1] + "." if p.endswith(";") and dropped[i + 1] else p     # a clause left before a dropped one
            for i, p in enumerate(pieces) if not dropped[i]]
    return " ".join(kept)


def comparison_sentence(card: pd.DataFrame, cohort: str) -> str:
    """One sentence of counts (published numbers, not statements in words) for a real cohort compared with a
    publication."""
    count = comparison_counts(card)
    parts = [f"**{count['reproduced']}** are the same in {cohort} (at the published rounding)",
             f"**{count['differs']}** differ"]
    parts += [f"**{count[k]}** {text}" for k, text in (("suppressed", "are suppressed (too few patients to show)"),
                                                       ("not computed", "are not computed for this cohort"),
                                                       ("not expressible", "speak of what the patient-level format "
                                                                           "does not hold"))
              if count[k]]
    return f"Of **{count['published']}** published numbers, " + labels.listed(parts) + "."


STATUSES = ("reproduced", "differs", "suppressed", "not computed", "not expressible")   # a real cohort's: one each


def comparison_counts(card: pd.DataFrame, claims: bool = False) -> dict[str, int]:
    """The published numbers (or, with `claims`, the statements in words) of a real cohort's comparison by status:
    'published' and one count per STATUSES, which add up to it."""
    said = card["says"].astype(str) != ""
    rows = card[said if claims else ~said]
    return {"published": len(rows), **{status: int((rows["status"] == status).sum()) for status in STATUSES}}


def _counted(count: dict, words: dict, always=()) -> str:
    parts = [f"{count[s]} {words[s]}" for s in STATUSES if count[s] or s in always]
    return labels.listed(parts)


def comparison_line(card: pd.DataFrame) -> str:
    """The build's closing line for a real cohort compared with publications, counted as the comparison page
    counts: 'of 30 published numbers, 0 the same in this cohort, 12 differ, 7 suppressed and 11 not computed;
    of 27 statements in words, 26 not tested and 1 not expressible in the patient-level format'. Each part adds
    up to its whole."""
    n, s = comparison_counts(card), comparison_counts(card, claims=True)
    text = f"of {n['published']} published numbers, " + _counted(
        n, {"reproduced": "the same in this cohort", "differs": "differ", "suppressed": "suppressed",
            "not computed": "not computed", "not expressible": "not expressible in the patient-level format"},
        always=STATUSES[:4])
    if s["published"]:
        text += f"; of {s['published']} statements in words, " + _counted(
            s, {"reproduced": "hold as published", "differs": "do not", "suppressed": "suppressed",
                "not computed": "not tested", "not expressible": "not expressible in the patient-level format"})
    return text


def summary_sentence(card: pd.DataFrame) -> str:
    """One sentence of counts for the introduction."""
    t = summary(card).iloc[-1]
    targets = (f"**{t['targets reproduced']} of {t['targets']}** targets are reproduced (the reconstruction was "
               f"built to make them true: this shows consistency, not an independent result); " if t["targets"] else "")
    optional = [(t["not reached"], "are not reached under the reconstruction's stated assumptions (each naming it)"),
                (t["repeats"], "repeat another source's statement and are counted once"),
                (t["not expressible"], "speak of what the patient-level format does not hold"),
                (t["not computed"], "are not computed")]
    return (f"Of **{t['published']}** published numbers and **{t['claims']}** statements in words, {targets}"
            f"**{t['checks reproduced']} of {t['checks']}** independent checks are reproduced (of which "
            f"**{t['checks that could fail']}** could have failed on data consistent with the sources); "
            f"**{t['infeasible']}** are infeasible for any patient-level data (each with its proof); "
            f"**{t['resolutions']}** are one side of a contradiction between sources, set aside"
            + "".join(f"; **{k}** {text}" for k, text in optional if k) + ".")


def check(pub: published.Study, rows: list[dict], not_reached: dict[str, str] | None = None) -> pd.DataFrame:
    """`python -m helpers reconstruct --check`: one row per published number and statement of `pub`, beside
    the same number recomputed from a cohort's rows by the chapters' own code (`rows`: helpers.chapters.check),
    with the match, role and reason of the scorecard (`build`). A target the build set aside (`not_reached`:
    {id: the build's reason}, helpers.reconstruct.record.built_from) that differs gives the build's reason."""
    card = build(pd.DataFrame(rows, columns=results.COLUMNS), [pub])
    if not_reached:
        said = card["id"].isin(list(not_reached)) & card["status"].eq("differs") & card["role"].eq("target")
        card.loc[said, "reason"] = card.loc[said, "id"].map(not_reached)
    return card.assign(recomputed=card["computed"], from_rows=card["detail"],
                       match=card["status"].eq("reproduced"))


def check_text(table: pd.DataFrame) -> str:
    """The check's table for a terminal: one line per published number."""
    def recomputed(row):
        v = row["recomputed"]
        return "n/a" if v != v else shown(v, row["published"], row["decimals"], row["statistic"])

    view = pd.DataFrame({
        "id": table["id"],
        "published": published_text(table),
        "from rows": [recomputed(r) for _, r in table.iterrows()],
        "counts": table["from_rows"],
        "match": ["n/a" if s == "not expressible" else "yes" if m else "NO"
                  for s, m in zip(table["status"], table["match"])],
        "role": table["role"].map(provenance.ROLE_NAMES),
        "could fail": table["could_fail"],
        "test": table["test"],
    })
    return view.to_string(index=False)
