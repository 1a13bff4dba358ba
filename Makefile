# m2mportal: `make run` serves the platform with a demo partner, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint unit bench-inventory clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/m2mportal run

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

test: lint unit

bench-inventory: install
	$(BIN)/python bench/inventory.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
