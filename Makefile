# siyu — two commands on a fresh machine: `make run` and `make test`.
# Every target installs what it needs into .venv first (idempotent).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# checkov lives in its own venv: its pins would fight the Google client libraries.
CHECKOV := .venv-checkov/bin/checkov
CHECKOV_VERSION := 3.3.30
# The google/google-beta 6.50.0 provider schemas, as cdktf ships them (tests/infra reads them).
TFSCHEMA := .tfschema/wheels/.downloaded
CDKTF_PROVIDER_VERSION := 16.12.1

.PHONY: install test unit run up down demo bench lint fmt build clean openapi infra-schema infra-check chromium wrk console-shots

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "siyu needs Python 3.11, found " + sys.version' 
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,cli]'
	@touch $(STAMP)

$(CHECKOV):
	@test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet 'checkov==$(CHECKOV_VERSION)'

$(TFSCHEMA): | $(STAMP)
	@mkdir -p .tfschema/wheels
	$(BIN)/pip download --quiet --no-deps -d .tfschema/wheels \
		'cdktf-cdktf-provider-google==$(CDKTF_PROVIDER_VERSION)' \
		'cdktf-cdktf-provider-google-beta==$(CDKTF_PROVIDER_VERSION)'
	@touch $@

infra-schema: $(TFSCHEMA)

# The console's browser tests and screenshots drive Debian's Chromium (Playwright never
# downloads a browser here); the CJK fonts draw its Chinese.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || { \
		$(SUDO) apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk \
		|| { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk; }; }

# wrk (Debian's package) drives the HTTP functions in `make bench`.
wrk:
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y -q --no-install-recommends wrk \
		|| { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends wrk; }

## make console-shots: the stack with the demo's data, a screenshot of every console page
console-shots: $(STAMP) chromium
	$(BIN)/python -m siyu.devstack.browser

## make test: lint, then unit, function, integration and e2e tests on the real emulators
test: $(STAMP) $(CHECKOV) $(TFSCHEMA) chromium
	$(BIN)/ruff check shared functions tests
	$(BIN)/mypy shared/siyu tests
	$(BIN)/python -m siyu.devstack.openapi --check
	$(BIN)/python -m siyu.devstack.preflight
	$(BIN)/pytest

## make unit: pure logic only (no sockets, no subprocesses, no downloads)
unit: $(STAMP)
	$(BIN)/pytest tests/unit

## make infra-check: infra/ and the OpenAPI document against the code and the provider schemas
infra-check: $(STAMP) $(CHECKOV) $(TFSCHEMA)
	$(BIN)/python -m siyu.devstack.openapi --check
	$(BIN)/pytest tests/infra

## make run: the whole system locally — up, seed, play the scenario, summarise, down
run: $(STAMP)
	$(BIN)/siyu run

up: $(STAMP)
	$(BIN)/siyu up

down: $(STAMP)
	$(BIN)/siyu down

demo: $(STAMP)
	$(BIN)/siyu demo

bench: $(STAMP) chromium wrk
	$(BIN)/python -m siyu.devstack.bench

lint: $(STAMP)
	$(BIN)/ruff check shared functions tests
	$(BIN)/ruff format --check shared functions tests
	$(BIN)/mypy shared/siyu tests

fmt: $(STAMP)
	$(BIN)/ruff format shared functions tests
	$(BIN)/ruff check --fix shared functions tests

## make openapi: write infra/api/openapi.yaml from the routes' pydantic models
openapi: $(STAMP)
	$(BIN)/python -m siyu.devstack.openapi

## make build: one deployable bundle per function under build/functions/<name>
build: $(STAMP)
	$(BIN)/python -m siyu.devstack.build build/functions

clean:
	rm -rf $(VENV) .venv-checkov .tfschema build .siyu .pytest_cache .ruff_cache .mypy_cache
