"""Result tables the notebooks write (CSV), in one long format the scorecard reads.

One row per computed number: study, measure, outcome, timepoint, group,
statistic, value, detail (the counts behind it, e.g. "45/91"), test.
The keys match those of data/published/*.yaml, so the scorecard can put each
published number beside the computed one without copying either.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from helpers.methods import disclosure
from helpers.paths import REPO_ROOT
from helpers.text import one_line

COLUMNS = ["study", "measure", "outcome", "timepoint", "group", "statistic", "value", "detail", "test"]


def resolve(path: str | Path) -> Path:
    """A path from a notebook parameter: relative paths are taken from the repository root."""
    path = Path(path)
    return path if path.is_absolute() else REPO_ROOT / path


def row(study, measure, statistic, value, group="all", outcome=None, timepoint=None, detail="", test="") -> dict:
    return {"study": study, "measure": measure, "outcome": outcome, "timepoint": timepoint, "group": group,
            "statistic": statistic, "value": value, "detail": detail, "test": test}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")   # what a spreadsheet may run as a formula (OWASP: CSV injection)
SIGNIFICANT = 3      # digits of a published mean, SD or p-value in a real-cohort book's result files


def csv_cell(value):
    """A cell as a spreadsheet shows it and never runs it: text on one line (helpers.text.one_line: no line
    break or control character to split a row), and, when it starts like a formula (= + - @), with a leading
    apostrophe; numbers are left as they are."""
    if not isinstance(value, str):
        return value
    value = one_line(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def safe_for_spreadsheets(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every text cell through csv_cell."""
    return frame.apply(lambda column: column.map(csv_cell) if column.dtype == object else column)


def rounded(value, statistic: str):
    """A number as a real-cohort book publishes it: a count whole, a percentage to 0.1, anything else (means,
    SDs, p-values) to SIGNIFICANT significant digits: what a reader needs, and no more digits to subtract
    from another book's (differencing; see book/own_cohort.md)."""
    if value != value or statistic == "count":
        return value
    return round(value, 1) if statistic == "percent" else float(f"{value:.{SIGNIFICANT}g}")


def write(rows: list[dict] | pd.DataFrame, output_dir: str | Path, name: str, min_cell: int = 0) -> Path:
    """Write result rows to output_dir/name.csv (deterministic formatting; text cells safe for spreadsheets,
    csv_cell). With min_cell > 0, a row whose 'k/n' disclosure.share_hidden hides keeps neither its counts
    nor its value, and every value is `rounded` (the reconstructed cohort, min_cell 0, keeps ten significant
    digits: its scorecard compares them with the published numbers at their own precision)."""
    frame = pd.DataFrame(rows, columns=COLUMNS) if not isinstance(rows, pd.DataFrame) else rows[COLUMNS].copy()
    if min_cell:   # the helpers hide by helpers.methods.disclosure upstream; this is the last line of defence
        counts = frame["detail"].astype(str).str.extract(r"^(\d+)/(\d+)").astype(float)
        hidden = [k == k and disclosure.share_hidden(k, n, min_cell) for k, n in zip(counts[0], counts[1])]
        frame.loc[hidden, "value"] = math.nan
        frame.loc[hidden, "detail"] = disclosure.HIDDEN
        frame["value"] = [rounded(v, s) for v, s in zip(frame["value"].astype(float), frame["statistic"])]
    folder = resolve(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    safe_for_spreadsheets(frame).to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
    return path


def read_all(output_dir: str | Path) -> pd.DataFrame:
    """Every result CSV in output_dir, concatenated."""
    files = sorted(resolve(output_dir).glob("*.csv"))
    if not files:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat([pd.read_csv(f, dtype={"timepoint": str, "outcome": str}) for f in files], ignore_index=True)
