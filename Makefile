# Quick start: `make verify` (prove every property of every mode) and `make test` (the whole suite).
# Both create .venv with the project installed on first use; only Python 3.11+, pip and make are needed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup verify test lint diagrams docs bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,conformance]'
	@touch $(STAMP)

verify: $(STAMP)
	$(BIN)/lambda-retry verify --variants

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check model properties tests
	$(BIN)/mypy

diagrams: $(STAMP)
	$(BIN)/lambda-retry diagrams

docs: $(STAMP)
	$(BIN)/lambda-retry docs

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info
