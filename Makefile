# siyu — two commands on a fresh machine: `make run` and `make test`.
# Every target installs what it needs into .venv first (idempotent).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test unit run up down demo bench lint fmt clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "siyu needs Python 3.11, found " + sys.version' 
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## make test: lint, then unit, function, integration and e2e tests on the real emulators
test: $(STAMP)
	$(BIN)/ruff check shared functions tests
	$(BIN)/mypy shared/siyu
	$(BIN)/python -m siyu.devstack.preflight
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

## make run: the whole system locally — up, seed, play the scenario, summarise, down
run: $(STAMP)
	$(BIN)/siyu run

up: $(STAMP)
	$(BIN)/siyu up

down: $(STAMP)
	$(BIN)/siyu down

demo: $(STAMP)
	$(BIN)/siyu demo

bench: $(STAMP)
	$(BIN)/python -m siyu.devstack.bench

lint: $(STAMP)
	$(BIN)/ruff check shared functions tests
	$(BIN)/ruff format --check shared functions tests
	$(BIN)/mypy shared/siyu

fmt: $(STAMP)
	$(BIN)/ruff format shared functions tests
	$(BIN)/ruff check --fix shared functions tests

clean:
	rm -rf $(VENV) .siyu .pytest_cache .ruff_cache .mypy_cache
