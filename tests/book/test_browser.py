"""The built book in a real browser: Debian's chromium, headless, driven by Playwright.

Serves _build/html on 127.0.0.1 and opens every page. Checks: each chapter, at 1400 and
400 px, reads like a results section (tables and figures shown, no code until asked for,
captioned and numbered figures with alt text, nothing cut short, the p column on screen, no
sideways scroll) and links its result table; the scorecard shows its counts; the "next"
link and the search page work; no page logs a console error; no request leaves 127.0.0.1.
Screenshots of every chapter at both widths go to _build/screenshots/.

Chromium runs offline by construction: every host name resolves to nothing without asking DNS
(--host-resolver-rules), and its background services (updates, pings, reporting) are off. Its
net-log shows it: no DNS lookup, no socket to any address but 127.0.0.1. One exception Chromium
has no switch for: before each host resolution (even of 127.0.0.1) it checks, at most once a
second, whether IPv6 is routable by connect()ing a UDP socket to 2001:4860:4860::8888, which
sends no packet; the test allows that connect() and asserts that no byte is sent.

Skipped when _build/html does not exist, unless LN_REQUIRE_BOOK is set (as `make test`
does, after building the book).
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.slow   # drives the browser over the built book: left out of `make test-fast`

BOOK = REPO_ROOT / "_build" / "html"
STAGING = REPO_ROOT / "_build" / "staging" / "default"  # the run that built _build/html
EXECUTED = STAGING / "notebooks"
SCORECARD = STAGING / "scorecard.csv"
SCREENSHOTS = REPO_ROOT / "_build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",   # no name is ever looked up
        "--no-pings", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
        "--disable-default-apps", "--disable-breakpad", "--no-default-browser-check"]
DNS_EVENTS = ("HOST_RESOLVER_DNS_TASK", "HOST_RESOLVER_SYSTEM_TASK", "DNS_TRANSACTION", "QUIC_SESSION_POOL_ASYNC_DNS")
IPV6_PROBE = "[2001:4860:4860::8888]:"   # HostResolverManager's IPv6 reachability check (a connect(), no packet)

if not (BOOK / "index.html").exists():
    if os.environ.get("LN_REQUIRE_BOOK"):
        pytest.fail(f"LN_REQUIRE_BOOK is set but the book is not built: {BOOK} (run `make book`)", pytrace=False)
    pytest.skip(f"the book is not built ({BOOK} missing): run `make book`, or `make test`, which builds it",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_Quiet, directory=str(BOOK))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def playwright():
    """Every test that starts the browser comes through here: a missing chromium fails them, and only them
    (not `make test-fast`, which leaves them out)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)", pytrace=False)
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield chromium
    chromium.close()


class Visit:
    """A page with every request URL, console error and page error recorded."""

    def __init__(self, browser, base: str, width: int = 1280):
        self.base = base
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def open(self, path: str, until: str = "load"):
        """Go to `path` and wait for its load event (every image, style sheet and script in), or with
        until="networkidle" for half a second without a request too: where a test counts the requests a page
        makes, or the page fetches after its load (the search index)."""
        response = self.page.goto(f"{self.base}/{path}", wait_until=until)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        return self.page

    def off_site(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(self.base + "/") and not u.startswith(("data:", "blob:"))]


@pytest.fixture(scope="module")
def opened(browser, server):
    """`opened(path, width)`: the page loaded once and shared by the tests that only read it (evaluate a script,
    take a screenshot); a test that clicks or navigates opens its own Visit."""
    visits: dict[tuple[str, int], Visit] = {}

    def open_once(path: str, width: int) -> Visit:
        if (path, width) not in visits:
            visits[path, width] = Visit(browser, server, width)
            visits[path, width].open(path)
        return visits[path, width]

    yield open_once
    for visit in visits.values():
        visit.page.close()


def html_pages() -> list[str]:
    return sorted(p.relative_to(BOOK).as_posix() for p in BOOK.rglob("*.html") if "_static" not in p.parts)


def chapters() -> list[Path]:
    return sorted(EXECUTED.glob("*.ipynb"))


def outputs(notebook: Path) -> tuple[int, int, list[str]]:
    """(figures, HTML tables, figures shown only as text) among the outputs of an executed notebook."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    figures = tables = 0
    as_text = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            figures += any(k.startswith("image/") for k in data)
            tables += "".join(data.get("text/html", [])).count("<table")
            text = "".join(data.get("text/plain", []))
            if text.startswith("<Figure size") and not any(k.startswith("image/") for k in data):
                as_text.append(text)
    return figures, tables, as_text


def test_every_page_loads_without_errors_or_off_site_requests(browser, server):
    pages = html_pages()
    assert "book/scorecard.html" in pages and "search.html" in pages
    problems = []
    visits = {path: Visit(browser, server) for path in pages}
    for path, visit in visits.items():      # every page loading at once: their half-seconds of quiet overlap
        visit.open(path, until="commit")
    for path, visit in visits.items():
        visit.page.wait_for_load_state("networkidle")
        problems += [f"{path}: {e}" for e in visit.errors]
        problems += [f"{path}: request leaves 127.0.0.1: {u}" for u in visit.off_site()]
        visit.page.close()
    assert not problems, "\n".join(problems)


READER_CHECKS = """() => {
  const article = document.querySelector('article');
  const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
    && e.checkVisibility({visibilityProperty: true, contentVisibilityAuto: true}); };
  const code = [...article.querySelectorAll('.cell_input pre, .cell_input code')].filter(visible).length;
  const figures = [...article.querySelectorAll('figure')].filter(visible);
  const images = [...article.querySelectorAll('img')].filter(i => visible(i) && i.complete && i.naturalWidth > 0);
  const uncaptioned = figures.filter(f => !(f.querySelector('figcaption') || {}).innerText).length;
  const loose = images.filter(i => !i.closest('figure')).length;
  const badAlt = images.filter(i => !i.alt || /^[0-9a-f]{16,}/.test(i.alt) || i.alt.endsWith('.png')).length;
  const cells = [...article.querySelectorAll('table td, table th')];
  const cut = cells.filter(c => /(\\.\\.\\.|…)$/.test(c.innerText.trim())).length;
  const pCells = [...article.querySelectorAll(
    'table.ln-table td[data-label="p"], table.ln-table td[data-label^="p ("]')]
    .filter(c => c.textContent.trim() !== '');
  const width = document.documentElement.clientWidth;
  const hiddenP = pCells.filter(c => !visible(c) || c.getBoundingClientRect().right > width + 1).length;
  const tables = [...article.querySelectorAll('table')].filter(visible).length;
  return {code, figures: figures.length, images: images.length, uncaptioned, loose, badAlt, cut, hiddenP,
          pCells: pCells.length, tables, overflow: document.documentElement.scrollWidth > width + 1};
}"""


@pytest.mark.parametrize("width", [1400, 400])
@pytest.mark.parametrize("notebook", chapters(), ids=lambda p: p.stem)
def test_chapter_reads_like_a_results_section(opened, notebook, width):
    """At 1400 and 400 px: the tables and figures of the executed notebook are shown, no code is
    visible until asked for, every figure is numbered with a caption and alt text, no cell is cut
    short, the p column is on screen, the page does not scroll sideways; a screenshot is saved."""
    figures, tables, as_text = outputs(notebook)
    visit = opened(f"book/executed/{notebook.stem}.html", width)
    page = visit.page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"chapter_{notebook.stem}_{width}.png"), full_page=True)
    assert not as_text, (f"{notebook.stem}: {len(as_text)} figure(s) have no image output, the book shows only "
                         f"{as_text[0]!r} (no display formatter for matplotlib Figure in the kernel)")
    seen = page.evaluate(READER_CHECKS)
    assert seen["images"] >= figures, f"{notebook.stem}: {seen['images']} figures shown, {figures} in the notebook"
    assert seen["tables"] >= tables, f"{notebook.stem}: {seen['tables']} tables shown, {tables} in the notebook"
    assert figures + tables > 0, f"{notebook.stem}: the executed notebook has no table or figure"
    assert seen["code"] == 0, f"{notebook.stem}: {seen['code']} code blocks visible without a click"
    assert seen["loose"] == 0 and seen["uncaptioned"] == 0, f"{notebook.stem}: figures without a caption: {seen}"
    assert seen["badAlt"] == 0, f"{notebook.stem}: figures without real alt text: {seen}"
    assert seen["cut"] == 0, f"{notebook.stem}: table cells cut short with '...': {seen}"
    assert seen["hiddenP"] == 0, f"{notebook.stem}: p column off screen at {width} px: {seen}"
    assert not seen["overflow"], f"{notebook.stem}: the page scrolls sideways at {width} px"
    assert not visit.errors and not visit.off_site()


def test_figures_are_numbered_and_referenced(browser, server):
    visit = Visit(browser, server)
    page = visit.open("book/executed/02_response.html")
    captions = page.locator("figcaption").all_inner_texts()
    assert captions and all(re.match(r"Fig\. \d+", c.strip()) for c in captions), captions
    references = page.locator("article a.reference.internal span.std-numref").all_inner_texts()
    assert any(r.startswith("Fig.") for r in references), references


def test_chapters_link_their_result_tables(browser, server):
    for notebook in chapters():
        if notebook.stem.startswith("05_"):
            continue
        visit = Visit(browser, server)
        page = visit.open(f"book/executed/{notebook.stem}.html")
        link = page.locator(f"a.download[href$='{notebook.stem}.csv']")
        assert link.count() == 1, notebook.stem
        href = link.first.get_attribute("href")
        response = page.request.get(page.url.rsplit("/", 1)[0] + "/" + href)
        assert response.ok and response.text().startswith("study,measure,outcome"), notebook.stem
        visit.page.close()


def test_scorecard_shows_its_counts(browser, server):
    visit = Visit(browser, server)
    page = visit.open("book/scorecard.html")
    summary = page.locator("table").first
    header = summary.locator("thead th").all_inner_texts()
    assert header == ["study", "published numbers", "statements in words", "targets reproduced",
                      "independent checks reproduced", "checks that could have failed", "infeasible (with proof)",
                      "not reached under the assumptions", "resolutions", "repeats (counted once)", "not expressible",
                      "not computed"]
    total = summary.locator("tbody tr", has_text="total").locator("td").all_inner_texts()
    if SCORECARD.exists():  # written by the same pipeline run that built the book
        card = pd.read_csv(SCORECARD, keep_default_na=False)
        role = card["role"]
        done = card["status"] == "reproduced"
        claim = card["says"] != ""
        expected = [str((~claim).sum()), str(claim.sum()),
                    f"{(done & (role == 'target')).sum()} of {(role == 'target').sum()}",
                    f"{(done & (role == 'check')).sum()} of {(role == 'check').sum()}",
                    str(((role == "check") & (card["could_fail"] == "yes")).sum()),
                    *(str((role == kind).sum()) for kind in ("infeasible", "not_reached", "resolution", "repeat",
                                                            "not_expressible")),
                    str((card["status"] == "not computed").sum())]
        assert total[1:12] == expected
    published, statements = int(total[1]), int(total[2])
    roles = [int(total[3].split(" of ")[1]), int(total[4].split(" of ")[1]), *(int(t) for t in total[6:11])]
    assert published + statements == sum(roles), "every published number and statement has one role"
    rows = page.locator("table tbody tr").count()
    assert rows >= published, "every published number has its row"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "scorecard.png"), full_page=True)
    intro = visit.open("book/intro.html")
    assert f"Of {published} published numbers and {statements} statements in words" in \
        intro.locator("article").inner_text()


def test_next_link_navigates(browser, server):
    visit = Visit(browser, server)
    page = visit.open("book/intro.html")
    page.locator("a.right-next").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/book/methods.html"), page.url
    assert page.locator("h1").first.inner_text().startswith("Methods")


def test_search_finds_tacrolimus(browser, server):
    visit = Visit(browser, server)
    page = visit.open("search.html?q=tacrolimus", until="networkidle")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    assert page.locator("#search-results ul.search li").count() > 0
    assert not visit.errors and not visit.off_site()


def off_loopback(netlog: Path) -> list[str]:
    """What a Chromium net-log shows it tried beyond 127.0.0.1: DNS lookups, TCP connections, UDP sockets
    (QUIC, DNS, ...) connected elsewhere but for the IPv6 probe, and any UDP datagram sent off 127.0.0.1."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    found = []
    for event in log["events"]:
        name, params = names[event["type"]], event.get("params") or {}
        address = str(params.get("address", ""))
        if name.startswith(DNS_EVENTS):
            found.append(f"{name}: a DNS lookup {params}")
        elif name == "TCP_CONNECT_ATTEMPT" and address and not address.startswith("127.0.0.1:"):
            found.append(f"{name}: {address}")
        elif name == "UDP_CONNECT" and address and not address.startswith(("127.0.0.1:", IPV6_PROBE)):
            found.append(f"{name}: {address}")
        elif name in ("UDP_BYTES_SENT", "UDP_SEND_ERROR") and not address.startswith("127.0.0.1:"):
            found.append(f"{name}: {address or 'a datagram'}")
    return found


def test_chromium_tries_no_dns_and_no_address_but_127_0_0_1(playwright, server, tmp_path):
    """A fresh chromium, as the other tests launch it, writing its net-log: the start-up, a chapter and
    the search page (with its scripts) reach nothing beyond the server on 127.0.0.1."""
    netlog = tmp_path / "netlog.json"
    seen = []
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, f"--log-net-log={netlog}"])
    page = chromium.new_page()
    page.on("request", lambda r: seen.append(r.url))
    for path in ("book/intro.html", "book/executed/02_response.html", "search.html?q=tacrolimus"):
        page.goto(f"{server}/{path}", wait_until="networkidle")
    page.wait_for_timeout(2000)   # background services, if any, start within seconds
    chromium.close()
    assert seen and all(urlsplit(u).hostname == "127.0.0.1" or u.startswith(("data:", "blob:")) for u in seen), seen
    log = json.loads(netlog.read_text(encoding="utf-8"))
    assert len(log["events"]) > 100, "the net-log recorded the page loads"
    assert not off_loopback(netlog), "\n".join(off_loopback(netlog)[:20])


def test_no_page_loads_anything_from_off_site():
    """Static check of every built page: no script, stylesheet, image or frame from another host."""
    pattern = re.compile(r"<(script|link|img|iframe|source|video|audio)\b[^>]*\b(src|href)=[\"']((https?:)?//[^\"']+)",
                         re.IGNORECASE)
    found = [f"{p.relative_to(BOOK)}: {m.group(3)}" for p in BOOK.rglob("*.html")
             for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


# --- a reader's checks of the figures, the tables' widths and the words (issue 21) ---------------------------

FIGURE_TEXT = """async () => {
  const bodySize = parseFloat(getComputedStyle(document.querySelector('article p')).fontSize);
  const out = [];
  for (const img of [...document.querySelectorAll('article figure img')]) {
    const src = img.currentSrc || img.src;
    if (!src.endsWith('.svg')) { out.push({src, svg: false}); continue; }
    const text = await (await fetch(src)).text();
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const box = (doc.documentElement.getAttribute('viewBox') || '').split(/\\s+/).map(Number);
    const sizes = [...text.matchAll(/font-size:\\s*([0-9.]+)px/g)].map(m => parseFloat(m[1]));
    const scale = img.getBoundingClientRect().width / box[2];
    out.push({src, svg: true, bodySize, smallest: Math.min(...sizes) * scale, texts: sizes.length});
  }
  return out;
}"""

OVERLAPS = """() => {
  const texts = [...document.querySelectorAll('text')].filter(t => t.textContent.trim() !== '');
  const boxes = texts.map(t => ({text: t.textContent.trim(), r: t.getBoundingClientRect()}));
  const found = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i].r, b = boxes[j].r;
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 1 && h > 2) found.push(`${boxes[i].text} / ${boxes[j].text}`);
  }
  return {count: boxes.length, found};
}"""


@pytest.mark.parametrize("notebook", chapters(), ids=lambda p: p.stem)
def test_figures_are_svg_with_text_at_body_size_at_400_px(opened, notebook):
    """Every figure is SVG, and at 400 px its smallest text is at least the body text's size (figures keep their
    own size on a narrow screen and scroll in their box: book/static/ln.css)."""
    page = opened(f"book/executed/{notebook.stem}.html", 400).page
    found = page.evaluate(FIGURE_TEXT)
    assert found or not outputs(notebook)[0], notebook.stem
    for figure in found:
        assert figure["svg"], f"{notebook.stem}: not an SVG figure: {figure['src']}"
        assert figure["texts"] > 0, f"{notebook.stem}: the SVG has no text elements: {figure['src']}"
        assert figure["smallest"] >= figure["bodySize"] - 0.5, f"{notebook.stem}: text below body size: {figure}"


@pytest.mark.parametrize("notebook", chapters(), ids=lambda p: p.stem)
def test_no_label_overlaps_another_in_any_figure(browser, server, notebook):
    """The text boxes of every SVG figure, as the browser lays them out, never overlap (k/N labels, numbers at
    risk, legends, axis labels)."""
    visit = Visit(browser, server, 1400)
    page = visit.open(f"book/executed/{notebook.stem}.html")
    sources = page.evaluate("() => [...document.querySelectorAll('article figure img')].map(i => i.src)")
    for src in sources:
        page.goto(src)
        seen = page.evaluate(OVERLAPS)
        name = src.rsplit("/", 1)[-1]
        assert seen["count"] > 0 and not seen["found"], f"{notebook.stem} {name}: {seen['found'][:10]}"


TABLE_WIDTHS = """() => [...document.querySelectorAll('article table')].filter(t => t.getBoundingClientRect().width > 0)
  .map(t => ({width: t.getBoundingClientRect().width, column: document.querySelector('article').clientWidth,
              head: (t.querySelector('th') || {}).innerText}))
  .filter(t => t.width > t.column + 1)"""


@pytest.mark.parametrize("path", [*(f"book/executed/{n.stem}.html" for n in chapters()), "book/scorecard.html",
                                  "book/methods.html"])
def test_no_table_is_wider_than_its_column_at_1400_px(opened, path):
    page = opened(path, 1400).page
    assert page.evaluate(TABLE_WIDTHS) == [], path


BROKEN_WORDS = """() => { const broken = [];
  for (const cell of document.querySelectorAll('article table.ln-table th, article table.ln-table td')) {
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walk.nextNode(); node; node = walk.nextNode()) {
      for (const m of node.textContent.matchAll(/[A-Za-z]{4,}/g)) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      } } }
  return broken; }"""


@pytest.mark.parametrize("notebook", chapters(), ids=lambda p: p.stem)
def test_no_word_of_a_chapter_table_is_broken_across_lines_at_1400_px(opened, notebook):
    """Cells wrap between words: 'Timepoint' never reads 'Timepo / int' (book/static/ln.css)."""
    page = opened(f"book/executed/{notebook.stem}.html", 1400).page
    assert page.evaluate(BROKEN_WORDS) == [], notebook.stem


IDS = re.compile(r"\b[a-z]+_[0-9a-z_]+\b")
VISIBLE_WORDS = """() => { const a = document.querySelector('article').cloneNode(true);
  a.querySelectorAll('code, pre, .cell_input').forEach(e => e.remove());
  return a.innerText; }"""


@pytest.mark.parametrize("notebook", chapters(), ids=lambda p: p.stem)
def test_no_internal_id_in_the_words_a_reader_sees(opened, notebook):
    """No internal id (`[a-z]+_[0-9a-z_]+`, like cr_6m_p or study_a) in a chapter's visible text outside code."""
    page = opened(f"book/executed/{notebook.stem}.html", 1400).page
    found = sorted(set(IDS.findall(page.evaluate(VISIBLE_WORDS))))
    assert not found, f"{notebook.stem}: {found[:20]}"
