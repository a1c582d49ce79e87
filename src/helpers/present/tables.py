"""Formatting of counts, summaries and p-values for display tables (no statistics here)."""
from __future__ import annotations

import pandas as pd

from helpers import labels
from helpers.methods import disclosure
from helpers.publication.consistency import rounds_to
from helpers.text import literal

NOT_ESTIMABLE = "not estimable"
ONE_ARM = "One arm: all patients, no between-arm test."
CORRECTION_NAME = "Holm"


def n_of_N(k, n, decimals: int = 1, min_cell: int = 0) -> str:  # noqa: N802 (the usual notation)
    """'12/40 (30.0%)'; '0/0 (not estimable)' when n is 0; 'suppressed' for a count hidden upstream
    (NaN) or, with min_cell > 0, by disclosure.share_hidden (k, n - k or n below min_cell)."""
    if n == 0:
        return f"0/0 ({NOT_ESTIMABLE})"
    if k != k or n != n:
        return disclosure.HIDDEN
    if disclosure.share_hidden(k, n, min_cell):
        return disclosure.HIDDEN if disclosure.small(n, min_cell) else f"{disclosure.HIDDEN}/{int(n)}"
    return f"{int(k)}/{int(n)} ({100 * k / n:.{decimals}f}%)"


def _clean(values) -> pd.Series:
    return pd.Series(values, dtype=float).dropna()


def mean_sd(values, decimals: int = 1, min_cell: int = 0) -> str:
    """'31.4 ± 6.0' (sample SD; missing values dropped); 'not estimable' with fewer than 2 values;
    'suppressed' with fewer than min_cell values."""
    v = _clean(values)
    if disclosure.small(len(v), min_cell):
        return disclosure.HIDDEN
    return NOT_ESTIMABLE if len(v) < 2 else f"{v.mean():.{decimals}f} ± {v.std():.{decimals}f}"


def format_p(p, decimals: int = 3) -> str:
    """'0.042'; '< 0.001' below 10**-decimals; 'not estimable' for NaN / None."""
    if p is None or pd.isna(p):
        return NOT_ESTIMABLE
    floor = 10.0 ** -decimals
    return f"< {floor:.{decimals}f}" if p < floor else f"{p:.{decimals}f}"


_SHOWN_NOTES: set[str] = set()   # the footnotes this chapter has shown (a kernel runs one chapter)
REPEATED = "The notes under the tables above apply here too."


def new_chapter() -> None:
    """Forget the notes shown: the next table shows all of its notes."""
    _SHOWN_NOTES.clear()


class Table:
    """A table for a reader: a frame (its first column names the rows), footnotes, and a caption.
    Rendered as HTML that wraps (no row numbers, nothing cut short) and as plain text."""

    def __init__(self, frame: pd.DataFrame, notes=(), caption: str = "", code: bool = False):
        self.frame = frame.reset_index(drop=True)
        self.notes = [n for n in dict.fromkeys(notes) if n]
        self.caption = caption
        self.code = code   # cells are names and values a program reads (parameters): set as code

    def _repr_html_(self) -> str:
        """A plain HTML table whose cells carry their column's name (data-label), so that narrow
        screens can stack each row as a card (book/static/ln.css) instead of hiding columns."""
        columns = [str(c) for c in self.frame.columns]
        head = "".join(f"<th>{literal(c, 'html')}</th>" for c in columns)
        opened, closed = ("<code>", "</code>") if self.code else ("", "")
        body = "".join(
            "<tr>" + "".join(f'<td data-label="{literal(c, "html")}">{opened}{literal(_cell(v), "html")}{closed}</td>'
                             for c, v in zip(columns, row)) + "</tr>\n"
            for row in self.frame.itertuples(index=False))
        caption = f'<p class="ln-caption">{literal(self.caption, "html")}</p>\n' if self.caption else ""
        notes = "".join(f'<p class="ln-note">{literal(n, "html")}</p>\n' for n in self._notes_once())
        return (f'<div class="ln-table-wrap">\n{caption}<table class="ln-table">\n<thead><tr>{head}</tr></thead>\n'
                f"<tbody>\n{body}</tbody>\n</table>\n{notes}</div>")

    def _notes_once(self) -> list[str]:
        """This table's notes less those an earlier table of the chapter has shown (the same sources and
        assumptions are said once, not under every table), with a line saying so; the same for every
        rendering of this table."""
        if not hasattr(self, "_once"):
            fresh = [n for n in self.notes if n not in _SHOWN_NOTES]
            _SHOWN_NOTES.update(fresh)
            self._once = fresh + ([REPEATED] if len(fresh) < len(self.notes) else [])
        return self._once

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None, "display.width", 10_000):
            text = self.frame.to_string(index=False)
        return "\n".join(x for x in (self.caption, text, *self.notes) if x)


def _cell(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def interval(estimate: float, low: float, high: float, decimals: int = 1, scale: float = 1.0) -> str:
    """'-7.1 (-21.4 to 7.5)': an estimate with its 95% CI ('' when not estimable)."""
    if any(pd.isna(v) for v in (estimate, low, high)):
        return ""
    e, lo, hi = (v * scale for v in (estimate, low, high))
    return f"{e:.{decimals}f} ({lo:.{decimals}f} to {hi:.{decimals}f})".replace("-", "−")


def comparison_table(comparison: pd.DataFrame, arms, key_label: str, key_text=None, mark=None, published=None,
                     min_cell: int = 0, notes=(), p_text=None, effect_mark=None) -> Table:
    """A comparison of two proportions per row (stats.response_comparison, or the same shape):
    n/N (%) per arm, the risk difference in percentage points and the odds ratio with 95% CIs,
    p and the test, and, on a reconstructed cohort, the published values with marks.

    `key_text(key)` words the row key; `mark(key, arm_or_None, value)` returns the provenance mark
    of a percentage (an arm) or of the p-value (None); `published(key)` the published values.
    `p_text(key, p)` formats a p-value (default format_p); `effect_mark(key, statistic, value)` the mark of a
    risk difference (percentage points) or odds ratio a source publishes. The test is named once, in a note, when
    every row used the same one. With min_cell > 0, a row with any count below min_cell shows no
    effect size and no p."""
    arms = list(arms)
    key = comparison.columns[0]
    rows, test_notes = [], []
    for r in comparison.to_dict("records"):
        row = {key_label: key_text(r[key]) if key_text else str(r[key])}
        hidden = False
        for arm in arms:
            k, n = r[f"{arm}_k"], r[f"{arm}_n"]
            concealed = disclosure.share_hidden(k, n, min_cell)      # NaN (hidden upstream) included
            hidden |= concealed
            cell = n_of_N(k, n, min_cell=min_cell)
            if mark and n and not concealed:
                cell += mark(r[key], arm, 100 * k / n)
            row[f"{labels.arm(arm)}, n/N (%)"] = cell
        if len(arms) > 2:
            row["p, all arms"] = disclosure.HIDDEN if hidden else format_p(r["p"])
            for a, b in comparison.attrs.get("pairs", ()):
                row[f"p, {labels.arm(a).lower()} vs {labels.arm(b).lower()} ({CORRECTION_NAME})"] = \
                    disclosure.HIDDEN if hidden else format_p(r.get(f"p_holm_{a}_vs_{b}", float("nan")))
        if len(arms) == 2:
            row["Difference, % points (95% CI)"] = "" if hidden else interval(r["rd"], r["rd_low"], r["rd_high"],
                                                                             scale=100)
            row["Odds ratio (95% CI)"] = "" if hidden else interval(r["or"], r["or_low"], r["or_high"], 2)
            if effect_mark and not hidden:
                row["Difference, % points (95% CI)"] += effect_mark(r[key], "risk_difference", 100 * r["rd"])
                row["Odds ratio (95% CI)"] += effect_mark(r[key], "odds_ratio", r["or"])
            shown = p_text(r[key], r["p"]) if p_text and r["p"] == r["p"] else format_p(r["p"])
            row["p"] = disclosure.HIDDEN if hidden else \
                shown + (mark(r[key], None, r["p"]) if mark and r["p"] == r["p"] else "")
            row["Test"] = "" if hidden else r["test"]
        if published:
            row["Published"] = published(r[key])
        if r.get("note") and not hidden and len(arms) != 1:
            test_notes.append(f"{row[key_label]}: {r['note']}")
        rows.append(row)
    frame = pd.DataFrame(rows)
    if len(arms) == 1:
        test_notes.insert(0, ONE_ARM)
    if len(arms) > 2:
        test_notes.insert(0, f"p, all arms: {comparison['test'].iloc[0] if len(comparison) else 'none'}; each pair: "
                             f"{comparison.attrs.get('pair_test', '')}, {CORRECTION_NAME}-adjusted over the pairs of "
                             f"the row. No effect size: each is a pair's.")
    named = frame["Test"][frame["Test"] != ""] if "Test" in frame else pd.Series(dtype=str)
    if "Test" in frame and named.nunique() <= 1:
        test_notes.insert(0, f"p: {named.iloc[0] if len(named) else 'none shown'}; {arms_text(arms)}.")
        frame = frame.drop(columns="Test")
    if (frame.get("p", pd.Series(dtype=str)) == disclosure.HIDDEN).any():
        test_notes.append(disclosure.hidden_note(min_cell, "; no effect or p beside it"))
    return Table(frame, [*test_notes, *notes])


def arms_text(arms) -> str:
    """'difference: tacrolimus minus no tacrolimus (Newcombe 95% CI); odds ratio: tacrolimus over ...'."""
    a, b = (labels.arm(x).lower() for x in arms)
    return f"difference: {a} minus {b} (Newcombe 95% CI); odds ratio: {a} over {b} (Woolf 95% CI)"


def p_beside(p: float, published: float, decimals: int) -> str:
    """A p-value at three decimals, or at as many more as it takes to round the same way as the
    value itself at the published precision (0.15497 next to a published 0.15 reads '0.15497', not
    '0.155')."""
    for shown in range(3, 8):
        text = f"{p:.{shown}f}"
        if rounds_to(float(text), published, decimals) == rounds_to(p, published, decimals):
            return format_p(p) if shown == 3 else text
    return text




