"""The built book in a real browser: Debian's chromium, headless, driven by Playwright.

Serves _build/html on 127.0.0.1 and opens every page. Checks: each chapter shows the
tables and figures of its executed notebook, the scorecard shows its counts, the
"next" link and the search page work, no page logs a console error, and no request
leaves 127.0.0.1. Screenshots go to _build/screenshots/.

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

import pandas as pd
import pytest

from helpers.paths import REPO_ROOT

BOOK = REPO_ROOT / "_build" / "html"
STAGING = REPO_ROOT / "_build" / "staging" / "default"  # the run that built _build/html
EXECUTED = STAGING / "notebooks"
SCORECARD = STAGING / "scorecard.csv"
SCREENSHOTS = REPO_ROOT / "_build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

if not (BOOK / "index.html").exists():
    if os.environ.get("LN_REQUIRE_BOOK"):
        pytest.fail(f"LN_REQUIRE_BOOK is set but the book is not built: {BOOK} (run `make book`)", pytrace=False)
    pytest.skip(f"the book is not built ({BOOK} missing): run `make book`, or `make test`, which builds it",
                allow_module_level=True)
if not Path(CHROMIUM).exists():
    pytest.fail(f"{CHROMIUM} is missing: `apt-get install -y chromium` (make test does it)", pytrace=False)

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
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Visit:
    """A page with every request URL, console error and page error recorded."""

    def __init__(self, browser, base: str):
        self.base = base
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def open(self, path: str):
        response = self.page.goto(f"{self.base}/{path}", wait_until="networkidle")
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        return self.page

    def off_site(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(self.base + "/") and not u.startswith(("data:", "blob:"))]


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
    for path in pages:
        visit = Visit(browser, server)
        visit.open(path)
        problems += [f"{path}: {e}" for e in visit.errors]
        problems += [f"{path}: request leaves 127.0.0.1: {u}" for u in visit.off_site()]
        visit.page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("notebook", chapters(), ids=lambda p: p.stem)
def test_chapter_shows_its_tables_and_figures(browser, server, notebook):
    figures, tables, as_text = outputs(notebook)
    visit = Visit(browser, server)
    page = visit.open(f"book/executed/{notebook.stem}.html")
    if notebook.stem.startswith("02_") or notebook == chapters()[0]:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"chapter_{notebook.stem}.png"), full_page=True)
    assert not as_text, (f"{notebook.stem}: {len(as_text)} figure(s) have no image output, the book shows only "
                         f"{as_text[0]!r} (no display formatter for matplotlib Figure in the kernel)")
    article = page.locator("article")
    shown_figures = article.locator("img").evaluate_all(
        "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0).length")
    shown_tables = article.locator("table").evaluate_all(
        "ts => ts.filter(t => t.getBoundingClientRect().height > 0).length")
    assert shown_figures >= figures, f"{notebook.stem}: {shown_figures} figures shown, {figures} in the notebook"
    assert shown_tables >= tables, f"{notebook.stem}: {shown_tables} tables shown, {tables} in the notebook"
    assert figures + tables > 0, f"{notebook.stem}: the executed notebook has no table or figure"
    assert not visit.errors and not visit.off_site()


def test_scorecard_shows_its_counts(browser, server):
    visit = Visit(browser, server)
    page = visit.open("book/scorecard.html")
    summary = page.locator("table").first
    header = summary.locator("thead th").all_inner_texts()
    assert header == ["study", "published numbers", "targets reproduced", "independent checks reproduced",
                      "infeasible (with proof)", "resolutions", "not computed"]
    total = summary.locator("tbody tr", has_text="total").locator("td").all_inner_texts()
    if SCORECARD.exists():  # written by the same pipeline run that built the book
        card = pd.read_csv(SCORECARD)
        role = card["role"]
        done = card["status"] == "reproduced"
        expected = [str(len(card)), f"{(done & (role == 'target')).sum()} of {(role == 'target').sum()}",
                    f"{(done & (role == 'check')).sum()} of {(role == 'check').sum()}",
                    str((role == "infeasible").sum()), str((role == "resolution").sum()),
                    str((card["status"] == "not computed").sum())]
        assert total[1:7] == expected
    published = int(total[1])
    roles = [int(total[2].split(" of ")[1]), int(total[3].split(" of ")[1]), int(total[4]), int(total[5])]
    assert published == sum(roles), "every published number has one role"
    rows = page.locator("table tbody tr").count()
    assert rows >= published, "every published number has its row"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "scorecard.png"), full_page=True)
    intro = visit.open("book/intro.html")
    assert f"Of {published} published numbers" in intro.locator("article").inner_text()


def test_next_link_navigates(browser, server):
    visit = Visit(browser, server)
    page = visit.open("book/intro.html")
    page.locator("a.right-next").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/book/methods.html"), page.url
    assert page.locator("h1").first.inner_text().startswith("Methods")


def test_search_finds_tacrolimus(browser, server):
    visit = Visit(browser, server)
    page = visit.open("search.html?q=tacrolimus")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    assert page.locator("#search-results ul.search li").count() > 0
    assert not visit.errors and not visit.off_site()


def test_no_page_loads_anything_from_off_site():
    """Static check of every built page: no script, stylesheet, image or frame from another host."""
    pattern = re.compile(r"<(script|link|img|iframe|source|video|audio)\b[^>]*\b(src|href)=[\"']((https?:)?//[^\"']+)",
                         re.IGNORECASE)
    found = [f"{p.relative_to(BOOK)}: {m.group(3)}" for p in BOOK.rglob("*.html")
             for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)
