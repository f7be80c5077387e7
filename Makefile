# Every target sets up what it needs on a fresh Debian machine with Python 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-heavy system-deps stack dashboards kubernetes bench bench-smoke clean

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

## kubernetes: regenerate deploy/kubernetes/generated/ (PrometheusRule, dashboard ConfigMaps) from alerts/ and grafana/
kubernetes: dashboards
	$(BIN)/python -m deploy.kubernetes.generate

## bench: the benchmark (see docs/performance.md)
bench: $(STAMP) system-deps
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench --json bench/results.json 2>/dev/null

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
