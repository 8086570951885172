# Two commands do everything on a fresh machine: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Tools with dependencies that must not mix with the app's: each in its own virtual environment.
CHECKOV_VENV := .tools/checkov
# The pre-release CU SDK (2026-06-01-preview) that judges the CU emulator, beside the GA one in .venv.
CU_SDK_PREVIEW_VENV := .tools/cu-sdk-preview
PYTEST_ARGS ?=

.PHONY: help setup test lint format typecheck serve demo

help:
	@echo "make demo       run the sample documents through the app on a local stack, then stop it"
	@echo "make serve      Azurite + CU emulator + devhost on fixed ports until Ctrl-C"
	@echo "make setup      create .venv, install Python requirements and Azurite (idempotent)"
	@echo "make test       setup + lint + type-check + the whole test suite (with the offline infra checks)"
	@echo "make lint       ruff lint and format check, import contracts (lint-imports)"
	@echo "make format     apply ruff's formatting and safe fixes"
	@echo "make typecheck  mypy (strict on the app code)"
	@echo "make bench      every benchmark under bench/ (about 20 minutes; see docs/performance.md)"

setup: $(VENV)/.installed node_modules/.installed

# The monitoring page's browser tests drive the system's Chromium and its driver (Debian packages;
# nothing is downloaded by the tests). Installed only when missing, and only as root (CI); anyone
# else is told what to run.
BROWSER_PACKAGES := chromium chromium-driver
.PHONY: browser
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES); \
	else echo "chromium and chromedriver are missing: sudo apt-get install -y $(BROWSER_PACKAGES)" >&2; exit 1; fi

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

$(CHECKOV_VENV)/.installed: requirements-infra-lint.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-infra-lint.txt
	@touch $@

$(CU_SDK_PREVIEW_VENV)/.installed: requirements-cu-sdk-preview.txt
	@test -x $(CU_SDK_PREVIEW_VENV)/bin/python || $(PYTHON) -m venv $(CU_SDK_PREVIEW_VENV)
	$(CU_SDK_PREVIEW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CU_SDK_PREVIEW_VENV)/bin/python -m pip install --quiet -r requirements-cu-sdk-preview.txt
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache --no-logo

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: setup
	$(VENV)/bin/mypy

# The test-only tools (the browser, checkov, the pre-release CU SDK) are set up by `make test` alone.
test: setup browser $(CHECKOV_VENV)/.installed $(CU_SDK_PREVIEW_VENV)/.installed lint typecheck
	$(PY) -m pytest $(PYTEST_ARGS)

serve: setup
	$(PY) -m scripts.stack

demo: setup
	$(PY) -m scripts.demo

.PHONY: bench
bench: setup
	$(PY) -m bench.storage_ingest
	$(PY) -m bench.pipeline_bench --counts 1,16,200,1000 --designs sequential,gather,durable
	$(PY) -m bench.load_bench --scenarios 10x5,50x4 --repeat 3
	$(PY) -m bench.quota_bench --documents 1000 --operations-per-minute 600
	$(PY) -m bench.results_bench
	$(PY) -m bench.upload_memory
	$(PY) -m bench.memory_bench --counts 20,200,1000
