# Two commands matter: `make book` and `make test`. Both set everything up on a
# fresh machine (a .venv from the pinned lock file, Debian packages the tests
# need) and are safe to run again.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PARAMS ?= params/default.yaml
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help setup data check test test-fast lint book bench lock clean

help:
	@echo "make test    set up .venv (and chromium), build the book, run every test"
	@echo "make test-fast  unit tests and nbval: no browser, no whole-book builds (about 30 s on 2 cores)"
	@echo "make lint    ruff (configured in pyproject.toml)"
	@echo "make book    set up .venv and build the book into _build/html"
	@echo "             make book PARAMS=params/strict_cr.yaml  ->  _build/variants/strict_cr/html"
	@echo "make data    regenerate data/reconstructed/ from data/published/ (deterministic)"
	@echo "make check   one row per published number: published vs recomputed from the rows"
	@echo "make bench   time the book build (clean, no-op, one parameter changed), the registry-scale analysis and a 5,000-patient real-cohort book"

$(STAMP): requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

data: $(STAMP)
	$(BIN)/python -m helpers reconstruct

check: $(STAMP)
	$(BIN)/python -m helpers reconstruct --check

# The browser test (tests/book/test_browser.py) drives Debian's chromium through the
# Playwright Python package; `playwright install` would download a browser build,
# the Debian package works offline from the mirror and gets security updates.
$(CHROMIUM):
	$(SUDO) apt-get update && $(SUDO) apt-get install -y chromium

# Runs every notebook with papermill under $(PARAMS), writes the scorecard, then
# jupyter-book (execution off, warnings are errors); a failed build keeps the old book.
# Incremental: only what changed is redone (content hashes); FORCE=1 rebuilds everything.
book: $(STAMP)
	$(BIN)/python -m helpers book --params $(PARAMS) $(if $(FORCE),--force)

# Build times (clean, no-op, one parameter changed; reconstruction), then the
# registry-scale analysis (100,000 and 1,000,000 patients), then the whole book on a
# 5,000-patient cohort given as a real cohort, then `validate` on 10^6 and 10^7 lab rows
# (time and peak memory).
bench: $(STAMP)
	$(BIN)/python bench/bench_build.py
	$(BIN)/python bench/bench_registry.py
	$(BIN)/python bench/bench_real_cohort.py
	$(BIN)/python bench/bench_validate.py

# The whole suite, against a freshly built default book: LN_REQUIRE_BOOK makes the
# browser test fail (instead of skip) if the book is missing. One worker per core
# (pytest-xdist), each file whole in one worker (tests/conftest.py).
test: override PARAMS = params/default.yaml
test: $(STAMP) $(CHROMIUM) book
	LN_REQUIRE_BOOK=1 $(BIN)/python -m pytest -n auto

# The inner loop: unit tests and the notebooks' stored outputs (nbval), without the
# tests marked `slow` (whole books, whole chapters, the browser, every BLAS kernel).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q -n auto

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

# Re-resolve the pins from requirements.in (needs the package registry).
lock:
	rm -rf /tmp/ln-lock && $(PY) -m venv /tmp/ln-lock
	/tmp/ln-lock/bin/pip install --quiet -r requirements.in
	/tmp/ln-lock/bin/pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) _build .pytest_cache
