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
is left out and reported as infeasible with its proof (helpers.reconstruct.plan.infeasible); a mean
and SD or a log-rank p the draws do not reach is set aside after FAILS_TO_SET_ASIDE draws, with a
message, and the check shows the rows' value beside it.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd

from .. import published
from ..consistency import percent_counts
from ..renal import egfr_tenths
from ..response import WINDOW, Criteria
from . import events, fit, labs, plan
from .draw import Draws, ln
from .moments import SolveError
from .plan import expand

ATTEMPTS = 60        # fresh draws before the reconstruction gives up on a fit
FAILS_TO_SET_ASIDE = 10   # draws a mean/SD or log-rank target may stop before it is set aside
JITTER = 14          # visits fall within +/- JITTER days of the nominal day (well inside the visit window)
PR_BASELINE_MIN = 150               # drafts of a baseline UPCR: room for a partial response to halve it
STATUS_RANK = {"NR": 0, "PR": 1, "": 1.5, "CR": 2}
BASELINE_CREATININE = (40, 400)     # 0.4 to 4 mg/dL
VISIT_EGFR_MIN = 150                # 15 mL/min/1.73 m² (tenths) at a visit with a published eGFR
AGE_RANGE = (16, 70)
OTHER_LABS = ("albumin_g_dl", "c3_mg_dl", "c4_mg_dl", "anti_dsdna_iu_ml")
DEFAULT_UPCR = {"median": 2.4, "log_sd": 0.5, "min": 0.6, "max": 15}
DEFAULT_EGFR = {"mean": 95, "sd": 25, "min": 15, "max": 160}


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
    sizes = plan.arm_sizes(pub)
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
                counts = responders.get(tp, {}).get(a, {}).get(g)
                if counts is None or counts["CR"] + counts["PR"] + counts["NR"] != n:
                    raise StudyFileError(f"{pub.study}.yaml: responders_by_subgroup at {tp} for {g} in {a} must "
                                         f"add up to its {n} evaluated patients (subgroup_sizes)")
                out.counts[tp, (a, g)] = {"n": n, "CR": counts["CR"], "PR": counts["PR"]}
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


def build(pub: published.Study, log=_warn) -> dict[str, pd.DataFrame]:
    """patients, labs and events of `pub`'s reconstructed cohort: fresh seeded draws until every
    published mean, SD and log-rank p is met. A target that stops FAILS_TO_SET_ASIDE draws is set aside,
    with a message (`log`), and the cohort is built without it: the check then shows how far the rows
    are from it. At most ATTEMPTS draws in all."""
    seed = pub.reconstruction.seed
    shape = layout(pub)
    fails: dict[str, int] = {}
    aiming = pub
    last_error = None
    for attempt in range(ATTEMPTS):
        try:
            return _Builder(aiming, shape, Draws(seed + attempt)).run()
        except SolveError as err:
            last_error = err
            for i in err.ids:
                fails[i] = fails.get(i, 0) + 1
            stuck = [i for i in err.ids if fails[i] >= FAILS_TO_SET_ASIDE]
            if stuck:
                log(f"{pub.study}: {', '.join(stuck)} not reached in {FAILS_TO_SET_ASIDE} draws ({err}); built "
                    f"without aiming at it: `reconstruct --check` shows the rows' value beside it")
                aiming = _without(aiming, stuck, str(err))
    raise SolveError(f"{pub.study}: no reconstruction found in {ATTEMPTS} attempts ({last_error})")


def _without(pub: published.Study, ids: list[str], why: str) -> published.Study:
    """`pub` with `ids` no longer aimed at (as if a resolution set them aside)."""
    dropped = published.Resolution(id=f"not_reached_{len(pub.resolutions)}", about=ids,
                                   choice="not aimed at by the reconstruction", why=why, sets_aside=ids)
    return pub.model_copy(update={"resolutions": [*pub.resolutions, dropped]})


class _Builder:
    def __init__(self, pub: published.Study, shape: Layout, draws: Draws):
        self.pub, self.shape, self.draws = pub, shape, draws
        self.criteria, self.values = Criteria(), _values(pub)
        self.tps, self.days = list(pub.timepoints), list(pub.timepoints.values())
        self.cells = list(shape.cells)
        self.n = sum(shape.cells.values())
        self.arm = [c[0] for c in self.cells for _ in range(shape.cells[c])]
        self.group = [c[1] for c in self.cells for _ in range(shape.cells[c])]
        self.status: dict[tuple[int, int], str] = {}   # (patient, timepoint index) -> CR / PR / NR

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
        """A label per patient from an assumption of counts: per arm, or for all (dealt alike)."""
        counts = self._need(name, what)
        if set(counts) <= set(self.pub.arms):
            per_arm = {a: expand(counts[a]) for a in self.pub.arms}
        else:
            per_arm = deal(expand(counts), self.shape.arms)
        for a, labels in per_arm.items():
            if len(labels) != self.shape.arms[a]:
                raise StudyFileError(f"{self.pub.study}.yaml: assumption {name} gives {len(labels)} patients for "
                                     f"{a}, which has {self.shape.arms[a]}")
        return self._to_patients(per_arm)

    # --- who is who ----------------------------------------------------------------------------
    def sexes(self) -> list[str]:
        female = {}
        per_arm = {a: x for x in self.pub.targets() if x.measure == "female" and x.statistic == "percent"
                   for a in [plan.arm_of(self.pub, x.group)] if a}
        overall = next((x for x in self.pub.targets() if x.measure == "female" and x.statistic == "percent"
                        and x.group == "all"), None)
        impossible = plan.infeasible_percentages(self.pub)
        for a, size in self.shape.arms.items():
            x = per_arm.get(a)
            if x is not None and x.id not in impossible:
                female[a] = percent_counts(x.value, x.decimals, size)[0]
        if len(female) < len(self.shape.arms):
            if overall is not None and overall.id not in impossible:
                total = percent_counts(overall.value, overall.decimals, self.n)[0]
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

    def plan_status(self) -> None:
        """CR / PR / NR at each timepoint, exactly the planned counts in every cell; patients who stay
        longest are evaluated (a count that rises means some missed the earlier visit)."""
        start = 0
        for cell in self.cells:
            idx = list(range(start, start + self.shape.cells[cell]))
            start += len(idx)
            retention = self.draws.permutation(len(idx))          # rank 0 stays longest
            latent = [self.draws.normal() for _ in idx]           # propensity to respond
            for j, tp in enumerate(self.tps):
                row = self.shape.counts[tp, cell]
                seen = [k for k in range(len(idx)) if retention[k] < row["n"]]
                order = sorted(seen, key=lambda k: (-(latent[k] + 0.6 * self.draws.normal()), k))
                for rank, k in enumerate(order):
                    self.status[idx[k], j] = ("CR" if rank < row["CR"] else
                                              "PR" if rank < row["CR"] + row["PR"] else "NR")

    def follow_up(self) -> list[int]:
        out = []
        for i in range(self.n):
            last = max((j for j in range(len(self.tps)) if (i, j) in self.status), default=-1)
            lo = (self.days[last] if last >= 0 else 0) + WINDOW + 1
            hi = self.days[-1] + 900 if last == len(self.tps) - 1 else self.days[last + 1] - WINDOW - 1
            out.append(self.draws.integer(lo, max(lo, hi)))
        return out

    def _members(self, measure: str, timepoint: str, patients: list[int]) -> dict[str, list[int]]:
        """The patients grouped as the published numbers of `measure` at `timepoint` group them."""
        groups = set(fit.targets(self.pub, measure, timepoint))
        key = self.group if groups & set(self.pub.subgroups) else self.arm
        out: dict[str, list[int]] = {}
        for i in patients:
            out.setdefault(key[i], []).append(i)
        return out

    # --- UPCR -------------------------------------------------------------------------------------
    def upcr(self) -> tuple[list[int], dict]:
        """Baseline UPCR per patient and UPCR per (patient, timepoint index), in 0.01 g/g."""
        spec = {**DEFAULT_UPCR, **self.values.get("baseline_labs", {}).get("upcr_g_g", {})}
        lo, hi = round(100 * spec["min"]), round(100 * spec["max"])
        fitted_baseline = bool(fit.targets(self.pub, "upcr", "baseline"))
        first_status = [next((self.status[i, j] for j in range(len(self.tps)) if (i, j) in self.status), "")
                        for i in range(self.n)]
        if fitted_baseline:   # drafts: the higher baselines mostly to the non-responders, the lower to CR
            pairs = fit.targets(self.pub, "upcr", "baseline")
            draft = {}
            ladder = list(range(max(lo, PR_BASELINE_MIN), hi + 1))
            for g, idx in self._members("upcr", "baseline", range(self.n)).items():
                mean, sd = pairs.get(g, pairs.get("all"))
                drawn = sorted((fit.lognormal_position(self.draws, ladder, 100 * mean.value, 100 * sd.value)
                                + ladder[0] for _ in idx), reverse=True)
                order = sorted(idx, key=lambda i: (STATUS_RANK[first_status[i]] + 1.2 * self.draws.uniform(), i))
                draft.update(zip(order, drawn))
            baseline = [draft[i] for i in range(self.n)]
        else:                 # room for a partial response to halve the baseline, where there is one
            floor = max(lo, PR_BASELINE_MIN) if "PR" in self.status.values() else lo
            baseline = self._pooled(lambda: self.draws.lognormal_units(ln(spec["median"]), spec["log_sd"], floor, hi,
                                                                       0.01))
        visits = {}
        for j, tp in enumerate(self.tps):
            seen = [i for i in range(self.n) if (i, j) in self.status]
            bands = {i: labs.upcr_band(self.draws, self.status[i, j], baseline[i], self.criteria) for i in seen}
            ladders = {i: list(range(b[0], b[1] + 1)) for i, b in bands.items()}
            fitted = fit.fit_groups(
                self.draws, self.pub, "upcr", tp, "0.01", self._members("upcr", tp, seen), ladders,
                lambda i, mean, sd, ladders=ladders: fit.lognormal_position(self.draws, ladders[i], mean, sd))
            for i in seen:
                visits[i, j] = fitted[i] if fitted else labs.visit_upcr(self.draws, self.status[i, j], *bands[i],
                                                                        baseline[i])
        if fitted_baseline:   # the baselines again, within what every later visit's response allows
            ladders = {}
            for i in range(self.n):
                b_lo, b_hi = lo, hi
                for j in range(len(self.tps)):
                    if (i, j) in visits:
                        b_lo, b_hi = labs.baseline_upcr_band(self.draws, self.status[i, j], visits[i, j],
                                                             self.criteria, b_lo, b_hi)
                ladders[i] = list(range(b_lo, b_hi + 1))
            fitted = fit.fit_groups(self.draws, self.pub, "upcr", "baseline", "0.01",
                                    self._members("upcr", "baseline", range(self.n)), ladders,
                                    lambda i, mean, sd: fit.lognormal_position(self.draws, ladders[i], mean, sd),
                                    dict(enumerate(baseline)))
            baseline = [fitted[i] for i in range(self.n)]
        return baseline, visits

    # --- creatinine (eGFR is CKD-EPI 2009 of it, exactly) -------------------------------------------
    def creatinine(self, sex: list[str], age: list[int]) -> tuple[list[int], dict]:
        spec = {**DEFAULT_EGFR, **self.values.get("baseline_labs", {}).get("egfr", {})}
        e_lo, e_hi = round(10 * spec["min"]), round(10 * spec["max"])
        floors = {g: round(10 * v["min"]) for g, v in self.values.get("baseline_gfr", {}).items()} \
            if isinstance(self.values.get("baseline_gfr"), dict) else {}
        pairs = fit.targets(self.pub, "egfr", "baseline")
        if pairs:
            ladders, creatinine_of = {}, {}
            for i in range(self.n):
                egfr, creat = labs.egfr_ladder(age[i], sex[i], *BASELINE_CREATININE)
                low = floors.get(self.group[i], e_lo)
                keep = [k for k, e in enumerate(egfr) if low <= e <= e_hi] or [len(egfr) - 1]
                ladders[i], creatinine_of[i] = [egfr[k] for k in keep], [creat[k] for k in keep]
            fitted = fit.fit_groups(
                self.draws, self.pub, "egfr", "baseline", "0.1", self._members("egfr", "baseline", range(self.n)),
                ladders, lambda i, mean, sd: fit.nearest(ladders[i], self.draws.normal_units(
                    mean, sd, ladders[i][0], ladders[i][-1], 1)))
            baseline = [creatinine_of[i][ladders[i].index(fitted[i])] for i in range(self.n)]
        else:
            egfr = self._pooled(lambda: self.draws.normal_units(spec["mean"], spec["sd"], e_lo, e_hi, 0.1))
            baseline = [labs.baseline_creatinine(self.draws, egfr[i], age[i], sex[i], spec["mean"], spec["sd"],
                                                 BASELINE_CREATININE[0]) for i in range(self.n)]
        visits = {}
        for j, tp in enumerate(self.tps):
            seen = [i for i in range(self.n) if (i, j) in self.status]
            bands = {i: labs.creatinine_band(self.draws, self.status[i, j], baseline[i], sex[i], self.criteria)
                     for i in seen}
            if not fit.targets(self.pub, "egfr", tp):
                for i in seen:
                    visits[i, j] = labs.visit_creatinine(self.draws, self.status[i, j], *bands[i], baseline[i])
                continue
            ladders, creatinine_of = {}, {}
            for i in seen:
                egfr, creat = labs.egfr_ladder(age[i], sex[i], *bands[i])
                keep = [k for k, e in enumerate(egfr) if e >= VISIT_EGFR_MIN] or [len(egfr) - 1]
                ladders[i], creatinine_of[i] = [egfr[k] for k in keep], [creat[k] for k in keep]
            before = {i: egfr_tenths(baseline[i], age[i], sex[i]) for i in seen}
            fitted = fit.fit_groups(
                self.draws, self.pub, "egfr", tp, "0.1", self._members("egfr", tp, seen), ladders,
                lambda i, mean, sd, ladders=ladders, before=before, j=j: fit.nearest(ladders[i], before[i] * (
                    0.55 + 0.6 * self.draws.uniform() if self.status[i, j] == "NR" else
                    0.97 + 0.06 * self.draws.uniform())))
            for i in seen:
                visits[i, j] = creatinine_of[i][ladders[i].index(fitted[i])]
        return baseline, visits

    # --- everything --------------------------------------------------------------------------------
    def run(self) -> dict[str, pd.DataFrame]:
        pub = self.pub
        sex, age = self.sexes(), self.ages()
        isn = self._categories("isn_class", "the ISN/RPS class of each patient")
        induction = self._categories("induction", "the induction regimen of each patient")
        maintenance = self._categories("maintenance", "the maintenance regimen of each patient")
        self.plan_status()
        followup = self.follow_up()
        base_upcr, upcr = self.upcr()
        base_creat, creat = self.creatinine(sex, age)
        prefix = pub.reconstruction.id_prefix
        ids = [f"{prefix}{k + 1:03d}" for k in self.draws.permutation(self.n)]  # in no order of arm or response
        other = {name: self._pooled(lambda name=name: labs.other_labs(self.draws, False)[name]) for name in OTHER_LABS}
        rows = []
        for i in range(self.n):
            rows.append({"patient_id": ids[i], "day": 0, "upcr": base_upcr[i], "creatinine": base_creat[i],
                         **{name: other[name][i] for name in OTHER_LABS}})
        for (i, j), st in sorted(self.status.items()):
            rows.append({"patient_id": ids[i], "day": self.days[j] + self.draws.integer(-JITTER, JITTER),
                         "upcr": upcr[i, j], "creatinine": creat[i, j], **labs.other_labs(self.draws, st != "NR")})
        state = events.State(ids=ids, arm=self.arm, sex=sex, age=age, status=self.status, followup=followup,
                             days=self.days, baseline_upcr=base_upcr, lab_rows=rows)
        found = []
        if "poor_outcomes" in self.values:
            found += events.poor_outcomes(self.draws, pub, self.values["poor_outcomes"], self.shape.arms, state)
        if "renal_flares" in self.values:
            found += events.flares(self.draws, self.values["renal_flares"], self.shape.arms, state)
        if "adverse_events" in self.values:
            found += events.adverse_events(self.draws, self.values["adverse_events"], self.shape.arms, state)
        patients = pd.DataFrame({
            "patient_id": ids, "study": pub.study, "arm": self.arm, "sex": sex, "age": age, "isn_class": isn,
            "induction": induction, "maintenance": maintenance, "prior_response": self.group,
            "last_followup_day": state.followup})
        lab_frame = labs.lab_frame(rows, dict(zip(ids, age)), dict(zip(ids, sex)))
        event_frame = pd.DataFrame(found, columns=["patient_id", "day", "event", "category"])
        event_frame = event_frame.sort_values(["patient_id", "day", "event"], kind="stable").reset_index(drop=True)
        return {"patients.csv": patients.sort_values("patient_id").reset_index(drop=True), "labs.csv": lab_frame,
                "events.csv": event_frame}
