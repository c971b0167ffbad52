PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The install is redone only when pyproject.toml changes (or the venv is new): `make run` starts at once.
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[test]'
	touch $@ $(STAMP)

.PHONY: setup setup-test run test lint
setup: $(STAMP)

setup-test: $(TEST_STAMP)

run: setup
	$(BIN)/python main.py

test: setup-test
	$(BIN)/python -m pytest

lint: setup-test
	$(BIN)/ruff check app tests main.py
	$(BIN)/mypy
