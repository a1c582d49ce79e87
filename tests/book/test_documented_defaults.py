"""The pages say what the code does: every default a page writes down equals the code's (the settings model,
src/helpers/bookbuild/settings.py, is the source), the size limits are the loader's, every file a page names
exists, and `validate --help` names the formats the loader reads. No book is built."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from helpers.bookbuild import settings
from helpers.cohort import data
from helpers.paths import REPO_ROOT
from helpers.present import figures

PAGES = sorted([*REPO_ROOT.glob("book/**/*.md"), REPO_ROOT / "README.md"])


def text(name: str) -> str:
    return " ".join((REPO_ROOT / name).read_text(encoding="utf-8").split())   # one line: sentences break anywhere


def default(name: str):
    return settings.PARAMETERS[name].get_default(call_default_factory=True)


# (page, what it says, with the number as a group, the code's value)
STATED = [
    ("book/own_cohort.md", r"within `window` days of it, (\d+) by default", default("window")),
    ("book/own_cohort.md", r"`min_cell` \((\d+) for real patients unless the params file sets it",
     settings.REAL_COHORT_MIN_CELL),
    ("book/own_cohort.md", r"`min_cell: (\d+)` is the disclosure control described below; a real cohort gets it even "
                           r"without the line", settings.REAL_COHORT_MIN_CELL),
    ("book/own_cohort.md", r"The reconstructed cohort uses `min_cell: (\d+)`", default("min_cell")),
    ("book/cohort/methods.md", r"(\d+) unless the params file sets it", settings.REAL_COHORT_MIN_CELL),
    ("book/parts/tests.md", r"\(`(\w+)`, the default for adverse events\)", default("ae_test")),
    ("book/parts/tests.md", r"stop where fewer than (\d+) patients remain at risk", figures.KM_MIN_AT_RISK),
]
for page in ("book/own_cohort.md", "book/data_dictionary.md"):
    STATED += [(page, r"up to (\d+) GB", data.MAX_FILE_BYTES // 10**9),
               (page, r"a table up to ([\d,]+) rows", data.MAX_ROWS),
               (page, r"an Excel sheet up to ([\d,]+) cells", data.MAX_XLSX_CELLS)]


@pytest.mark.parametrize("page, says, value", STATED)
def test_a_default_or_limit_written_in_a_page_is_the_code_s(page, says, value):
    found = re.findall(says, text(page))
    assert found, f"{page} no longer says {says!r}: update this test"
    assert {yaml.safe_load(f.replace(",", "")) for f in found} == {value}, page


def test_every_parameter_a_page_calls_the_default_has_the_settings_default():
    """`name: value` beside the words 'the default' (or 'as published', the default run), in any page."""
    checked = 0
    for page in PAGES:
        for name, value in re.findall(r"`(\w+): ([^`]+)`,? \(?(?:the default|as published)", text(str(page))):
            if name in settings.PARAMETERS:
                assert yaml.safe_load(value) == default(name), f"{page.name}: {name}: {value}"
                checked += 1
    assert checked >= 3   # test, missing, paired_test at least


def test_every_file_a_page_names_exists():
    missing = []
    for page in PAGES:
        for path in re.findall(r"`((?:src|tests|data|params|book|notebooks|bench)/[^`\s]*|helpers/[\w/]+\.py)`",
                               text(str(page))):
            if not re.search(r"[<>*]|my_cohort", path):
                if not (REPO_ROOT / path).exists() and not (REPO_ROOT / "src" / path).exists():
                    missing.append(f"{page.relative_to(REPO_ROOT)}: {path}")
    assert not missing, missing


def test_validate_help_names_the_formats_and_the_loader_s_limits():
    said = subprocess.run([sys.executable, "-m", "helpers", "validate", "--help"], capture_output=True, text=True,
                          check=True).stdout
    said = " ".join(said.split())
    assert "CSV" in said and "Excel" in said and "Parquet" in said and "--params" in said
    assert f"a file over {data.MAX_FILE_BYTES // 10**9} GB" in said
    assert f"a table over {data.MAX_ROWS:,} rows" in said
    assert f"an Excel sheet over {data.MAX_XLSX_CELLS:,} cells" in said
