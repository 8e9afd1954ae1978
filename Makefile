# labstore developer tasks. Needs only make and Python 3.11 (the venv brings uv).
#   make venv    create/refresh .venv (when pyproject.toml changes)
#   make demo    run a demo server (DEMO_DIR, HOST, PORT)
#   make lint    ruff + mypy
#   make test    system deps, lint, then pytest against a throw-away PostgreSQL
#   make clean   remove the venv, caches and demo data
# Pass V=1 to see the full commands, PYTEST_ARGS='-k foo' to narrow the tests.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= .demo-data
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Lint only what exists (git does not keep empty directories).
LINT_PATHS := $(wildcard src tests benchmarks)

V ?= 0
ifeq ($(V),0)
Q := @
else
Q :=
endif

.DEFAULT_GOAL := help
.PHONY: help venv demo lint test system-deps clean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo '==> venv: $(VENV) with $(PYTHON), installing .[dev]'
	$(Q)$(PYTHON) -m venv $(VENV)
	$(Q)$(BIN)/pip install -q -U pip uv
	$(Q)$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	$(Q)touch $@

demo: venv
	@echo '==> demo: http://$(HOST):$(PORT) (data in $(DEMO_DIR))'
	$(Q)$(BIN)/labstore demo --data-dir $(DEMO_DIR) --host $(HOST) --port $(PORT)

lint: venv
	@echo '==> lint: ruff check, ruff format --check, mypy'
	$(Q)$(BIN)/ruff check $(LINT_PATHS)
	$(Q)$(BIN)/ruff format --check $(LINT_PATHS)
	$(Q)$(BIN)/mypy

system-deps:
	@echo '==> system deps: PostgreSQL server binaries, Chromium'
	$(Q)bash scripts/install-system-deps.sh

test: venv system-deps lint
	@echo '==> test: pytest against a throw-away PostgreSQL'
	$(Q)$(BIN)/python -m tests.support.postgres run -- \
		$(BIN)/pytest -n auto -p no:cacheprovider $(PYTEST_ARGS)

clean:
	@echo '==> clean: $(VENV), caches, build output, $(DEMO_DIR)'
	$(Q)rm -rf $(VENV) $(DEMO_DIR) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	$(Q)rm -rf src/*.egg-info
	$(Q)find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
