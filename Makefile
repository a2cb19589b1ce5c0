# Two commands for a fresh machine: `make demo` and `make test`. Both go through `make install`,
# which is idempotent: it rebuilds .venv only when requirements.lock or pyproject.toml change.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.catalog-ml-installed
PYTEST_ARGS ?=

.PHONY: install demo test lint unit check-package clean-lake up down

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@touch $(STAMP)

demo: install
	$(BIN)/catalog-ml demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: install
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# The wheel on its own: `pip install .` into an empty venv, the lock as constraints, then the
# command must answer. Slow (it installs every dependency again), so not part of `make test`.
check-package:
	rm -rf .package-check && $(PYTHON) -m venv .package-check
	.package-check/bin/python -m pip install --quiet --upgrade pip
	.package-check/bin/python -m pip install --quiet -c requirements.lock .
	.package-check/bin/python -m pip check
	.package-check/bin/catalog-ml --help
	cd /tmp && $(CURDIR)/.package-check/bin/python -c "import catalog_ml.cli, catalog_ml.pipeline.nightly, catalog_ml.serving.app; from catalog_ml.validation.contract import load_contract; load_contract(); print('imports and the packaged contract ok')"
	rm -rf .package-check

up: install
	$(BIN)/catalog-ml stack up

down:
	$(BIN)/catalog-ml stack down

clean-lake:
	rm -rf lake landing samples .airflow .stack
