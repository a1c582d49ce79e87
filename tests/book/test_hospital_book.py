"""A hospital's own book (issue 20): a real cohort as hospitals export it (tests/hospital_cohort.py: two arms named
in its own words, dates, the labs as an Excel workbook, a column the format does not use, one lab dated after the
patient's death) built into a book about itself, compared with study A by `compare_with` with the arms mapped.

Every page is checked: the cohort's own name and size, no word of the reconstruction, no `None`, repr or empty
output box; the response chapter gives the arm sizes and names once the timepoint no patient reached; the
comparison is joined in the paper's words (its arms, its order); the lab after death is left out only because the
params file's `exclude` says so, reported in the build's logs and nowhere in the book. The reconstruction's own book
(_build/html, when built) is scanned for empty output boxes too. Screenshots of the first page and the response
chapter at 1400 px go to _build/screenshots/hospital/ when chromium is installed."""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import hospital_cohort
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from helpers.paths import REPO_ROOT

pytestmark = pytest.mark.slow   # builds a whole book: left out of `make test-fast`

NAME = f"hospital_test_{os.getpid()}"
BOOK = REPO_ROOT / "_build" / "variants" / NAME / "html"
STAGING = REPO_ROOT / "_build" / "staging" / NAME
SCREENSHOTS = REPO_ROOT / "_build" / "screenshots" / "hospital"
CHROMIUM = "/usr/bin/chromium"
RECONSTRUCTION_WORDS = re.compile(r"reconstruct|synthetic|study A\b|study B\b|(?<!-)\btargets?\b|independent checks?\b",
                                  re.I)   # a target: a number the reconstruction was built to match (not multi-target)
REPR = re.compile(r"^None$|^<[\w.]+ object at 0x|^\{\}$|^\[\]$|^''$")


def params_text(cohort: Path, exclude: str = "exclude: {labs: [%d]}\n", compare=hospital_cohort.COMPARE) -> str:
    lines = [f"data_dir: {cohort}", "timepoints: {" + ", ".join(f"{k}: {v}" for k, v in
                                                                  hospital_cohort.TIMEPOINTS.items()) + "}"]
    if compare:
        lines.append(f"compare_with: {compare}".replace("'", ""))
    return "\n".join(lines) + "\n" + exclude


def build(params: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers", "book", "--params", str(params)], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=900)


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("hospital")
    written = hospital_cohort.write(root / "cohort")
    params = root / f"{NAME}.yaml"
    params.write_text(params_text(root / "cohort") % written["lab_row"], encoding="utf-8")
    built = build(params)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    pages = {p.relative_to(BOOK).as_posix(): BeautifulSoup(p.read_text(encoding="utf-8"), "html.parser")
             for p in BOOK.rglob("*.html")
             if "_static" not in p.parts and p.name not in ("search.html", "genindex.html")}
    yield {"root": root, "params": params, "built": built, "pages": pages, "lab_row": written["lab_row"]}
    shutil.rmtree(BOOK.parent, ignore_errors=True)
    shutil.rmtree(STAGING, ignore_errors=True)
    (REPO_ROOT / "_build" / "staging" / f"{NAME}.lock").unlink(missing_ok=True)


def words(soup: BeautifulSoup) -> str:
    return " ".join(soup.get_text(" ").split())


def test_the_book_is_about_the_cohort_on_every_page(book):
    pages = book["pages"]
    assert set(pages) == {"index.html", "book/intro.html", "book/methods.html", "book/data_dictionary.html",
                          "book/references.html", "book/scorecard.html", "book/executed/01_cohort_description.html",
                          "book/executed/02_response.html", "book/executed/03_safety_flares.html",
                          "book/executed/05_audit.html"}
    first = words(pages["book/intro.html"])
    assert first.startswith("Introduction")   # the title heads the sidebar and every page's <title>
    assert "hospital_x : 80 patients, 40 in the arm Tac and 40 in the arm Other" in first
    assert "No patient was followed to 5 years" in first and "1 row of the data" in first
    assert ("Response by group before baseline : no study in the data folder cohort has groups by response before "
            "the switch (column prior_response)") in first
    assert pages["book/intro.html"].find("code", string="cohort") is not None    # the folder's name set as code
    for name, soup in pages.items():
        if name == "index.html":
            continue
        assert soup.title.get_text().endswith("Lupus nephritis in hospital_x: 80 patients"), name
        found = RECONSTRUCTION_WORDS.findall(words(soup))
        assert not found, (name, found)
    assert "Running the book on your own cohort" not in words(pages["book/intro.html"])


def test_no_chapter_shows_none_a_repr_or_an_empty_box(book):
    for name, soup in book["pages"].items():
        assert not empty_outputs(soup), (name, empty_outputs(soup))


def test_the_response_chapter_gives_the_arm_sizes_and_names_the_timepoint_none_reached_once(book):
    chapter = words(book["pages"]["book/executed/02_response.html"])
    assert "hospital_x: 80 patients, 40 in the arm Other and 40 in the arm Tac" in chapter \
        or "hospital_x: 80 patients, 40 in the arm Tac and 40 in the arm Other" in chapter
    assert chapter.count("No patient was followed to 5 years") == 1
    assert "0/0" not in chapter and "not estimable" not in chapter
    # 2 years: every number hidden (one patient of Other was not evaluated): said once, without telling why
    assert chapter.count("At 2 years every number is suppressed, the numbers of patients evaluated included") == 1


def test_the_stacked_response_figure_labels_its_suppressed_bars(book):
    """Fig. 4 draws no bar where the table hides a count (1 year: CR and PR; 2 years: everything): each such place
    reads 'suppressed', with no number (its SVG keeps text as text)."""
    soup = book["pages"]["book/executed/02_response.html"]
    figure = next(f for f in soup.select("figure") if "Complete, partial and no response" in f.get_text())
    svg = (BOOK / "book" / "executed" / figure.find("img")["src"]).resolve().read_text(encoding="utf-8")
    texts = [" ".join(BeautifulSoup(t, "html.parser").get_text().split()) for t in re.findall(r"<text[^>]*>[^<]*", svg)]
    assert texts.count("suppressed") == 4, texts               # Tac and Other at 1 year and at 2 years


def test_a_zero_shown_is_said_to_be_allowed_where_the_rule_is_stated(book):
    """0/40 is shown (it describes no patient): the first page, Methods and the note under the table say so."""
    pages = book["pages"]
    chapter = words(pages["book/executed/02_response.html"])
    assert "0/40" in chapter
    for name in ("book/intro.html", "book/methods.html", "book/executed/02_response.html"):
        assert "a count of 0 is shown: it describes no patient" in words(pages[name]).lower(), name


def test_the_comparison_is_joined_in_the_paper_s_words(book):
    card = pd.read_csv(STAGING / "scorecard.csv").set_index("id")
    results = pd.read_csv(STAGING / "results" / "02_response.csv", dtype=str)
    overall = results[(results["outcome"] == "overall") & (results["timepoint"] == "1y")
                      & (results["statistic"] == "percent")].set_index("group")["detail"]
    row = card.loc["or_1y_p"]
    assert row["group"] == "tacrolimus vs no_tacrolimus" and row["status"] in ("differs", "reproduced")
    assert row["detail"] == f"{overall['tac']} vs {overall['other']}"          # the paper's order, whatever ours
    assert set(card["status"]) <= {"reproduced", "differs", "suppressed", "not computed", "not expressible"}
    assert (card["status"] == "suppressed").any()
    assert card.loc[card["status"] == "differs", "computed"].notna().all()     # a hidden number never "differs"
    assert not (card["role"] == "target").any()
    page = words(book["pages"]["book/scorecard.html"])
    assert "Comparison with published studies" in page and "or_1y_p" in page and "suppressed" in page
    assert "0.000" not in page and "0.00 (" not in page and "< 0.001" in page   # one p format: format_p's
    assert "Infeasible" not in page and "would explain neither printed p." in page


def test_the_build_s_closing_line_counts_the_comparison_as_its_page_does(book):
    card = pd.read_csv(STAGING / "scorecard.csv", keep_default_na=False)
    numbers = card[card["says"] == ""]["status"].value_counts().to_dict()
    statements = card[card["says"] != ""]["status"].value_counts().to_dict()
    line = next(x for x in book["built"].stdout.splitlines() if x.startswith("comparison: "))
    assert line.startswith(f"comparison: of {sum(numbers.values())} published numbers, {numbers.get('reproduced', 0)} "
                           f"the same in this cohort, {numbers['differs']} differ, {numbers['suppressed']} suppressed "
                           f"and {numbers['not computed']} not computed; of {sum(statements.values())} statements in "
                           f"words, {statements['not computed']} not tested")
    page = words(book["pages"]["book/scorecard.html"])
    assert f"{numbers['differs']} differ" in page and f"Of {sum(numbers.values())} published numbers" in page


def test_the_lab_after_death_is_left_out_as_the_params_file_asks_and_reported_outside_the_book(book):
    report = pd.read_csv(STAGING / "logs" / "exclusions.csv")
    assert report.to_dict("records") == [{
        "file": str(book["root"] / "cohort" / "labs.xlsx"), "line": f"row {book['lab_row']}", "column": "date",
        "patient_id": hospital_cohort.LAB_AFTER_DEATH[0],
        "problem": "2018-09-02 is after the patient's death (2018-08-13)",
        "action": "row left out (exclude in the params file)"}]
    assert "1 row(s) with an impossible timeline left out" in book["built"].stdout
    for path in (p for p in BOOK.rglob("*") if p.is_file()):
        text = path.read_bytes().decode("utf-8", errors="ignore")
        assert "2018-09-02" not in text and "exclusions.csv" not in text, path


def test_without_exclude_the_build_refuses_and_says_what_to_write(book):
    params = book["root"] / f"{NAME}_strict.yaml"
    params.write_text(params_text(book["root"] / "cohort", exclude=""), encoding="utf-8")
    refused = build(params)
    assert refused.returncode == 1
    assert (f"labs.xlsx, row {book['lab_row']}, column 'date': 2018-09-02 is after the patient's death (2018-08-13): "
            "correct the date or the death's, or leave this row out with the params file's `exclude`") in refused.stderr
    assert f"add to the params file: exclude: {{labs: [{book['lab_row']}]}}" in refused.stderr


def test_compare_with_a_study_the_cohort_does_not_have_is_refused(book):
    params = book["root"] / f"{NAME}_wrong.yaml"
    params.write_text(params_text(book["root"] / "cohort", compare={"my_cohort": "study_a"})
                      % book["lab_row"], encoding="utf-8")
    refused = build(params)
    assert refused.returncode == 1
    assert "compare_with.my_cohort: 'my_cohort' is not a study of the cohort" in refused.stderr
    assert "(its studies: 'hospital_x')" in refused.stderr


def empty_outputs(soup: BeautifulSoup) -> list[str]:
    """Output boxes of executed cells that show nothing, `None`, or a Python repr."""
    bad = []
    for box in soup.select("div.cell_output"):
        said = " ".join(box.get_text(" ").split())
        if REPR.search(said) or not said and not box.find(["img", "svg", "table"]):
            bad.append(said or "(empty)")
    return bad


def test_the_reconstruction_s_book_shows_no_none_or_empty_box():
    built = REPO_ROOT / "_build" / "html"
    if not (built / "index.html").exists():
        pytest.skip("the reconstruction's book is not built (make book)")
    for page in built.rglob("*.html"):
        bad = empty_outputs(BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser"))
        assert not bad, (page.name, bad)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_screenshots_of_the_first_page_and_the_response_chapter(book):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed: no screenshots")
    sync_api = pytest.importorskip("playwright.sync_api")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(BOOK)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name, path in (("intro", "book/intro.html"), ("response", "book/executed/02_response.html")):
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/{path}")
                page.screenshot(path=str(SCREENSHOTS / f"{name}_1400.png"), full_page=True)
                assert "hospital_x" in page.title()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    assert (SCREENSHOTS / "intro_1400.png").stat().st_size > 10_000
