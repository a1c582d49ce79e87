"""One reconstruction for every study file: data/published/<study>.yaml in, three tables out.

What the builder reads from a study file (nothing about a particular study is in the code):

- `arms`, `subgroups`, `timepoints`, and the published numbers: patients per arm (or in all for a
  single arm) and evaluated per timepoint, response percentages and p-values (through the counts
  plan, helpers.reconstruct.plan), female percentage, means and SDs of age, UPCR and eGFR for all
  patients or per group at baseline or any timepoint, and a log-rank p of poor outcomes;
- its `assumptions`, by id, for what no source gives (each is printed in the book):
  `subgroup_sizes` ({baseline: {group: n}, <timepoint>: {group: n}}; with several arms, {arm: {group: n}}
  in place of each {group: n}), `responders_by_subgroup` ({group: {CR, PR, NR}} for one timepoint, or
  {<timepoint>: {group: ...}}; with several arms, {<timepoint>: {arm: {group: ...}}}),
  `female_fraction`, `age` ({mean, sd, min, max}; min and max alone when the mean and SD are
  published), `isn_class`, `induction`, `maintenance` ({label: count} for all patients, dealt to
  the arms alike, or {arm: {label: count}}), `baseline_labs` ({upcr_g_g: {median, log_sd, min, max},
  egfr: {mean, sd, min, max}}), `baseline_gfr` ({group: {min: eGFR}}), `renal_flares` (a count),
  `poor_outcomes` ({esrd: n, death: n}) and `adverse_events` ({category: n});
- `reconstruction`: the seed and the letter of the patient ids.

What is not published is drawn once for all arms together and dealt to the arms in turn
(`deal`), so no assumption creates a difference between arms that no source reports. A published
mean and SD is met exactly (helpers.reconstruct.fit). A percentage, mean or SD no data can give
is left out and reported as infeasible with its proof (helpers.publication.counts.infeasible); a mean
and SD or a log-rank p the draws do not reach is set aside after FAILS_TO_SET_ASIDE draws, with a
message, and the check shows the rows' value beside it.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd

from helpers.cohort.renal import egfr_tenths
from helpers.cohort.response import WINDOW
from helpers.compare import claims
from helpers.publication import counts, published, targets
from helpers.reconstruct import course, events, fit, labs, plan
from helpers.reconstruct.draw import Draws, ln
from helpers.reconstruct.moments import SolveError
from helpers.reconstruct.plan import expand, split_by_size

ATTEMPTS = 60        # fresh draws before the reconstruction gives up on a fit
FAILS_TO_SET_ASIDE = 10   # draws a mean/SD or log-rank target may stop before it is set aside
JITTER = 14          # visits fall within +/- JITTER days of the nominal day (well inside the visit window)
PR_BASELINE_MIN = 150               # drafts of a baseline UPCR: room for a partial response to halve it
STATUS_RANK = {"NR": 0, "PR": 1, "": 1.5, "CR": 2}
BASELINE_CREATININE = (40, 400)     # 0.4 to 4 mg/dL
RECOVERABLE = Fraction(13, 10)      # a patient in complete response at some visit starts at most 1.3 x normal
AGE_RANGE = (16, 70)
DEFAULT_UPCR = {"median": 2.4, "log_sd": 0.5, "min": 0.6, "max": 15}
DEFAULT_EGFR = {"mean": 95, "sd": 25, "min": 15, "max": 160}
# Planning the response of each patient at each visit: a persistent propensity, the response at the
# last visit (a patient in response tends to stay there), and visit noise.
KEEP = {"CR": 1.6, "PR": 0.8, None: 0.8, "NR": 0.0}
PLAN_NOISE = 0.5
UNSCHEDULED_EVERY = (75, 120)       # days between unscheduled visits as the kidneys fail before ESRD
ESRD_EGFR = (60, 130)               # eGFR (tenths) of the last visit before ESRD


class StudyFileError(ValueError):
    """The study file lacks what the reconstruction needs, said in words."""


@dataclass
class Layout:
    """Who is in the cohort: arm sizes, cells (arm, subgroup) and planned counts per timepoint."""
    arms: dict[str, int]
    cells: dict[tuple, int]                                 # (arm, group or None) -> patients
    counts: dict[tuple, dict] = field(default_factory=dict)  # (timepoint, cell) -> {"n", "CR", "PR"}


def _values(pub: published.Study) -> dict:
    return {a.id: a.value for a in pub.assumptions}


def layout(pub: published.Study) -> Layout:
    """Arm sizes, cells and the planned counts of every cell at every timepoint."""
    sizes = counts.arm_sizes(pub)
    the_plan = plan.plan(pub)
    values = _values(pub)
    if not pub.subgroups:
        out = Layout(sizes, {(arm, None): n for arm, n in sizes.items()})
        for (tp, arm), row in the_plan.rows.items():
            out.counts[tp, (arm, None)] = {"n": row["n"], "CR": row["CR"], "PR": row["PR"]}
        return out
    by_tp, responders = values.get("subgroup_sizes"), values.get("responders_by_subgroup")
    if not by_tp or not responders:
        raise StudyFileError(f"{pub.study}.yaml: a study with subgroups needs the assumptions subgroup_sizes and "
                             f"responders_by_subgroup (patients per subgroup, and CR/PR/NR per subgroup)")
    arms, first = pub.arms, next(iter(pub.timepoints))
    if set(responders) <= set(pub.subgroups) | set(arms):   # one timepoint, given without its name
        responders = {first: responders}

    def per_arm(mapping: dict) -> dict:
        """{arm: {group: ...}}: as given for several arms; one arm's may leave its name out."""
        return mapping if len(arms) > 1 or set(mapping) <= set(arms) else {arms[0]: mapping}

    at = {tp: per_arm(v) for tp, v in by_tp.items()}
    responders = {tp: per_arm(v) for tp, v in responders.items()}
    out = Layout(sizes, {(a, g): at["baseline"][a][g] for a in arms for g in pub.subgroups})
    for a in arms:
        total = sum(out.cells[a, g] for g in pub.subgroups)
        if total != sizes[a]:
            raise StudyFileError(f"{pub.study}.yaml: subgroup_sizes at baseline in {a} add up to {total}, "
                                 f"not the {sizes[a]} patients of {a}")
    for tp in pub.timepoints:
        for a in arms:
            row = the_plan.rows[tp, a]
            for g in pub.subgroups:
                n = at.get(tp, at["baseline"])[a][g]
                given = responders.get(tp, {}).get(a, {}).get(g)
                if given is None or given["CR"] + given["PR"] + given["NR"] != n:
                    raise StudyFileError(f"{pub.study}.yaml: responders_by_subgroup at {tp} for {g} in {a} must "
                                         f"add up to its {n} evaluated patients (subgroup_sizes)")
                out.counts[tp, (a, g)] = {"n": n, "CR": given["CR"], "PR": given["PR"]}
            for key in ("n", "CR", "PR"):
                total = sum(out.counts[tp, (a, g)][key] for g in pub.subgroups)
                if total != row[key]:
                    raise StudyFileError(f"{pub.study}.yaml: the subgroups' {key} at {tp} in {a} add up to {total}; "
                                         f"the published numbers give {row[key]} (the counts plan)")
    return out


def deal(values: list, sizes: dict[str, int]) -> dict[str, list]:
    """Values in the given order, each to the group that has had the smallest share of its size
    so far (the first group on a tie): every group gets the same distribution."""
    out = {g: [] for g in sizes}
    for v in values:
        g = min(sizes, key=lambda g: (Fraction(len(out[g]), sizes[g]), list(sizes).index(g)))
        out[g].append(v)
    return out


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _missing(pub: published.Study, name: str, what: str) -> str:
    return f"no assumption '{name}' ({what}); add one to its assumptions, with the rule or values used"


CATEGORY_WORDS = {"isn_class": "the ISN/RPS class of each patient: {class: patients}, unless the study file publishes "
                               "each class's share of all patients",
                  "induction": "the induction regimen of each patient: {regimen: patients}",
                  "maintenance": "the maintenance regimen of each patient: {regimen: patients}"}


def requirements(pub: published.Study) -> list[str]:
    """Everything the study file lacks for a reconstruction, each in words with what to add, found in one pass
    before any draw: the size of every arm, the assumptions no published number stands in for (women, age,
    ISN class, induction, maintenance, subgroups, a response split, disease duration, weight, sediment and
    serology where numbers speak of them, the events numbers or statements in words speak of), response counts a
    definition without a partial response cannot have, and adverse events no arm can hold."""
    values = _values(pub)
    try:
        sizes = counts.arm_sizes(pub)
    except ValueError as err:
        return [str(err).removeprefix(f"{pub.study}.yaml: ")]
    out = []
    if pub.subgroups and not (values.get("subgroup_sizes") and values.get("responders_by_subgroup")):
        out.append("a study with subgroups needs the assumptions subgroup_sizes and responders_by_subgroup (patients "
                   "per subgroup, and CR/PR/NR per subgroup)")
    try:
        plan.plan(pub)
    except ValueError as err:
        out.append(str(err))
    impossible = counts.infeasible_percentages(pub)
    if "female_fraction" not in values and not any(counts.is_proportion(x, "female") and x.id not in impossible
                                                   and (x.group == "all" or x.group in pub.arms)
                                                   for x in pub.targets()):
        out.append(_missing(pub, "female_fraction", "the share of women, the same in every arm, e.g. 0.9"))
    age = values.get("age") or {}
    if "all" not in fit.targets(pub, "age", "baseline") and not fit.published_values(pub, "age", "baseline") \
            and not {"mean", "sd"} <= set(age):
        out.append(_missing(pub, "age", "the age distribution: {mean, sd, min, max} in years"))
    for name, what in CATEGORY_WORDS.items():
        if name not in values and targets.category_counts(pub, name) is None:
            out.append(_missing(pub, name, what))
    spoken = {x.measure for x in pub.numbers if not x.not_expressible}
    if "creatinine_clearance" in spoken and "weight" not in values:
        out.append(_missing(pub, "weight", "body weight for the Cockcroft-Gault clearance: {mean, sd, min, max} in kg"))
    if "disease_duration" in spoken and "disease_duration" not in values and \
            "all" not in fit.targets(pub, "disease_duration", "baseline"):
        out.append(_missing(pub, "disease_duration", "the disease duration: {mean, sd, min, max} in months"))
    for name in ("active_sediment", "active_serology"):
        if name in spoken and name not in values and targets.category_counts(pub, name) is None:
            out.append(_missing(pub, name, f"{name.replace('_', ' ')} at baseline: {{yes: patients, no: patients}}"))
    out += _event_requirements(pub, values)
    if not published.criteria(pub).partial_response:
        out += [f"number {x.id}: a partial response, but the study's response definition has none "
                f"(partial_response: false)" for x in pub.targets() if x.measure == "response" and x.outcome == "PR"]
    categories = events.adverse_event_categories(values.get("adverse_events")) or targets.adverse_event_counts(pub)
    out += events.adverse_event_problems(categories, sizes)
    return [line.removeprefix(f"{pub.study}.yaml: ").removeprefix(f"{pub.study}: ") for line in out]


EVENTS_NEEDED = {   # what the study file speaks of -> (the assumption that creates those events, what it holds)
    "renal_flare": ("renal_flares", "the patients with a renal flare, both arms together, e.g. 23 (split between the "
                                    "arms by their sizes; with one timepoint also {patients, events})"),
    "poor_outcome": ("poor_outcomes", "the patients with ESRD and the deaths, both arms together: {esrd: n, death: n}"),
    "adverse_event": ("adverse_events", "the patients with an adverse event of each category, both arms together: "
                                        "{category: patients}")}
EVENT_WORDS = {"renal_flare": "renal flares", "poor_outcome": "poor outcomes", "esrd": "poor outcomes",
               "death": "poor outcomes", "adverse_event": "adverse events"}


def _event_requirements(pub: published.Study, values: dict) -> list[str]:
    """An assumption for each kind of event the study file's numbers or statements in words speak of, unless its
    published counts create them (renal flares of all patients with one timepoint, adverse events of all
    patients by category): without one the rows hold none, and a statement such as 'no significant difference
    in renal flares' would be tested on 0 vs 0."""
    spoken: dict[str, list[str]] = {}
    for x in pub.targets():
        if x.measure in EVENT_WORDS and not x.not_expressible:
            spoken.setdefault(EVENT_WORDS[x.measure], []).append(f"number {x.id}")
    for c in pub.claims:
        for m in c.items():
            if m in EVENT_WORDS and m not in c.not_expressible:
                spoken.setdefault(EVENT_WORDS[m], []).append(f"the statement {c.id}")
    given = {"renal flares": "renal_flares" in values or (len(pub.timepoints) < 2 and
                                                          targets.flare_counts(pub) is not None),
             "poor outcomes": "poor_outcomes" in values,
             "adverse events": "adverse_events" in values or bool(targets.adverse_event_counts(pub))}
    out = []
    for kind, (name, what) in EVENTS_NEEDED.items():
        words = EVENT_WORDS[kind]
        if words in spoken and not given[words]:
            where = list(dict.fromkeys(spoken[words]))
            out.append(_missing(pub, name, f"{what}; without it the rows hold no {words}, yet {', '.join(where)} "
                                           f"speak{'s' if len(where) == 1 else ''} of them"))
    return out


def build(pub: published.Study, log=_warn, set_aside: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """patients, labs and events of `pub`'s reconstructed cohort: fresh seeded draws until every
    published mean, SD and log-rank p is met. A target that stops FAILS_TO_SET_ASIDE draws is set aside,
    with a message (`log`; and in `set_aside`, when given: {id: the reason in words}), and the cohort is
    built without it: the check then shows how far the rows are from it, with that reason. At most
    ATTEMPTS draws in all. StudyFileError listing every requirement the study file does not meet
    (`requirements`) before any draw."""
    found = requirements(pub)
    if found:
        raise StudyFileError(f"{pub.study}.yaml: {len(found)} problem(s), each with what to add:\n"
                             + "\n".join(f"  {line}" for line in found))
    seed = pub.reconstruction.seed
    shape = layout(pub)
    fails: dict[str, int] = {}
    aiming = pub
    last_error = None
    for attempt in range(ATTEMPTS):
        try:
            tables = _Builder(aiming, shape, Draws(seed + attempt)).run()
            _claims_hold(aiming, tables)
            return tables
        except SolveError as err:
            last_error = err
            for i in err.ids:
                fails[i] = fails.get(i, 0) + 1
            stuck = [i for i in err.ids if fails[i] >= FAILS_TO_SET_ASIDE]
            if stuck:
                log(f"{pub.study}: {', '.join(stuck)} not reached in {FAILS_TO_SET_ASIDE} draws ({err}); built "
                    f"without aiming at it: `reconstruct --check` shows the rows' value beside it")
                if set_aside is not None:
                    set_aside.update({i: f"Not reached in {FAILS_TO_SET_ASIDE} draws of the reconstruction ({err}); "
                                         f"the rows were built without aiming at it." for i in stuck})
                aiming = _without(aiming, stuck, str(err))
    raise SolveError(f"{pub.study}: no reconstruction found in {ATTEMPTS} attempts ({last_error})")


class _Rows:
    """The three tables as helpers.compare.claims reads a cohort."""

    def __init__(self, tables: dict[str, pd.DataFrame]):
        self.patients, self.labs, self.events = tables["patients.csv"], tables["labs.csv"], tables["events.csv"]


def _claims_hold(pub: published.Study, tables: dict[str, pd.DataFrame]) -> None:
    """Every statement in words the study file builds to hold (named in an assumption's `by_construction`)
    holds in these rows; SolveError naming those that do not (a fresh draw is tried)."""
    built = pub.by_construction
    aimed = [(c, m) for c, m in claims.statements(pub) if (f"{c.id}:{m}" in built or c.id in built)
             and f"{c.id}:{m}" not in pub.set_aside]
    if not aimed:
        return
    rows = {r["measure"]: r for r in claims.rows(pub, _Rows(tables))}
    failed = [f"{c.id}:{m}" for c, m in aimed
              if (r := rows.get(claims.key(c, m))) is not None and not claims.holds(c, r["value"], r["detail"])]
    if failed:
        raise SolveError(f"{pub.study}: the rows do not show {', '.join(failed)}", tuple(failed))


def _without(pub: published.Study, ids: list[str], why: str) -> published.Study:
    """`pub` with `ids` no longer aimed at (as if a resolution set them aside)."""
    dropped = published.Resolution(id=f"not_reached_{len(pub.resolutions)}", about=ids,
                                   choice="not aimed at by the reconstruction", why=why, sets_aside=ids)
    return pub.model_copy(update={"resolutions": [*pub.resolutions, dropped]})


class _Builder:
    def __init__(self, pub: published.Study, shape: Layout, draws: Draws):
        self.pub, self.shape, self.draws = pub, shape, draws
        self.criteria, self.values = published.criteria(pub), _values(pub)
        self.equation = pub.reconstruction.egfr_equation   # the stored eGFR's equation
        self.tps, self.days = list(pub.timepoints), list(pub.timepoints.values())
        self.cells = list(shape.cells)
        self.n = sum(shape.cells.values())
        self.arm = [c[0] for c in self.cells for _ in range(shape.cells[c])]
        self.group = [c[1] for c in self.cells for _ in range(shape.cells[c])]
        self.status: dict[tuple[int, int], str] = {}   # (patient, timepoint index) -> CR / PR / NR
        self.visit_day: dict[tuple[int, int], int] = {}
        self.flares: list[tuple[int, int, int]] = []   # (patient, timepoint index after the flare, day)
        self.traits = [course.traits(draws) for _ in range(self.n)]

    def _need(self, name: str, what: str):
        if name not in self.values:
            raise StudyFileError(f"{self.pub.study}.yaml: no assumption '{name}' ({what}); add one to its "
                                 f"assumptions, with the rule or values used")
        return self.values[name]

    def _to_patients(self, per_arm: dict[str, list]) -> list:
        """Each arm's values, shuffled, to its patients in order."""
        shuffled = {a: iter([v[i] for i in self.draws.permutation(len(v))]) for a, v in per_arm.items()}
        return [next(shuffled[a]) for a in self.arm]

    def _pooled(self, draw_one) -> list:
        """One draw per patient of all arms together, sorted, dealt to the arms: the arms get the
        same distribution."""
        return self._to_patients(deal(sorted(draw_one() for _ in range(self.n)), self.shape.arms))

    def _categories(self, name: str, what: str) -> list[str]:
        """A label per patient from an assumption of counts: per arm, or for all (dealt alike); without one, from
        the published counts of each value when they add up to every patient (publication.targets)."""
        given = self.values.get(name) or targets.category_counts(self.pub, name) or self._need(name, what)
        if set(given) <= set(self.pub.arms):
            per_arm = {a: expand(given[a]) for a in self.pub.arms}
        else:
            per_arm = deal(expand(given), self.shape.arms)
        for a, labels in per_arm.items():
            if len(labels) != self.shape.arms[a]:
                raise StudyFileError(f"{self.pub.study}.yaml: assumption {name} gives {len(labels)} patients for "
                                     f"{a}, which has {self.shape.arms[a]}")
        return self._to_patients(per_arm)

    def age_on(self, i: int, day: int) -> int:
        return course.age_at(self.age[i], self.traits[i].birthday, day)

    # --- who is who ----------------------------------------------------------------------------
    def sexes(self) -> list[str]:
        female = {}
        impossible = counts.infeasible_percentages(self.pub)
        per_arm = {a: x for x in self.pub.targets() if counts.is_proportion(x, "female") and x.id not in impossible
                   for a in [counts.arm_of(self.pub, x.group)] if a}
        overall = next((x for x in self.pub.targets() if counts.is_proportion(x, "female") and x.group == "all"
                        and x.id not in impossible), None)
        for a, size in self.shape.arms.items():
            x = per_arm.get(a)
            if x is not None and counts.allowed_counts(x, size):
                female[a] = counts.allowed_counts(x, size)[0]
        if len(female) < len(self.shape.arms):
            if overall is not None and counts.allowed_counts(overall, self.n):
                total = counts.allowed_counts(overall, self.n)[0]
                female = plan.split_by_size(total, self.shape.arms)
            else:
                fraction = Fraction(repr(self._need("female_fraction", "the share of women")))
                female = {a: round(fraction * size) for a, size in self.shape.arms.items()}
        return self._to_patients({a: expand({"F": female[a], "M": size - female[a]})
                                  for a, size in self.shape.arms.items()})

    def ages(self) -> list[int]:
        spec = self.values.get("age", {})
        lo, hi = spec.get("min", AGE_RANGE[0]), spec.get("max", AGE_RANGE[1])
        pairs = fit.targets(self.pub, "age", "baseline")
        if "all" in pairs:
            goal = fit.target(pairs["all"], self.n, "1", "age of all patients")
            ladder = list(range(lo, hi + 1))
            positions = fit.fit(self.draws, [ladder] * self.n,
                                lambda i: self.draws.normal_units(goal.mean, goal.sd, lo, hi, 1) - lo, goal)
            return [lo + p for p in positions]
        # no mean and SD to fit (none published, or none any data can give): draw from the assumption,
        # else from the published (infeasible) figures, unfitted
        spec = {**(fit.published_values(self.pub, "age", "baseline") or {}), **spec}
        if not {"mean", "sd"} <= set(spec):
            spec = self._need("age", "the age distribution: mean, sd, min, max")
        return self._pooled(lambda: self.draws.normal_units(spec["mean"], spec["sd"], lo, hi, 1))

    # --- the response at each visit -------------------------------------------------------------
    def flare_plan(self) -> dict[tuple[str, int], int]:
        """Renal flares per arm and interval (before timepoint index j): the assumed number per arm
        (split by size), spread over the intervals in proportion to their length and the patients in
        complete response at their start."""
        total = self.values.get("renal_flares")
        if not total or len(self.tps) < 2:
            return {}
        out = {}
        for arm, count in split_by_size(int(total), self.shape.arms).items():
            weights = {j: (self.days[j] - self.days[j - 1]) * sum(
                self.shape.counts[self.tps[j - 1], cell]["CR"] for cell in self.cells if cell[0] == arm)
                for j in range(1, len(self.tps))}
            for j, k in split_by_size(count, {j: w for j, w in weights.items() if w}).items():
                out[arm, j] = k
        return out

    def plan_status(self) -> None:
        """CR / PR / NR at each timepoint, exactly the planned counts in every cell. Patients who stay
        longest are evaluated (a count that rises means some missed the earlier visit). A patient tends
        to keep the response of the last visit; no one falls from complete response to no response or
        to proteinuric levels without a renal flare (`flare_plan`), and a flare is followed, where
        the counts allow, by no response at the next visit."""
        flares_due = self.flare_plan()
        members = {}
        start = 0
        for cell in self.cells:
            members[cell] = list(range(start, start + self.shape.cells[cell]))
            start += self.shape.cells[cell]
        retention, latent = {}, [self.draws.normal() for _ in range(self.n)]
        for idx in members.values():
            retention.update(zip(idx, self.draws.permutation(len(idx))))   # rank 0 stays longest
        last: dict[int, str] = {}
        since_cr: set[int] = set()      # in complete response at some visit, with no flare since
        for j, tp in enumerate(self.tps):
            flaring = set()
            for arm in self.shape.arms:
                due = flares_due.get((arm, j), 0)
                if due:
                    seen_next = [i for cell, idx in members.items() if cell[0] == arm for i in idx
                                 if retention[i] < self.shape.counts[tp, cell]["n"]]
                    pool = [i for i in seen_next if last.get(i) == "CR" and (i, j - 1) in self.status] or \
                           [i for i in seen_next if last.get(i) in ("CR", "PR") and (i, j - 1) in self.status]
                    flaring |= {pool[k] for k in self.draws.choice(len(pool), min(due, len(pool)))}
            for cell, idx in members.items():
                row = self.shape.counts[tp, cell]
                seen = [i for i in idx if retention[i] < row["n"]]
                score = {i: latent[i] + PLAN_NOISE * self.draws.normal() + (-2.5 if i in flaring else KEEP[last.get(i)])
                         for i in seen}
                order = sorted(seen, key=lambda i: (-score[i], i))
                free = [i for i in order if i not in since_cr or i in flaring]   # may be in no response
                n_nr = row["n"] - row["CR"] - row["PR"]
                nr = free[len(free) - n_nr:] if n_nr else []
                if len(nr) < n_nr:            # the counts leave no other way: these flare too
                    forced = [i for i in reversed(order) if i not in nr][: n_nr - len(nr)]
                    flaring |= set(forced)
                    nr += forced
                rest = [i for i in order if i not in set(nr)]
                for rank, i in enumerate(rest):
                    self.status[i, j] = "CR" if rank < row["CR"] else "PR"
                for i in nr:
                    self.status[i, j] = "NR"
            for i in flaring:
                lo, hi = self.days[j - 1] + WINDOW + 1, self.days[j] - WINDOW - 1
                self.flares.append((i, j, self.draws.integer(lo, max(lo, hi))))
                since_cr.discard(i)
            for i in range(self.n):
                if (i, j) in self.status:
                    last[i] = self.status[i, j]
                    self.visit_day[i, j] = self.days[j] + self.draws.integer(-JITTER, JITTER)
                    if self.status[i, j] == "CR":
                        since_cr.add(i)
        self.flares.sort()

    def follow_up(self) -> list[int]:
        out = []
        for i in range(self.n):
            last = max((j for j in range(len(self.tps)) if (i, j) in self.status), default=-1)
            lo = (self.days[last] if last >= 0 else 0) + WINDOW + 1
            hi = self.days[-1] + 900 if last == len(self.tps) - 1 else self.days[last + 1] - WINDOW - 1
            out.append(self.draws.integer(lo, max(lo, hi)))
        return out

    def _members(self, measure: str, timepoint: str, patients) -> dict[str, list[int]]:
        """The patients grouped as the published numbers of `measure` at `timepoint` group them."""
        groups = set(fit.targets(self.pub, measure, timepoint))
        key = self.group if groups & set(self.pub.subgroups) else self.arm
        out: dict[str, list[int]] = {}
        for i in patients:
            out.setdefault(key[i], []).append(i)
        return out

    def _after_cr(self) -> dict[tuple[int, int], bool]:
        """(patient, timepoint index) -> was the patient in complete response at an earlier visit, with no
        flare since (then the UPCR stays below 1 g/g)."""
        flare_at = {(i, j) for i, j, _ in self.flares}
        out, state = {}, [False] * self.n
        for j in range(len(self.tps)):
            for i in range(self.n):
                if (i, j) in flare_at:
                    state[i] = False
                if (i, j) in self.status:
                    out[i, j] = state[i]
                    state[i] = state[i] or self.status[i, j] == "CR"
        return out

    # --- UPCR -------------------------------------------------------------------------------------
    def upcr(self) -> tuple[list[int], dict, dict]:
        """Baseline UPCR per patient, UPCR per (patient, timepoint index), and UPCR at each flare (by
        patient and timepoint index after it), in 0.01 g/g."""
        spec = {**DEFAULT_UPCR, **self.values.get("baseline_labs", {}).get("upcr_g_g", {})}
        lo, hi = round(100 * spec["min"]), round(100 * spec["max"])
        fitted_baseline = bool(fit.targets(self.pub, "upcr", "baseline"))
        first_status = [next((self.status[i, j] for j in range(len(self.tps)) if (i, j) in self.status), "")
                        for i in range(self.n)]
        needs_room = [any(self.status.get((i, j)) == "PR" for j in range(len(self.tps))) for i in range(self.n)]
        if fitted_baseline:   # drafts: the higher baselines mostly to the non-responders, the lower to CR
            pairs = fit.targets(self.pub, "upcr", "baseline")
            draft = {}
            ladder = list(range(max(lo, PR_BASELINE_MIN), hi + 1))
            for g, idx in self._members("upcr", "baseline", range(self.n)).items():
                mean, sd = pairs.get(g, pairs.get("all"))
                drawn = sorted((fit.lognormal_position(self.draws, ladder, 100 * fit.stored(mean), 100 * fit.stored(sd))
                                + ladder[0] for _ in idx), reverse=True)
                order = sorted(idx, key=lambda i: (STATUS_RANK[first_status[i]] + 1.2 * self.draws.uniform(), i))
                draft.update(zip(order, drawn))
            baseline = [draft[i] for i in range(self.n)]
        else:                 # room for a partial response to halve the baseline, where there is one
            floor = max(lo, PR_BASELINE_MIN) if any(needs_room) else lo
            baseline = self._pooled(lambda: self.draws.lognormal_units(ln(spec["median"]), spec["log_sd"], floor, hi,
                                                                       0.01))
        after_cr = self._after_cr()
        flare_before = {(i, j): d for i, j, d in self.flares}
        visits, at_flare = {}, {}
        for j, tp in enumerate(self.tps):
            seen = [i for i in range(self.n) if (i, j) in self.status]
            for i in seen:   # a flare since the last visit: its UPCR, from the last value
                if (i, j) in flare_before:
                    before = max((visits[i, k] for k in range(j) if (i, k) in visits), default=baseline[i])
                    at_flare[i, j] = course.flare_upcr(self.draws, self.traits[i], before)
            bands = {i: course.upcr_band(self.status[i, j], baseline[i], self.criteria, after_cr[i, j]) for i in seen}
            ladders = {i: list(range(b[0], b[1] + 1)) for i, b in bands.items()}
            fitted = fit.fit_groups(
                self.draws, self.pub, "upcr", tp, "0.01", self._members("upcr", tp, seen), ladders,
                lambda i, mean, sd, ladders=ladders: fit.lognormal_position(self.draws, ladders[i], mean, sd))
            for i in seen:
                visits[i, j] = course.remember(self.traits[i], "upcr", self.status[i, j], fitted[i]) if fitted else \
                    course.visit_upcr(self.draws, self.traits[i], self.status[i, j], baseline[i], self.criteria,
                                      after_cr[i, j], at_flare.get((i, j)))
        if fitted_baseline:   # the baselines again, within what every later visit's response allows
            ladders = {}
            for i in range(self.n):
                b_lo, b_hi = lo, hi
                for j in range(len(self.tps)):
                    if (i, j) in visits:
                        b_lo, b_hi = course.baseline_band(self.status[i, j], visits[i, j], self.criteria, b_lo, b_hi)
                ladders[i] = list(range(b_lo, b_hi + 1))
            fitted = fit.fit_groups(self.draws, self.pub, "upcr", "baseline", "0.01",
                                    self._members("upcr", "baseline", range(self.n)), ladders,
                                    lambda i, mean, sd: fit.lognormal_position(self.draws, ladders[i], mean, sd),
                                    dict(enumerate(baseline)))
            baseline = [fitted[i] for i in range(self.n)]
        return baseline, visits, at_flare

    # --- creatinine (eGFR is CKD-EPI 2009 of it at the visit's age, exactly) ------------------------
    def _near_level(self, i: int, j: int, baseline: int, sex: str, recovered: int) -> int:
        """A plausible creatinine (units) for patient i at visit j: around the level of its response."""
        level = course.creatinine_level(self.traits[i], self.status[i, j], baseline, sex, self.criteria, recovered)
        centre = course.creatinine_centre(self.traits[i], self.status[i, j], level, self.visit_day[i, j])
        return self.draws.lognormal_units(centre, 2 * course.CREATININE_NOISE, course.CREATININE_MIN,
                                          course.CREATININE_MAX, 0.01)

    def baseline_creatinine(self, sex: list[str]) -> list[int]:
        """Baseline creatinine: fitted to a published eGFR mean and SD, else from the assumed eGFR
        distribution (the same in every arm); a patient in complete response at some visit starts
        with a creatinine that can recover to normal (at most RECOVERABLE x the upper limit)."""
        spec = {**DEFAULT_EGFR, **self.values.get("baseline_labs", {}).get("egfr", {})}
        e_lo, e_hi = round(10 * spec["min"]), round(10 * spec["max"])
        floors = {g: round(10 * v["min"]) for g, v in self.values.get("baseline_gfr", {}).items()} \
            if isinstance(self.values.get("baseline_gfr"), dict) else {}
        ever_cr = [any(self.status.get((i, j)) == "CR" for j in range(len(self.tps))) for i in range(self.n)]

        def highest(i: int) -> int:
            uln = course.upper_normal(sex[i], self.criteria)
            return min(BASELINE_CREATININE[1], math.floor(RECOVERABLE * uln)) if ever_cr[i] else BASELINE_CREATININE[1]

        pairs = fit.targets(self.pub, "egfr", "baseline")
        if pairs:
            ladders, creatinine_of = {}, {}
            for i in range(self.n):
                egfr, creat = labs.egfr_ladder(self.age[i], sex[i], BASELINE_CREATININE[0], highest(i), self.equation)
                low = floors.get(self.group[i], e_lo)
                keep = [k for k, e in enumerate(egfr) if low <= e <= e_hi] or [len(egfr) - 1]
                ladders[i], creatinine_of[i] = [egfr[k] for k in keep], [creat[k] for k in keep]
            fitted = fit.fit_groups(
                self.draws, self.pub, "egfr", "baseline", "0.1", self._members("egfr", "baseline", range(self.n)),
                ladders, lambda i, mean, sd: fit.nearest(ladders[i], self.draws.normal_units(
                    mean, sd, ladders[i][0], ladders[i][-1], 1)))
            return [creatinine_of[i][ladders[i].index(fitted[i])] for i in range(self.n)]
        egfr = self._pooled(lambda: self.draws.normal_units(spec["mean"], spec["sd"], e_lo, e_hi, 0.1))
        out = []
        for i in range(self.n):
            creat = labs.baseline_creatinine(self.draws, egfr[i], self.age[i], sex[i], spec["mean"], spec["sd"],
                                             BASELINE_CREATININE[0], self.equation)
            while creat > highest(i):   # cannot recover to normal: drawn again from the same distribution
                creat = labs.baseline_creatinine(self.draws, self.draws.normal_units(spec["mean"], spec["sd"], e_lo,
                                                                                      e_hi, 0.1),
                                                 self.age[i], sex[i], spec["mean"], spec["sd"], BASELINE_CREATININE[0],
                                                 self.equation)
            out.append(creat)
        return out

    def creatinine(self, sex: list[str], esrd: dict[int, int]) -> tuple[list[int], dict, dict, dict]:
        """Baseline creatinine, creatinine per (patient, timepoint index) and at each flare (by patient and
        timepoint index after it), in 0.01 mg/dL, and the decline before each ESRD (course.Decline): from
        the last lab in response, or the last flare, whichever is later."""
        baseline = self.baseline_creatinine(sex)
        base_egfr = [egfr_tenths(baseline[i], self.age[i], sex[i], self.equation) for i in range(self.n)]
        recovered = [course.recovered_level(self.draws, baseline[i], sex[i], self.criteria) for i in range(self.n)]
        declines = {}
        for i, end_day in esrd.items():
            responding = [self.visit_day[i, j] for j in range(len(self.tps)) if self.status.get((i, j)) in ("CR", "PR")]
            flared = [d for k, _, d in self.flares if k == i and d < end_day]
            start = max([0, *responding, *flared])
            declines[i] = course.Decline(start, end_day, self.draws.integer(*ESRD_EGFR),
                                         base_egfr[i] if start == 0 else None)
        visits, at_flare = {}, {}
        for j, tp in enumerate(self.tps):
            for i, k, day in self.flares:   # a flare since the last visit: creatinine a little up from there
                if k == j:
                    before = max((m for m in range(j) if (i, m) in visits), default=None)
                    last = visits[i, before] if before is not None else baseline[i]
                    at_flare[i, j] = round(last * (1 + 0.04 * abs(self.draws.normal())))
                    if i in declines and declines[i].start_day == day:
                        declines[i].start_egfr = egfr_tenths(at_flare[i, j], self.age_on(i, day), sex[i], self.equation)
            seen = [i for i in range(self.n) if (i, j) in self.status]
            fitted = None
            if fit.targets(self.pub, "egfr", tp):
                ladders, creatinine_of = {}, {}
                for i in seen:
                    level = course.creatinine_level(self.traits[i], self.status[i, j], baseline[i], sex[i],
                                                    self.criteria, recovered[i])
                    age = self.age_on(i, self.visit_day[i, j])
                    creat = [c for c in range(max(course.CREATININE_MIN, math.floor(course.SPREAD[0] * level)),
                                              min(course.CREATININE_MAX, math.ceil(course.SPREAD[1] * level)) + 1)
                             if course.creatinine_ok(self.status[i, j], c, baseline[i], sex[i],
                                                     egfr_tenths(c, age, sex[i], self.equation), base_egfr[i],
                                                     self.criteria)]
                    creat.reverse()   # eGFR ascending
                    ladders[i], creatinine_of[i] = [egfr_tenths(c, age, sex[i], self.equation) for c in creat], creat
                fitted = fit.fit_groups(
                    self.draws, self.pub, "egfr", tp, "0.1", self._members("egfr", tp, seen), ladders,
                    lambda i, mean, sd, ladders=ladders, j=j: fit.nearest(ladders[i], egfr_tenths(
                        self._near_level(i, j, baseline[i], sex[i], recovered[i]),
                        self.age_on(i, self.visit_day[i, j]), sex[i], self.equation)))
            for i in seen:
                day, age = self.visit_day[i, j], self.age_on(i, self.visit_day[i, j])
                if fitted is not None:
                    visits[i, j] = course.remember(self.traits[i], "creatinine", self.status[i, j],
                                                   creatinine_of[i][ladders[i].index(fitted[i])])
                elif i in declines and day > declines[i].start_day:
                    visits[i, j] = labs.creatinine_for_egfr(declines[i].egfr(day), age, sex[i], self.equation)
                else:
                    level = course.creatinine_level(self.traits[i], self.status[i, j], baseline[i], sex[i],
                                                    self.criteria, recovered[i])
                    visits[i, j] = course.visit_creatinine(self.draws, self.traits[i], self.status[i, j], level,
                                                           baseline[i], day, age, sex[i], base_egfr[i], self.criteria,
                                                           self.equation)
                if i in declines and declines[i].start_day == day:
                    declines[i].start_egfr = egfr_tenths(visits[i, j], age, sex[i], self.equation)
        return baseline, visits, at_flare, declines

    # --- unscheduled visits: the kidneys failing before ESRD -----------------------------------------
    def _decline_rows(self, i: int, sex: str, decline: course.Decline, upcr: int) -> list[dict]:
        """Unscheduled visits from the start of the decline to ESRD, every UNSCHEDULED_EVERY days, outside
        every visit window and away from the patient's own visits: the eGFR on the decline, heavy
        proteinuria (around `upcr`), active disease; the last a few days before ESRD."""
        own = [d for (k, _), d in self.visit_day.items() if k == i]
        rows, day = [], decline.start_day
        while day < decline.end_day - 20:
            day += self.draws.integer(*UNSCHEDULED_EVERY)
            if day >= decline.end_day - 20:
                day = decline.end_day - self.draws.integer(3, 14)
            if any(abs(day - nominal) <= WINDOW for nominal in self.days) or any(abs(day - d) < 20 for d in own):
                continue
            creat = labs.creatinine_for_egfr(decline.egfr(day), self.age_on(i, day), sex, self.equation)
            value = course.in_band(self.draws, self.traits[i], "upcr", ln(max(upcr, 150) / 100), course.UPCR_NOISE,
                                   150, course.UPCR_MAX, "0.01")
            activity = course.visit_activity(self.draws, self.traits[i], "NR")
            rows.append({"patient_id": i, "day": day, "upcr": value, "creatinine": creat,
                         **course.other_labs(self.draws, value, activity)})
        return rows

    # --- renal flares after the last visit (a study with one timepoint) ----------------------------------
    def late_flares(self, state, poor: set, upcr: dict, creat: dict, base_upcr: list, base_creat: list) -> list:
        """(patient, day, UPCR, creatinine) of each renal flare after the last visit window, for a study with one
        timepoint (with two or more, flares fall between the visits: flare_plan): the published patients and
        flares (publication.targets.flare_counts), else the assumption renal_flares ({patients, events} or a
        number of patients), among the patients in response at their last visit with room in their follow-up;
        a patient with two flares has them at least 30 days apart. Each is a lab of the flare (proteinuria up,
        creatinine a little) and an event the same day."""
        if len(self.tps) >= 2:
            return []
        given = targets.flare_counts(self.pub) or events.flare_assumption(self.values.get("renal_flares"))
        if not given:
            return []
        patients, flares = given
        start = self.days[-1] + WINDOW + 1
        pool = [i for i in range(self.n) if state.last_status(i) in ("CR", "PR") and i not in poor
                and state.followup[i] - start >= 60]
        if patients > len(pool) or flares > 2 * patients:
            raise StudyFileError(f"{self.pub.study}.yaml: {patients} patients with {flares} renal flares after the "
                                 f"last visit, but only {len(pool)} patients are in response then with follow-up to "
                                 f"have one (and a patient has at most two)")
        chosen = sorted(pool[k] for k in self.draws.choice(len(pool), patients))
        out = []
        for rank, i in enumerate(chosen):
            j = len(self.tps) - 1
            last_upcr = upcr.get((i, j), base_upcr[i])
            last_creat = creat.get((i, j), base_creat[i])
            twice = rank < flares - patients
            first = self.draws.integer(start, state.followup[i] - (31 if twice else 1))
            days = [first] + ([self.draws.integer(first + 30, state.followup[i] - 1)] if twice else [])
            for day in days:
                value = course.flare_upcr(self.draws, self.traits[i], last_upcr)
                out.append((i, day, value, round(last_creat * (1 + 0.04 * abs(self.draws.normal())))))
        return out

    # --- columns a study has only when its file speaks of them ------------------------------------------
    def optional_columns(self) -> dict[str, list]:
        """disease_duration_months (fitted to a published mean and SD of all patients, else drawn from the
        assumption disease_duration {mean, sd, min, max} in months), weight_kg (the assumption weight
        {mean, sd, min, max}), active_sediment and active_serology (assumption, or published counts of each
        value); only the columns the study file gives values for."""
        out = {}
        duration = self.values.get("disease_duration")
        pairs = fit.targets(self.pub, "disease_duration", "baseline")
        if "all" in pairs or duration:
            spec = duration or {}
            lo, hi = round(spec.get("min", 0)), round(spec.get("max", 600))
            if "all" in pairs:
                goal = fit.target(pairs["all"], self.n, "1", "disease duration of all patients")
                ladder = list(range(lo, hi + 1))
                mean, sd = fit.stored(pairs["all"][0]), fit.stored(pairs["all"][1])
                positions = fit.fit(self.draws, [ladder] * self.n,
                                    lambda i: self.draws.normal_units(mean, sd, lo, hi, 1) - lo, goal)
                out["disease_duration_months"] = [float(lo + p) for p in positions]
            else:
                out["disease_duration_months"] = [float(v) for v in self._pooled(
                    lambda: self.draws.normal_units(spec["mean"], spec["sd"], lo, hi, 1))]
        weight = self.values.get("weight")
        if weight:
            lo, hi = round(10 * weight.get("min", 35)), round(10 * weight.get("max", 150))
            out["weight_kg"] = [v / 10 for v in self._pooled(
                lambda: self.draws.normal_units(weight["mean"], weight["sd"], lo, hi, 0.1))]
        for name in ("active_sediment", "active_serology"):
            if name in self.values or targets.category_counts(self.pub, name):
                out[name] = self._categories(name, f"{name.replace('_', ' ')} at baseline ({{yes: n, no: n}})")
        return out

    # --- everything --------------------------------------------------------------------------------
    def run(self) -> dict[str, pd.DataFrame]:
        pub = self.pub
        sex = self.sexes()
        self.age = age = self.ages()
        isn = self._categories("isn_class", "the ISN/RPS class of each patient")
        induction = self._categories("induction", "the induction regimen of each patient")
        maintenance = self._categories("maintenance", "the maintenance regimen of each patient")
        self.plan_status()
        followup = self.follow_up()
        state = events.State(arm=self.arm, status=self.status, followup=followup, days=self.days)
        poor = events.poor_outcomes(self.draws, pub, self.values["poor_outcomes"], self.shape.arms, state) \
            if "poor_outcomes" in self.values else {}
        base_upcr, upcr, at_flare = self.upcr()
        base_creat, creat, flare_creat, declines = self.creatinine(sex, {i: d for i, (d, k) in poor.items()
                                                                         if k == "esrd"})
        prefix = pub.reconstruction.id_prefix
        ids = [f"{prefix}{k + 1:03d}" for k in self.draws.permutation(self.n)]  # in no order of arm or response
        rows = []
        for i in range(self.n):
            activity = course.baseline_activity(self.draws, self.traits[i], base_upcr[i])
            rows.append({"patient_id": i, "day": 0, "upcr": base_upcr[i], "creatinine": base_creat[i],
                         **course.other_labs(self.draws, base_upcr[i], activity)})
        for (i, j), status in sorted(self.status.items()):
            activity = course.visit_activity(self.draws, self.traits[i], status)
            rows.append({"patient_id": i, "day": self.visit_day[i, j], "upcr": upcr[i, j],
                         "creatinine": creat[i, j], **course.other_labs(self.draws, upcr[i, j], activity)})
        found = []
        for i, j, day in self.flares:     # the flare's own visit: proteinuria up, creatinine a little, serology active
            rows.append({"patient_id": i, "day": day, "upcr": at_flare[i, j], "creatinine": flare_creat[i, j],
                         **course.other_labs(self.draws, at_flare[i, j],
                                             course.visit_activity(self.draws, self.traits[i], "flare"))})
            found.append((ids[i], day, "renal_flare", None))
        for i, (day, kind) in sorted(poor.items()):
            found.append((ids[i], day, kind, None))
            if kind == "esrd":
                seen = [j for j in range(len(self.tps)) if (i, j) in self.status]
                rows += self._decline_rows(i, sex[i], declines[i], upcr[i, seen[-1]] if seen else base_upcr[i])
        categories = events.adverse_event_categories(self.values.get("adverse_events")) or \
            targets.adverse_event_counts(pub)
        if categories:
            found += events.adverse_events(self.draws, categories, self.shape.arms, ids, self.arm, state.followup)
        late = self.late_flares(state, set(poor), upcr, creat, base_upcr, base_creat)
        for i, day, upcr_value, creat_value in late:
            rows.append({"patient_id": i, "day": day, "upcr": upcr_value, "creatinine": creat_value,
                         **course.other_labs(self.draws, upcr_value,
                                             course.visit_activity(self.draws, self.traits[i], "flare"))})
            found.append((ids[i], day, "renal_flare", None))
        for row in rows:
            row["patient_id"] = ids[row["patient_id"]]
        patients = pd.DataFrame({
            "patient_id": ids, "study": pub.study, "arm": self.arm, "sex": sex, "age": age, "isn_class": isn,
            "induction": induction, "maintenance": maintenance, "prior_response": self.group,
            "last_followup_day": state.followup, **self.optional_columns()})
        lab_frame = labs.lab_frame(rows, {ids[i]: (age[i], self.traits[i].birthday) for i in range(self.n)},
                                   dict(zip(ids, sex)), self.equation)
        event_frame = pd.DataFrame(found, columns=["patient_id", "day", "event", "category"])
        event_frame = event_frame.sort_values(["patient_id", "day", "event"], kind="stable").reset_index(drop=True)
        return {"patients.csv": patients.sort_values("patient_id").reset_index(drop=True), "labs.csv": lab_frame,
                "events.csv": event_frame}
