"""How each published number is known.

- target: the reconstruction was built to make it true (counts, percentages, means, SDs, and a
  p-value that chose counts); reproducing it shows consistency, not an independent result;
- check: an independent check, not used to build the rows, then recomputed from them;
- infeasible: no patient-level data can give it, with the proof;
- not_reached: a p-value some count tables consistent with the published numbers give, but none under the
  reconstruction's stated assumptions (helpers.publication.feasibility names those that exclude it);
- resolution: one side of a contradiction between (or within) the sources, set aside and documented;
- repeat: the same statement as another published number or claim (another source gives it too): shown and
  compared, but counted once, as the first;
- not expressible: a claim about something the patient-level format does not hold (said why).

Claims in words (helpers.compare.claims) get roles too, one per measure they speak of (`claim_roles`).
"""
from __future__ import annotations

from dataclasses import dataclass

from helpers.publication import counts, feasibility, published, targets

KINDS = ("target", "check", "infeasible", "not_reached", "resolution", "repeat", "not_expressible")
ROLE_NAMES = {"target": "target", "check": "independent check", "infeasible": "infeasible",
          "not_reached": "not reached under the stated assumptions", "resolution": "resolution",
          "repeat": "repeat (counted once)", "not_expressible": "not expressible"}


@dataclass(frozen=True)
class Role:
    kind: str   # one of KINDS
    why: str    # how the reconstruction uses it, the proof, or the resolution's reason


def roles(pub: published.Study, reconstructed: bool = True) -> dict[str, Role]:
    """The role of every published number of `pub`, by id: in the reconstructed rows (`reconstructed`), a
    number about a measure the reconstruction writes no column for (targets.NOT_BUILT) is not expressible."""
    from helpers.compare.numbers import why_not
    set_aside = {i: r for r in pub.resolutions for i in r.sets_aside}
    built = _built_from(pub)
    impossible = counts.infeasible(pub)
    aimed = targets.aimed(pub)
    out = {}
    for n in pub.numbers:
        if (reason := why_not(pub, n) or (targets.not_built(n) if reconstructed else None)) is not None:
            out[n.id] = Role("not_expressible", reason)
        elif n.same_as is not None:
            first = pub.number(n.same_as)
            out[n.id] = Role("repeat", f"The same statement as `{first.id}` ({first.source}): compared, counted "
                                       f"once, as that number.")
        elif n.id in set_aside:
            out[n.id] = Role("resolution", set_aside[n.id].why)
        elif n.id in impossible:
            out[n.id] = Role("infeasible", impossible[n.id])
        elif n.id in built:
            out[n.id] = Role("target", built[n.id])
        elif n.statistic == "p_value":
            found = feasibility.verdict(pub, n)
            if found is not None and found.kind in ("infeasible", "not_reached"):
                out[n.id] = Role(found.kind, found.text)
            else:
                out[n.id] = Role("check", "Not used to build the rows; recomputed from them.")
        elif n.statistic == "logrank_p" or n.id not in aimed:
            out[n.id] = Role("check", "Not used to build the rows; recomputed from them.")
        else:
            out[n.id] = Role("target", aimed[n.id])
    return out


def claim_roles(pub: published.Study) -> dict[str, Role]:
    """The role of every statement of `pub`'s claims, by '<claim id>:<measure>'."""
    built = pub.by_construction
    weighed = {i: r for r in pub.resolutions for i in r.weighs}
    out = {}
    for c in pub.claims:
        for measure in c.items():
            key = f"{c.id}:{measure}"
            if c.same_as is not None:
                first = next(x for x in pub.claims if x.id == c.same_as)
                out[key] = Role("repeat", f"The same statement as the claim `{first.id}` ({first.source}): compared, "
                                          f"counted once, as that claim.")
            elif measure in c.not_expressible:
                out[key] = Role("not_expressible", c.not_expressible[measure])
            elif key in built or c.id in built:
                out[key] = Role("target", f"Chosen to make it hold: {built.get(key) or built[c.id]}")
            elif c.id in weighed or key in weighed:
                resolution = weighed.get(c.id) or weighed[key]
                out[key] = Role("target", f"Weighed to resolve a contradiction ({resolution.id}).")
            else:
                out[key] = Role("check", "Not used to build the rows; recomputed from them.")
    return out


def _built_from(pub: published.Study) -> dict[str, str]:
    """Published numbers the reconstruction reads to decide the rows, with how it uses them."""
    built = {}
    for a in pub.assumptions:
        for i in a.by_construction:
            built[i] = f"Chosen to make it hold: {a.what}"
    for r in pub.resolutions:
        for i in r.weighs:
            built.setdefault(i, f"Weighed to resolve a contradiction between the sources ({r.id}): the rows were "
                                f"chosen with it in view.")
    return built
