# Two commands matter: `make book` and `make test`. Both set everything up on a
# fresh machine (a .venv from the pinned lock file, Debian packages the tests
# need) and are safe to run again.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup data check test book lock clean

help:
	@echo "make test    set up .venv and run every test"
	@echo "make book    set up .venv and build the book into _build/html"
	@echo "make data    regenerate data/reconstructed/ from data/published/ (deterministic)"
	@echo "make check   one row per published number: published vs recomputed from the rows"

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

test: $(STAMP)
	$(BIN)/python -m pytest

book: $(STAMP)
	@echo "book: not built yet (issue 4)"; exit 1

# Re-resolve the pins from requirements.in (needs the package registry).
lock:
	rm -rf /tmp/ln-lock && $(PY) -m venv /tmp/ln-lock
	/tmp/ln-lock/bin/pip install --quiet -r requirements.in
	/tmp/ln-lock/bin/pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) _build .pytest_cache
