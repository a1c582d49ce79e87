"""'What this shows': the paragraph that closes each chapter, written from the chapter's result rows (the same
rows its result table holds), so that it changes with the parameters and the cohort. Each says the clinical
finding, how it compares with the publication (on a reconstructed cohort: how many published numbers the rows
reproduce, by role, and what the sources cannot all say at once), and what an assumption decides. Words only:
clinical labels, never the ids of the result files."""
from __future__ import annotations

from helpers import labels
from helpers.compare.marks import SYMBOLS
from helpers.present.tables import format_p

ROLE_WORDS = {"target": ("target", "targets", "built to match"),
              "check": ("independent check", "independent checks", "not used to build the rows"),
              "resolution": ("resolution", "resolutions", "the value kept where the sources disagree")}
OTHER_WORDS = {"differs": "differ{s}", "infeasible": "{are} infeasible for any data",
               "not_reached": "{are} reached by no data under the stated assumptions"}


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def _p(p) -> str:
    """'p = 0.042', 'p < 0.001' (never 'p = < 0.001')."""
    text = format_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _signed(value: float) -> str:
    return f"{value:+.2f}".replace("-", "−")


def _of(rows: list[dict], study: str, **keys) -> list[dict]:
    return [r for r in rows if r["study"] == study and all(r.get(k) == v for k, v in keys.items())]


def _value(rows: list[dict], study: str, **keys):
    found = [r["value"] for r in _of(rows, study, **keys) if r["value"] == r["value"]]
    return found[0] if found else None


def tally(rows: list[dict], study: str, marker) -> str:
    """'Of the 24 published numbers these rows recompute, 22 are reproduced (15 targets, built to match; ...)':
    every result row with a published counterpart, by the mark it gets (helpers.compare.marks). '' on a real
    cohort."""
    if marker is None or not marker.active:
        return ""
    marker = marker.fresh()
    kinds = {symbol: kind for kind, symbol in SYMBOLS.items()}
    seen = {}
    for r in _of(rows, study):
        if r["value"] != r["value"] or r["statistic"] in ("mean_change",):
            continue
        args = (r["measure"], r["statistic"], r["group"], r["outcome"], r["timepoint"])
        if not marker.published(*args):
            continue
        symbol = marker.mark(r["value"], *args).strip()[:1]
        seen[kinds.get(symbol, "differs")] = seen.get(kinds.get(symbol, "differs"), 0) + 1
    total = sum(seen.values())
    if not total:
        return ""
    done = [f"{seen[k]} {ROLE_WORDS[k][0] if seen[k] == 1 else ROLE_WORDS[k][1]} ({SYMBOLS[k]}, {ROLE_WORDS[k][2]})"
            for k in ROLE_WORDS if seen.get(k)]
    reproduced = sum(seen.get(k, 0) for k in ROLE_WORDS)
    text = ((f"The one published number this chapter recomputes is {'' if reproduced else 'not '}reproduced"
             if total == 1 else f"Of the {total} published numbers this chapter recomputes, {reproduced} "
             f"{'is' if reproduced == 1 else 'are'} reproduced") + (f": {labels.listed(done)}" if done else "") + ".")
    rest = [f"{seen[k]} " + OTHER_WORDS[k].format(s="s" if seen[k] == 1 else "", are="is" if seen[k] == 1 else "are")
            + f" ({SYMBOLS[k]})" for k in OTHER_WORDS if seen.get(k)]
    return text + (f" Of the others, {labels.listed(rest)}." if rest else "")


def cohort(rows: list[dict], study: str, groups: list[str], marker=None) -> str:
    """Chapter 01: who the patients are, by group, and how Table 1 compares with the sources."""
    n = _value(rows, study, measure="n_patients", statistic="count", group="all")
    if n is None:
        return ""
    parts = []
    for g in groups:
        size = _value(rows, study, measure="n_patients", statistic="count", group=g)
        female = _value(rows, study, measure="female", statistic="percent", group=g)
        age = _value(rows, study, measure="age", statistic="mean", group=g)
        if size is None:
            continue
        parts.append(f"{labels.group(g).lower()} {int(size)}" + (f" ({_pct(female)} women" if female is not None
                                                                  else "")
                     + (f", mean age {age:.1f} years)" if age is not None else ")" if female is not None else ""))
    text = f"{int(n)} patients" + (f": {labels.listed(parts)}." if parts else ".")
    said = _of(rows, study, statistic="p_value")
    similar = [r for r in said if r["measure"].startswith("claim:") and r["value"] == r["value"]]
    low = [r for r in similar if r["value"] < 0.05]
    if similar:
        text += (" At baseline the groups differ with p < 0.05 in " +
                 labels.listed([labels.MEASURES.get(r["measure"].rsplit(":", 1)[-1], r["measure"].rsplit(":", 1)[-1])
                       for r in low]) + "." if low else
                 " The baseline characteristics the sources compare do not differ between the groups (every p ≥ 0.05).")
    return " ".join(x for x in (text, tally(rows, study, marker)) if x)


def response(rows: list[dict], study: str, arms: list[str], timepoints: dict[str, int], marker=None,
             alpha: float = 0.05) -> str:
    """Chapter 02: how CR and overall response compare between the arms over time, which differences have
    p < alpha (never one an assumption decides), the published p-values the published percentages cannot give,
    and what is assumed."""
    if len(arms) != 2:
        return "One arm or more than two: the tables give each arm's response; no two-arm summary here."
    a, b = arms
    versus = f"{a} vs {b}"
    when = {tp: labels.timepoint(tp, day) for tp, day in timepoints.items()}
    out = []
    for outcome in ("CR", "overall"):
        pairs = [(tp, _value(rows, study, measure="response", statistic="percent", group=a, outcome=outcome,
                             timepoint=tp),
                  _value(rows, study, measure="response", statistic="percent", group=b, outcome=outcome,
                         timepoint=tp),
                  _value(rows, study, measure="response", statistic="p_value", group=versus, outcome=outcome,
                         timepoint=tp)) for tp in timepoints]
        pairs = [p for p in pairs if p[1] is not None and p[2] is not None]
        if not pairs:
            continue
        lower = [(tp, x, y) for tp, x, y, _ in pairs if x < y]
        name = labels.OUTCOMES[outcome]
        than = f"with {labels.arm(a).lower()} than with {labels.arm(b).lower()}"
        unshown = [when[tp] for tp in timepoints if tp not in {p[0] for p in pairs}]
        shown = labels.listed([when[p[0]] for p in pairs])
        every = "at every timepoint" if not unshown else \
            f"at every timepoint shown ({shown}; not shown: {labels.listed(unshown)})"

        def values(chosen):
            return labels.listed([f"{_pct(x)} vs {_pct(y)} at {when[tp]}" for tp, x, y, *_ in chosen])
        ends = pairs[:1] if len(pairs) == 1 else [pairs[0], pairs[-1]]
        if len(lower) == len(pairs):
            trend = f"{name} was lower {than} {every}: {values(ends)}"
        elif not lower:
            trend = f"{name} was higher {than} {every}: {values(ends)}"
        else:
            trend = (f"{name} was lower {than} at {len(lower)} of the {len(pairs)} timepoints shown "
                     f"({values(lower)}) and not lower at the others")
        decided = {tp for tp, *_ in pairs if marker is not None and marker.assumed(outcome, tp, arms)}
        low = [(tp, x, y, p) for tp, x, y, p in pairs if p is not None and p < alpha and tp not in decided]
        trend += ("; p < " + f"{alpha:g} at " + labels.listed([f"{when[tp]} ({_pct(x)} vs {_pct(y)}, {_p(p)})"
                                                       for tp, x, y, p in low]) if low else
                  f"; no difference the sources decide has p < {alpha:g}")
        out.append(trend + ".")
    out += _impossible_p(rows, study, arms, timepoints, marker)
    if (said := tally(rows, study, marker)):
        out.append(said)
    assumed = [f"{labels.OUTCOMES[o].split(' (')[0].lower()} at {when[tp]}" for o in ("CR", "PR") for tp in timepoints
               if marker is not None and marker.assumed(o, tp, arms)]
    if assumed:
        out.append(f"No source publishes {labels.listed(assumed)}: an assumption of the reconstruction (the same in "
                   f"both arms wherever the sources allow) decides them. They are drawn hollow, marked †, and no "
                   f"difference there is evidence about the treatment.")
    return " ".join(out)


def _impossible_p(rows, study, arms, timepoints, marker) -> list[str]:
    """For each published p-value the published percentages cannot give: what they give instead."""
    if marker is None or not marker.active:
        return []
    a, b = arms
    out = []
    for outcome in ("CR", "PR", "overall"):
        for tp, day in timepoints.items():
            published = marker.published("response", "p_value", f"{a} vs {b}", outcome, tp)
            computed = _value(rows, study, measure="response", statistic="p_value", group=f"{a} vs {b}",
                              outcome=outcome, timepoint=tp)
            if not published or computed is None or marker.kind(published[0]) not in ("not_reached", "infeasible"):
                continue
            shares = [marker.published("response", "percent", arm, outcome, tp) for arm in arms]
            test = next((r["test"] for r in _of(rows, study, measure="response", statistic="p_value",
                                                  group=f"{a} vs {b}", outcome=outcome, timepoint=tp)), "")
            p = published[0]
            what = f"{labels.OUTCOMES[outcome].split(' (')[0]} at {labels.timepoint(tp, day)}"
            if all(shares):
                own = " vs ".join(f"{s[0].value:.{s[0].decimals}f}%" for s in shares)
                text = (f"{what}: the published p = {p.value:.{p.decimals}f} cannot come from the source's own "
                        f"{own}; those give {_p(computed)} here ({test})")
            else:
                text = f"{what}: the published p = {p.value:.{p.decimals}f}; these rows give {_p(computed)}"
            out.append(text + (", and no count table consistent with the sources gives it with any standard test."
                               if marker.kind(p) == "infeasible" else
                               ", and no count table under the stated assumptions gives it (see the audit)."))
    return out


def safety(rows: list[dict], study: str, arms: list[str], marker=None, alpha: float = 0.05) -> str:
    """Chapter 03: flares and poor outcomes per arm with the log-rank p, the adverse events that differ, and
    what is assumed."""
    versus = " vs ".join(arms)
    out = []
    for name in ("renal_flare", "poor_outcome"):
        counts = [next((r["detail"] for r in _of(rows, study, measure=name, statistic="count", group=arm)), None)
                  for arm in arms]
        p = _value(rows, study, measure=name, statistic="logrank_p", group=versus)
        if not all(counts):
            continue
        text = (f"{labels.EVENTS[name]}: " + " vs ".join(f"{c} patients ({labels.arm(arm).lower()})"
                                                         for c, arm in zip(counts, arms)))
        out.append(text + (f", log-rank {_p(p)}." if p is not None else "."))
    ae = [r for r in _of(rows, study, group=versus, statistic="p_value")
          if r["measure"].startswith("adverse_event:") and r["value"] == r["value"]]
    low = [labels.category(r["measure"].split(":", 1)[1]).lower() for r in ae if r["value"] < alpha]
    if ae:
        differ = (f"{labels.listed(low)} differ with p < {alpha:g} (not adjusted for multiple comparisons)." if low
                  else f"none differs between the arms with p < {alpha:g}.")
        out.append(f"Of {len(ae)} adverse-event categories, " + differ)
    if (said := tally(rows, study, marker)):
        out.append(said)
    if marker is not None and marker.active and len(arms) == 2 and not marker.published("renal_flare", "percent",
                                                                                        arms[0]):
        out.append("No source gives the events per arm, only that they did not differ: how they split between the "
                   "arms is an assumption (†), so these curves cannot show a treatment effect.")
    return " ".join(out)


def groups(rows: list[dict], study: str, order: list[str], timepoints: dict[str, int], marker=None) -> str:
    """Chapter 04: response by group before baseline at each timepoint, and how UPCR moved."""
    out = []
    for tp, day in timepoints.items():
        when = labels.timepoint(tp, day)
        per = []
        for g in ["all", *order]:
            k = next((r["detail"] for r in _of(rows, study, measure="response", statistic="percent", group=g,
                                               outcome="overall", timepoint=tp) if r["value"] == r["value"]), None)
            v = _value(rows, study, measure="response", statistic="percent", group=g, outcome="overall", timepoint=tp)
            if k is not None:
                per.append(f"{labels.group(g).lower()} {k} ({_pct(v)})")
        if per:
            out.append(f"At {when}, overall response (CR or PR): {labels.listed(per)}.")
        before = _value(rows, study, measure="upcr", statistic="mean", group="all", timepoint="baseline")
        after = _value(rows, study, measure="upcr", statistic="mean", group="all", timepoint=tp)
        change = next((r for r in _of(rows, study, measure="upcr", statistic="mean_change", group="all", timepoint=tp)
                       if r["value"] == r["value"]), None)
        if before is not None and after is not None and change is not None:
            counts = [next((r["detail"] for r in _of(rows, study, measure="upcr", statistic="mean", group="all",
                                                     timepoint=t)), "") for t in ("baseline", tp)]
            apart = counts[0] != change["detail"] or counts[1] != change["detail"]
            out.append(f"Mean UPCR went from {before:.2f} g/g at baseline ({counts[0]}) to {after:.2f} g/g at {when} "
                       f"({counts[1]}); in the {change['detail'].removeprefix('n = ')} patients measured at both "
                       f"visits it changed by {_signed(change['value'])} g/g on average"
                       + (" (the means are over different patients, so their difference is not that change)."
                          if apart else "."))
    if (said := tally(rows, study, marker)):
        out.append(said)
    if marker is not None and marker.active:
        out.append("No source gives each patient's pair of values, so the paired changes and their p-values rest on "
                   "an assumption of the reconstruction (†).")
    return " ".join(out)


def audit(pub, percentages, p_values, sizes) -> str:
    """The audit chapter's finding for one study, from its audit tables (helpers.publication.audit, the codes
    kept): how many published percentages fit the stated sample size, fit only fewer evaluated patients, or fit
    none up to it (with the first that does); how many published p-values are reached under the stated
    assumptions, only without them, or by no consistent count table; and whether the sources' totals agree."""
    from helpers.publication.audit import number_words
    parts = []
    if len(percentages):
        verdicts = percentages["verdict"]
        stated = int(verdicts.str.startswith("consistent with the stated").sum())
        fewer = int(verdicts.str.startswith("consistent with fewer").sum())
        bad = percentages[verdicts.str.startswith("INCONSISTENT")]
        text = (f"Of {len(percentages)} published percentages, {stated} fit the sample size their source states "
                f"and {fewer} fit only fewer patients evaluated (loss to follow-up)")
        if len(bad):
            first = bad.iloc[0]
            what = number_words(pub, pub.number(first["id"]))
            text += (f"; {len(bad)} fit no sample size up to the stated one ({what} = {first['published %']}%: "
                     f"{first['verdict'].split('; ')[-1]})")
        parts.append(text + ".")
    if len(p_values):
        kinds = p_values["verdict"].str.split(":").str[0]
        counted = {k: int((kinds == k).sum()) for k in ("Reached under the stated assumptions",
                                                        "Not reached under the stated assumptions", "Infeasible")}
        unknown = int(p_values["count tables"].eq(0).sum())
        text = (f"Of {len(p_values)} published p-values, {counted['Reached under the stated assumptions']} are "
                f"reached under the study file's stated assumptions, "
                f"{counted['Not reached under the stated assumptions']} only without one of them, and "
                f"{counted['Infeasible']} by no count table consistent with the published percentages under any of "
                f"the named tests")
        infeasible = p_values[kinds == "Infeasible"]
        if len(infeasible):
            text += f" ({labels.listed([number_words(pub, pub.number(i)) for i in infeasible['id']])})"
        parts.append(text + (f"; {unknown} rest on percentages the sources do not publish." if unknown else "."))
    if len(sizes):
        disagree = sizes[sizes["verdict"].str.startswith("DISAGREES")]
        if len(disagree):
            totals = labels.listed(sorted({str(v) for v in disagree["stated n"]}))
            arms = disagree["verdict"].iloc[0].split("(")[-1].rstrip(")")
            parts.append(f"{len(disagree)} of its {len(sizes)} sources give {totals} patients in all, which is not "
                         f"the sum of the arms ({arms}).")
    return " ".join(parts) or "Nothing in this study's sources can be checked against itself."


def statements(table) -> str:
    """The sources' statements in words this chapter tests on the rows (the table of
    helpers.compare.claims.view, or None): how many hold, by role, and each one that does not, with what the
    rows give. '' when the chapter tests none (a real cohort's book)."""
    if table is None:
        return ""
    frame = table.frame
    tested = frame[frame["Agree"] != ""]
    if not len(tested):
        return ""
    held = tested[tested["Agree"] == "yes"]
    checks = tested[tested["Role"] == "check"]
    targets = int((held["Role"] == "target").sum())
    roles = ([f"{targets} {'target' if targets == 1 else 'targets'} (built to hold)"] if targets else []) + \
        ([f"{int((checks['Agree'] == 'yes').sum())} of {len(checks)} independent checks (could have failed)"]
         if len(checks) else [])
    repeats = int((held["Role"] == "repeat").sum())
    roles = labels.listed(roles + ([f"{repeats} {'repeat' if repeats == 1 else 'repeats'} of them by another source "
                           f"(counted once)"] if repeats else []))
    text = (f"Of the {len(tested)} statements in words from the sources that this chapter tests on the rows, "
            f"{len(held)} hold" + (f": {roles}" if roles else ""))
    failed = tested[tested["Agree"] == "no"]
    if len(failed):
        def why(row) -> str:
            role = "an independent check that fails" if row["Role"] == "check" else f"a {row['Role']}"
            return (f"{row['Statement']} does not ({row['The source says']}; the rows give {row['The rows give']}: "
                    f"{role})")
        text += "; " + labels.listed([why(row) for _, row in failed.iterrows()])
    return text + "."
