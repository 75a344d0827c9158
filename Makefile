# Leadwire: `make demo` runs the whole journey on the embedded default; `make test` runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint serve worker deps venv migration bench-quick clean

DEMO_STAMP := $(VENV)/.installed-demo

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# the demo needs the `demo` extra; the tests need everything
$(DEMO_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[demo]'
	touch $(DEMO_STAMP)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP) $(DEMO_STAMP)

venv: $(STAMP)

## system packages the tests use: PostgreSQL, Redis, Chromium (Debian packages; needs root or sudo)
deps:
	@bash scripts/install-system-deps.sh

demo: $(DEMO_STAMP)
	$(BIN)/leadwire demo

## ruff (lint and import order) and mypy on connector/, as `make test` runs them
lint: $(STAMP)
	$(BIN)/ruff check connector
	$(BIN)/mypy

test: $(STAMP) deps lint
	$(BIN)/python -m pytest

serve: $(STAMP)
	$(BIN)/leadwire serve

worker: $(STAMP)
	$(BIN)/leadwire worker

migration: $(STAMP)
	$(BIN)/python scripts/regen_migration.py

bench-quick: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) leadwire.db leadwire.db-* test-output
