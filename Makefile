# Every target sets up what it needs on a fresh Debian machine with Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Two stamps: `make run` needs the runtime dependencies only; the test tools (linters,
# schemathesis, matplotlib ...) come with the first target that runs them.
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# pip's full output goes here; the terminal gets one line per step.
INSTALL_LOG := $(VENV)/install.log
BENCH_OUT   := bench/results
JSON_ROUTES := /api/env,/api/config/models

# $(call logged,COMMAND,LOG): run COMMAND with its output appended to LOG; on failure print
# the log's last lines and its path, and fail.
logged = $(1) >>$(2) 2>&1 || { status=$$?; tail -n 20 $(2) >&2; echo "failed: $(1)" >&2; echo "full output: $(2)" >&2; exit $$status; }

.PHONY: run lint test test-heavy system-deps stack drill generate rules dashboards kubernetes readme bench deps-check lock clean

$(RUN_STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing ai-diy (log: $(INSTALL_LOG))"
	@: > $(INSTALL_LOG)
	@$(call logged,$(BIN)/python -m pip install --upgrade pip,$(INSTALL_LOG))
	@$(call logged,$(BIN)/python -m pip install -e .,$(INSTALL_LOG))
	@touch $@

$(TEST_STAMP): $(RUN_STAMP)
	@echo "installing ai-diy[test] (log: $(INSTALL_LOG))"
	@$(call logged,$(BIN)/python -m pip install -e '.[test]',$(INSTALL_LOG))
	@touch $@

## run: start the service on 127.0.0.1:8000 with embedded defaults
# serve prints the address in force (AI_DIY_HOST, AI_DIY_PORT, .env) once it listens there,
# or one line naming the setting that stops it (a bad value, a busy port).
run: $(RUN_STAMP)
	@$(BIN)/ai-diy serve

system-deps:
	@./scripts/install-system-deps

## lint: ruff's linter and format check, and mypy --strict (settings in pyproject.toml)
lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## test: lint, then the whole test suite (unit, integration with real processes, promtool, reliability)
test: $(TEST_STAMP) system-deps lint
	$(BIN)/python -m pytest

## test-heavy: the longer, bounded load and fault runs
test-heavy: $(TEST_STAMP) system-deps
	$(BIN)/python -m pytest -m heavy

## stack: the service with a local Prometheus and Alertmanager (no Docker needed)
stack: $(RUN_STAMP) system-deps
	$(BIN)/ai-diy stack

## drill: every fire drill, each on a private stack, four at a time (about five minutes); ALERTS= to run some
drill: $(RUN_STAMP) system-deps
	$(BIN)/ai-diy drill $(ALERTS)

## generate: write every generated file from signals/, in order: alerts/*.rules.yml, grafana/dashboards/*.json,
## deploy/kubernetes/generated/, the runbook copy in the package, the drill rules (JOB=..., RUNBOOK_BASE_URL=...,
## GRAFANA_BASE_URL=... for another deployment); `python -m generate --check` says what is out of date
generate: $(TEST_STAMP)
	$(BIN)/python -m generate $(if $(JOB),--job '$(JOB)') $(if $(RUNBOOK_BASE_URL),--runbook-base-url '$(RUNBOOK_BASE_URL)') \
		$(if $(GRAFANA_BASE_URL),--grafana-base-url '$(GRAFANA_BASE_URL)')

## rules, dashboards, kubernetes: the same as generate (every output comes from the same definitions)
rules dashboards kubernetes: generate

## readme: regenerate README.md's settings table from service/settings.py (`ai-diy serve --help` shows the same)
readme: $(RUN_STAMP)
	$(BIN)/python -c 'from pathlib import Path; from service.cli.settings_doc import rewrite_readme; rewrite_readme(Path("README.md"))'

## bench: the benchmark over every route and over the JSON routes alone, and the chart of
## both (see docs/performance.md); the service's log lines go to $(BENCH_OUT)/*.log
bench: $(TEST_STAMP) system-deps
	@echo "installing ai-diy[test,bench] (log: $(INSTALL_LOG))"
	@$(call logged,$(BIN)/python -m pip install -e '.[test,bench]',$(INSTALL_LOG))
	@mkdir -p $(BENCH_OUT)
	$(BIN)/python -m bench --json $(BENCH_OUT)/all-routes.json 2>$(BENCH_OUT)/all-routes.log
	$(BIN)/python -m bench --modes inprocess,server --paths $(JSON_ROUTES) \
		--json $(BENCH_OUT)/json-routes.json 2>$(BENCH_OUT)/json-routes.log
	$(BIN)/python -m bench.chart $(BENCH_OUT)/all-routes.json $(BENCH_OUT)/json-routes.json \
		--output docs/img/bench-ratios.svg

## deps-check: pyproject.toml's dependencies are exactly what service/ and observability/ import
deps-check: $(TEST_STAMP)
	$(BIN)/deptry service observability

## lock: the hashed pins the container image installs: deploy/requirements.lock (the
## dependencies) and deploy/build-requirements.lock (pyproject.toml's build-system.requires)
lock: $(RUN_STAMP)
	@$(call logged,$(BIN)/python -m pip install 'uv>=0.4',$(INSTALL_LOG))
	$(BIN)/uv pip compile --quiet --universal --generate-hashes --custom-compile-command 'make lock' \
		pyproject.toml -o deploy/requirements.lock
	$(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
		| $(BIN)/uv pip compile --quiet --universal --generate-hashes --custom-compile-command 'make lock' \
		- -o deploy/build-requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
