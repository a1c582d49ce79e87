"""Every chapter's result rows for one study file's cohort, at the default settings: what
`python -m helpers reconstruct --check` compares with the published numbers. The chapters' own `rows`
functions, the ones their notebooks write, so the check and the book cannot disagree."""
from __future__ import annotations

from helpers.chapters import description, groups, response, safety
from helpers.chapters.notebook import applies
from helpers.cohort.response import WINDOW, Criteria
from helpers.compare import scorecard
from helpers.publication import published


def study_rows(pub: published.Study, cohort, criteria: Criteria | None = None, window: int = WINDOW) -> list[dict]:
    """The rows of every chapter that applies to the study (chapters.notebook.applies, as for a book), at the
    study's own response criteria unless `criteria` says otherwise."""
    criteria = criteria or published.criteria(pub)
    out = description.rows(pub.study, cohort, pub, window)
    if applies("arms", pub):
        out += response.rows(pub.study, cohort, pub, window=window, criteria=criteria)
        out += safety.rows(pub.study, cohort, pub)
    if applies("groups", pub):
        out += groups.rows(pub.study, cohort, pub.timepoints, window, criteria, pub=pub)
    return out


def check(pub: published.Study, cohort, criteria: Criteria | None = None, window: int = WINDOW,
          not_reached: dict[str, str] | None = None):
    """compare.scorecard.check on these rows: every published number and statement beside its recomputed value
    (`not_reached`: the targets the build set aside, with its reason)."""
    return scorecard.check(pub, study_rows(pub, cohort, criteria, window), not_reached)
