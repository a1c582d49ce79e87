"""Every published number beside the same number recomputed from patient-level rows.

The recomputation is the notebooks' own (helpers.measures); the published value only
enters the `published` column and the match test.
"""
from __future__ import annotations

import pandas as pd

from . import measures, provenance, published, results, scorecard
from .data import Cohort
from .response import WINDOW, Criteria


def compare(pub: published.Study, cohort: Cohort, criteria: Criteria | None = None,
            window: int = WINDOW) -> pd.DataFrame:
    """One row per published number: published, recomputed from the rows, match, role, reason.
    The rows are the notebooks' own result rows (helpers.measures); the comparison is the
    scorecard's (helpers.scorecard.build)."""
    card = scorecard.build(pd.DataFrame(measures.study_rows(pub, cohort, criteria, window),
                                        columns=results.COLUMNS), [pub])
    return card.assign(recomputed=card["computed"], from_rows=card["detail"],
                       match=card["status"].eq("reproduced"))


def format_table(table: pd.DataFrame) -> str:
    """The check's table for a terminal: one line per published number."""
    def shown(row):
        v = row["recomputed"]
        return "n/a" if v != v else scorecard.shown(v, row["published"], row["decimals"], row["statistic"])

    view = pd.DataFrame({
        "id": table["id"],
        "published": [f"{v:.{d}f}" for v, d in zip(table["published"], table["decimals"])],
        "from rows": [shown(r) for _, r in table.iterrows()],
        "counts": table["from_rows"],
        "match": table["match"].map({True: "yes", False: "NO"}),
        "role": table["role"].map(provenance.LABELS),
        "test": table["test"],
    })
    return view.to_string(index=False)
