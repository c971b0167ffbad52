PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

.PHONY: setup setup-test run test lint
setup: $(BIN)/python
	$(BIN)/pip install -e .

setup-test: $(BIN)/python
	$(BIN)/pip install -e '.[test]'

run: setup
	$(BIN)/python main.py

test: setup-test
	$(BIN)/python -m pytest

lint: setup-test
	$(BIN)/ruff check app tests main.py
	$(BIN)/mypy
