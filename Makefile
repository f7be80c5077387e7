# Every target sets up what it needs on a fresh Debian machine with Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-heavy system-deps stack dashboards bench bench-smoke deps-check lock clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## run: start the service on 127.0.0.1:8000 with embedded defaults
run: $(STAMP)
	$(BIN)/ai-diy serve

system-deps:
	./scripts/install-system-deps

## test: the whole test suite (unit, integration with real processes, promtool, reliability)
test: $(STAMP) system-deps
	$(BIN)/python -m pytest

## test-heavy: the longer, bounded load and fault runs
test-heavy: $(STAMP) system-deps
	$(BIN)/python -m pytest -m heavy

## stack: the service with a local Prometheus and Alertmanager (no Docker needed)
stack: $(STAMP) system-deps
	$(BIN)/ai-diy stack

## dashboards: regenerate grafana/dashboards/*.json
dashboards: $(STAMP)
	$(BIN)/python -m grafana.generate

## bench: the benchmark (see docs/performance.md)
bench: $(STAMP) system-deps
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench --json bench/results.json 2>/dev/null

## deps-check: pyproject.toml's dependencies are exactly what service/ and observability/ import
deps-check: $(STAMP)
	$(BIN)/deptry service observability

## lock: deploy/requirements.lock, the hashed pins the container image installs
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet 'uv>=0.4'
	$(BIN)/uv pip compile --quiet --universal --generate-hashes --custom-compile-command 'make lock' \
		pyproject.toml -o deploy/requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
