# Leadwire: `make demo` runs the whole journey on the embedded default; `make test` runs the suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test serve worker deps venv migration bench-quick clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## system packages the tests use: PostgreSQL, Redis, Chromium (Debian packages; needs root or sudo)
deps:
	@bash scripts/install-system-deps.sh

demo: $(STAMP)
	$(BIN)/leadwire demo

test: $(STAMP) deps
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
