"""helpers.text.literal, the one escaping function: hostile text from a cohort, a study file or a params file
is shown as itself in MyST (the book's own parser and extensions), in HTML and in matplotlib, on one line."""
from __future__ import annotations

import html

import pytest
from markdown_it.renderer import RendererHTML
from matplotlib.figure import Figure
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser

from helpers.text import LINE_BREAKS, literal, one_line

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "x\r```{raw} html\r<script>alert(1)</script>\r```",                 # CommonMark ends a line at \r too
    "x\r\n:::{raw} html\r\n<script>alert(1)</script>\r\n:::",
    "a\u2028```{raw} html\u2029<b>x</b>\x85```\x0b\x0c\x1c\x1d\x1e",
    "*emphasis* _under_ [link](javascript:alert(1)) ![img](x) {doc}`intro` {{ sub }} $x$ | a | b |",
    "m$x^{$", "`code` ``two``", "# heading", "> quote", "- item", "1. item", "%comment", "=HYPERLINK(\"x\")",
    "&lt;b&gt; &amp; &#60;", "\\*not*\\", "right\u202eleft \x1b[31mred\x00 zero\u200bwidth",
]


def myst():
    """The book's MyST parser (its extensions, _config.yml: colon_fence)."""
    return create_md_parser(MdParserConfig(enable_extensions={"colon_fence"}), RendererHTML)


@pytest.mark.parametrize("text", HOSTILE)
def test_myst_shows_the_text_itself_on_one_line(text):
    md = myst()
    expected = html.escape(one_line(text), quote=False).replace('"', "&quot;")   # as markdown-it writes text
    places = (f"Before {literal(text)} after.", f"- item {literal(text)}",
              f"| a | b |\n|---|---|\n| {literal(text)} | x |")
    for source in places:
        tokens = md.parse(source)
        kinds = {t.type for t in tokens} | {c.type for t in tokens for c in (t.children or [])}
        assert not kinds & {"html_block", "html_inline", "fence", "code_block", "colon_fence", "math_inline",
                            "link_open", "image", "em_open", "strong_open", "heading_open", "blockquote_open"}, kinds
    rendered = md.render(f"Before {literal(text)} after.")
    assert expected in rendered, rendered
    assert f"<code>{expected}</code>" in md.render(f"Before {literal(text, 'code')} after.")


@pytest.mark.parametrize("text", HOSTILE)
def test_html_and_figures_show_the_text_itself(text):
    escaped = literal(text, "html")
    assert "<" not in escaped and ">" not in escaped and '"' not in escaped and not LINE_BREAKS.search(escaped)
    assert html.unescape(escaped) == one_line(text)
    fig = Figure()
    fig.text(0.1, 0.5, literal(text, "figure"))
    fig.canvas.draw()                                   # mathtext would fail on "m$x^{$" (pyparsing)
    assert fig.texts[0].get_text() == literal(text, "figure")


def test_line_breaks_become_spaces_and_unseen_characters_visible():
    assert one_line("a\r\nb\rc\nd\u2028e\u2029f\x85g\x0bh\x0ci") == "a b c d e f g h i"
    assert one_line("right\u202eleft\x1b[0m\x00") == "right<U+202E>left<U+001B>[0m<U+0000>"
    assert one_line("mycophénolate\u00a0500 아자") == "mycophénolate\u00a0500 아자"     # spaces and scripts kept
    with pytest.raises(ValueError, match="unknown place"):
        literal("x", "latex")
