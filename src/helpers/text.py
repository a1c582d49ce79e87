"""Text from the inputs on the book's pages: the one escaping function.

Every string the book did not write itself (a cohort's study, arm, group and regimen labels, a study
file's title, quotes, assumptions and resolutions, a params file's values and name) reaches a page,
a table, a figure or a heading through `literal`, which shows it as the text it is, never as markup:

1. one line: every line break a parser may honour (\\n, \\r, \\r\\n, \\v, \\f, \\x1c-\\x1e, U+0085,
   U+2028, U+2029) becomes a space, so a value cannot end a Markdown line and open a fence or a
   directive (CommonMark ends lines at \\r as well as \\n);
2. visible: any other control or format character (NUL, ESC, the bidirectional overrides such as
   U+202E) is written as <U+XXXX>, so it can neither hide nor reorder what is around it;
3. inert in its place (`to`):
   - "myst": prose in a MyST/Markdown page: every ASCII punctuation character backslash-escaped, which
     CommonMark shows as itself (no emphasis, link, role, math, HTML or table cell boundary);
   - "code": a MyST code span (shown literally, whatever characters it holds);
   - "html": HTML text or an attribute value (html.escape: & < > " ');
   - "figure": matplotlib text ($ escaped: no mathtext, whose parser fails on unbalanced TeX).

A notebook's HTML outputs are inserted by MyST-NB as HTML, never parsed as Markdown, so "html" is
their whole escaping. CSV cells are made safe where they are written (compare.results.csv_cell).
"""
from __future__ import annotations

import html
import re
import unicodedata

LINE_BREAKS = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")        # every ASCII punctuation character
UNSEEN = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")     # control, format, surrogate, private, unassigned, breaks
PLACES = ("myst", "code", "html", "figure")


def one_line(value) -> str:
    """`value` as text on one line: line breaks as spaces, other control and format characters as <U+XXXX>."""
    text = LINE_BREAKS.sub(" ", str(value))
    if text.isprintable():
        return text
    return "".join(f"<U+{ord(c):04X}>" if unicodedata.category(c) in UNSEEN else c for c in text)


def literal(value, to: str = "myst") -> str:
    """`value` shown as the text it is in `to` ("myst", "code", "html" or "figure"; see the module docstring)."""
    text = one_line(value)
    if to == "myst":
        return PUNCTUATION.sub(r"\\\1", text)
    if to == "code":
        fence = "`" * (1 + max(map(len, re.findall("`+", text)), default=0))
        return f"{fence} {text} {fence}"   # CommonMark strips one space from each side: a backtick at an end is safe
    if to == "html":
        return html.escape(text)
    if to == "figure":
        return text.replace("$", r"\$")
    raise ValueError(f"literal: unknown place {to!r} (one of {', '.join(PLACES)})")
