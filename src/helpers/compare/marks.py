"""Provenance marks beside the numbers a chapter shows, on a reconstructed cohort.

A computed number that has a published counterpart gets, when it rounds to the published value, a mark that
says how that value is known (helpers.compare.provenance):

- ◎ a target: the reconstruction was built to make it true (consistency, not evidence),
- ✓ an independent check: not used to build the rows, recomputed from them,
- ⇄ a resolution: the value kept where the sources contradict each other (the other in the notes);

and, whatever it computes to,

- ≠ when it differs (the published value is shown beside it),
- ✗ when the published value is infeasible for any patient-level data,
- ⊘ when no data reach the published value under the reconstruction's stated assumptions;

a number no source publishes gets

- ‡ when it follows from published numbers alone (the sum of published CR and PR counts),
- † when an assumption of the reconstruction decides it (the footnote names it).

The legend is said once per chapter (notebook.banner); each table's notes name the assumptions, derivations and
other sources its marks use. On a real cohort there are no marks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from helpers import labels
from helpers.compare.provenance import roles
from helpers.publication import feasibility, published
from helpers.publication.consistency import rounds_to

SYMBOLS = {"target": "◎", "check": "✓", "resolution": "⇄", "differs": "≠", "infeasible": "✗", "not_reached": "⊘",
           "derived": "‡", "assumed": "†"}
LEGEND = {
    "target": "◎ the published value, reproduced; the reconstruction was built to match it (a target: consistency, "
              "not evidence)",
    "check": "✓ the published value, reproduced; it was not used to build the rows (an independent check)",
    "resolution": "⇄ the value kept where the sources contradict each other, reproduced (a resolution; the other "
                  "value in the notes)",
    "differs": "≠ differs from the published value shown beside it",
    "infeasible": "✗ the published value, shown beside it, is infeasible for any patient-level data (see the "
                  "scorecard)",
    "not_reached": "⊘ the published value, shown beside it, is reached by no data under the reconstruction's stated "
                   "assumptions (see the audit)",
    "derived": "‡ not published, but follows from published numbers",
    "assumed": "† not published: an assumption of the reconstruction decides it",
}
REPRODUCED = ("target", "check", "resolution")


@dataclass
class Marker:
    """Marks for one study's numbers; `footnotes()` lists what the marks used so far mean."""
    pub: published.Study | None
    reconstructed: bool = True
    used: dict = field(default_factory=dict)      # kind -> legend line, in order of first use
    notes: dict = field(default_factory=dict)     # footnote text -> None, in order of first use
    sources: dict = field(default_factory=dict)   # source ids of the published values compared with

    def __post_init__(self):
        self.roles = roles(self.pub) if self.pub is not None and self.reconstructed else {}

    def fresh(self) -> Marker:
        """A marker for another table: the same study, no footnotes used yet."""
        return Marker(self.pub, self.reconstructed)

    @property
    def active(self) -> bool:
        return self.pub is not None and self.reconstructed

    def published(self, measure: str, statistic: str, group: str = "all", outcome=None, timepoint=None) -> list:
        """The published numbers with these keys (numbers set aside by a resolution last)."""
        if not self.active:
            return []
        alone = self.pub.arms[0] if len(self.pub.arms) == 1 else None   # one arm: its numbers are all patients'
        found = [n for n in self.pub.numbers if n.measure == measure and n.statistic == statistic
                 and (_same_group(n.group, group) or {n.group, group} == {"all", alone})
                 and n.outcome == outcome and n.timepoint == timepoint and not n.level and not n.threshold]
        return sorted(found, key=lambda n: n.id in self.pub.set_aside)

    def mark(self, value: float, measure: str, statistic: str, group: str = "all", outcome=None,
             timepoint=None) -> str:
        """The mark of a computed value: ' ✓', ' ≠ 12.3', ' ✗', ' ‡', ' †' or '' (real cohort, or missing)."""
        if not self.active or value != value:
            return ""
        numbers = self.published(measure, statistic, group, outcome, timepoint)
        if numbers:
            first = numbers[0]
            self.sources.setdefault(first.source, None)
            shown = f"{first.value:.{first.decimals}f}"
            kind = self.kind(first)
            if kind in ("infeasible", "not_reached"):
                return self._use(kind) + f" (published {shown})"
            if rounds_to(value, first.value, first.decimals):
                coarse = statistic in ("p_value", "logrank_p") and first.decimals < 3
                contested = any(n.value != first.value for n in numbers[1:])
                return self._use("resolution" if contested or kind == "resolution" else
                                 "target" if kind == "target" else "check") + (f" (published {shown})" if coarse
                                                                               else "")
            return self._use("differs") + f" (published {shown})"
        return self._unpublished(measure, statistic, group, outcome, timepoint)

    def kind(self, number) -> str:
        """The role of a published number (a repeat: the role of the number it repeats)."""
        seen = set()
        while self.roles[number.id].kind == "repeat" and number.same_as and number.id not in seen:
            seen.add(number.id)
            number = self.pub.number(number.same_as)
        return self.roles[number.id].kind

    def published_value(self, measure: str, statistic: str, group: str = "all", outcome=None, timepoint=None,
                        unit: str = "") -> tuple[str, str] | None:
        """(value as printed, source) of the published number with these keys that the book compares
        with; another source's different value is added to the footnotes."""
        numbers = self.published(measure, statistic, group, outcome, timepoint)
        if not numbers:
            return None
        first = numbers[0]
        for n in numbers[1:]:
            if n.value != first.value:
                kept = next((r.choice for r in self.pub.resolutions if n.id in r.sets_aside or n.id in r.about), "")
                self.notes.setdefault(f"{n.source} gives {n.value:.{n.decimals}f}{unit} ({labels.group(n.group)})"
                                      + (f"; set aside: the reconstruction keeps {kept[:1].lower() + kept[1:]}"
                                         if n.id in self.pub.set_aside and kept else ""), None)
        return f"{first.value:.{first.decimals}f}{unit}", first.source

    def footnotes(self) -> list[str]:
        """The sources of the published values compared with, then the notes on assumptions, derivations and
        other sources (what the marks mean is said once per chapter: `legend`)."""
        if not self.used:
            return list(self.notes)
        sources = "; ".join(f"{s} = {self.pub.sources[s].short or self.pub.sources[s].citation}" for s in self.sources)
        return ([f"Published values from: {sources}."] if sources else []) + list(self.notes)

    def legend(self) -> str:
        """'Marks: ◎ ...; ✓ ...' for the marks used so far, in a fixed order."""
        return "Marks: " + "; ".join(LEGEND[k] for k in LEGEND if k in self.used) + "." if self.used else ""

    def mark_mean_sd(self, mean: float, sd: float, measure: str, group: str = "all", timepoint=None) -> str:
        """One mark for a mean and its SD: the worse of the two (≠ or ✗ before ✓)."""
        marks = [self.mark(mean, measure, "mean", group, None, timepoint),
                 self.mark(sd, measure, "sd", group, None, timepoint)]
        for symbol in ("✗", "⊘", "≠", "†", "‡", "⇄", "◎", "✓"):
            found = [m for m in marks if m.strip().startswith(symbol)]
            if found:
                return " " + " ".join(m.strip() for m in found) if symbol in ("≠", "⊘", "✗") else found[0]
        return ""

    def unpublished(self, measure: str, outcome=None, timepoint=None) -> str:
        """The mark of a number no source publishes (' †' with its assumption's footnote, or ' ‡')."""
        return self._unpublished(measure, "", "all", outcome, timepoint) if self.active else ""

    def assumed(self, outcome: str, timepoint: str, arms) -> bool:
        """Is the comparison of `outcome` at `timepoint` between `arms` decided by an assumption (some
        arm's count follows from no published number)?"""
        return self.active and any(self._response_source(a, outcome, timepoint) == "assumed" for a in arms)

    def assumed_count(self, group: str, outcome: str, timepoint: str) -> bool:
        """Does an assumption of the reconstruction (no published number) decide this arm's count of
        `outcome` at `timepoint`? (A figure draws such a value hollow.)"""
        return self.active and self._response_source(group, outcome, timepoint) == "assumed"

    def pinned(self, outcome: str, timepoint: str) -> feasibility.DifferenceRange | None:
        """How far the sources pin an assumed comparison: the risk difference over every count table
        consistent with the published numbers of that timepoint (and, for CR or PR or the overall
        response, with a published p-value of the overall response there that some data can give)."""
        if not self.active or len(self.pub.arms) != 2:
            return None
        p = next((n for n in self.published("response", "p_value", " vs ".join(self.pub.arms), "overall", timepoint)
                  if self.roles[n.id].kind not in ("infeasible", "not_reached", "resolution")), None) \
            if outcome != "overall" or \
            self.assumed(outcome, timepoint, self.pub.arms) else None
        return feasibility.difference_range(self.pub, outcome, timepoint, p.id if p else None)

    def pinned_text(self, outcome: str, timepoint: str, when: str) -> str | None:
        """'† PR at 1 year: assumed; the sources allow a difference from +4.6 to +33.0 percentage points
        (tacrolimus minus no tacrolimus): higher with tacrolimus in every table they allow.'"""
        found = self.pinned(outcome, timepoint)
        if found is None or not found.tables:
            return None
        a, b = (labels.arm(x).lower() for x in found.arms)
        direction = (f"higher with {a if found.forced > 0 else b} in every table they allow" if found.forced else
                     "either arm may be higher")
        return (f"† {labels.OUTCOMES[outcome]} at {when}: decided by an assumption; the sources allow a difference "
                f"from {_points(found.low)} to {_points(found.high)} percentage points ({a} minus {b}): {direction}.")

    def pinned_events(self, kind: str, sizes: tuple[int, int]) -> str | None:
        """How far the sources pin the share of patients with an event of `kind` (renal_flare, poor_outcome,
        adverse_event) between the arms, when no source publishes its counts: from a claim of no
        significant difference (Fisher exact over every count pair), or not at all."""
        if not self.active or len(self.pub.arms) != 2 or self.published(kind, "percent", self.pub.arms[0]):
            return None
        label = labels.EVENTS.get(kind, kind)
        claim = next((c for c in self.pub.claims if kind in c.about and c.holds == "no_difference"), None)
        if claim is None:
            return f"† {label}: decided by an assumption; no source says how the arms compare."
        a, b = (labels.arm(x).lower() for x in self.pub.arms)
        found = feasibility.no_difference_range(*sizes, "fisher", claim.alpha, tuple(self.pub.arms))
        return (f"† {label}: decided by an assumption; the sources say only that there was no significant difference "
                f"({claim.source}): with {sizes[0]} and {sizes[1]} patients, that allows a difference from "
                f"{_points(found.low)} to {_points(found.high)} percentage points of patients with one ({a} minus "
                f"{b}, Fisher exact p >= {claim.alpha:g}).")

    # --- numbers no source publishes ----------------------------------------------------------------
    def _use(self, kind: str) -> str:
        self.used.setdefault(kind, LEGEND[kind])
        return " " + SYMBOLS[kind]

    def _unpublished(self, measure, statistic, group, outcome, timepoint) -> str:
        why = self._derivation(measure, statistic, group, outcome, timepoint)
        if why is None:
            assumption = self._assumption(measure, outcome, timepoint)
            why = (f"† {assumption.what}" + (f" {assumption.rule}" if assumption.rule else "")
                   if assumption else "† not published; chosen by the reconstruction")
            self.notes.setdefault(why, None)
            return self._use("assumed")
        self.notes.setdefault(f"‡ {why}", None)
        return self._use("derived")

    def _derivation(self, measure, statistic, group, outcome, timepoint) -> str | None:
        """How an unpublished response number follows from published ones, or None."""
        if measure != "response":
            return None
        arms = group.split(" vs ") if " vs " in group else [group]
        sources = [self._response_source(arm, outcome, timepoint) for arm in arms]
        if all(s == "published" for s in sources):
            return ("computed from published counts only" if statistic == "p_value" else
                    "the sum of the published CR and PR counts" if outcome == "overall" else
                    "the published overall response minus the published CR")
        return None

    def _response_source(self, group, outcome, timepoint) -> str:
        """'published' when the count follows from published percentages alone, else 'assumed'."""
        def shown(o):
            return bool(self.published("response", "percent", group, o, timepoint))
        if shown(outcome):
            return "published"
        if outcome == "overall" and shown("CR") and shown("PR"):
            return "published"
        if outcome == "PR" and shown("CR") and shown("overall"):
            return "published"
        if outcome == "NR" and (shown("overall") or (shown("CR") and shown("PR"))):
            return "published"
        return "assumed"

    def _assumption(self, measure: str, outcome, timepoint) -> published.Assumption | None:
        """The assumption whose `covers` names this number, the most specific key first."""
        for key in (f"{measure}:{outcome}@{timepoint}", f"{measure}@{timepoint}", f"{measure}:{outcome}", measure):
            for a in self.pub.assumptions:
                if key in a.covers:
                    return a
        return None


def _points(share: float) -> str:
    """A difference of proportions in signed percentage points, with a true minus sign: '+4.6', '−15.4'."""
    return f"{100 * share:+.1f}".replace("-", "−")


def _same_group(a: str, b: str) -> bool:
    if "+" in a or "+" in b:
        return sorted(a.split("+")) == sorted(b.split("+"))
    return a == b
