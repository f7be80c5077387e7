"""Every dashboard query, evaluated by a real Prometheus scraping the real service, returns data.

The service gets mixed traffic (successes, 404s, 5xx, rate-limit refusals, a traversal
attempt); Prometheus scrapes it every second and evaluates the recording rules from
alerts/. Each panel query, with the template variables replaced the way Grafana does,
must evaluate without error, and return at least one series unless it is listed in
INCIDENT_ONLY with the reason.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.binaries import require
from tests.support.net import free_port, wait_for
from tests.support.processes import ROOT, Process, running_service

pytestmark = pytest.mark.integration

DASHBOARDS = ROOT / "grafana" / "dashboards"
# Grafana's $__rate_interval with the provisioned 15 s scrape interval is 4 x 15 s.
VARIABLES = {"$__rate_interval": "1m", "$instance": ".*"}
# (dashboard uid, panel title): why the query is legitimately empty on a healthy service.
INCIDENT_ONLY = {
    ("ai-diy-overview", "Firing alerts"): "ALERTS has series only while an alert is pending or firing",
}
POLL_SECONDS = 45


def _substitute(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def _panel_queries() -> list[tuple[str, str, str, str]]:
    """(dashboard uid, panel title, refId, PromQL) of every target of every dashboard."""
    queries = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                queries.append((board["uid"], panel["title"], target["refId"], _substitute(target["expr"])))
    return queries


def _api(prometheus: str, path: str, **params: str) -> dict[str, Any]:
    url = f"{prometheus}{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as exc:  # 400/422 carry the PromQL error in the body
        refusal: dict[str, Any] = json.loads(exc.read())
        return refusal


def _prometheus_config(tmp_path: Path, target: str) -> Path:
    rules = sorted(str(p) for p in (ROOT / "alerts").glob("*.rules.yml"))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": rules,
        "scrape_configs": [{"job_name": "ai-diy", "static_configs": [{"targets": [target]}]}],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _mixed_traffic(base_url: str, data_dir: Path) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for _ in range(5):
            assert client.get("/health").status_code == 200
        assert client.get("/api/env").status_code == 200
        for _ in range(3):
            assert client.get("/no/such/page").status_code == 404
        assert client.get("/api/appdocs/..%2f..%2fetc%2fpasswd").status_code in {400, 403, 404}
        # A regular file where the data directory should be: the store is unavailable (503).
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.write_text("not a directory\n")
        statuses = [client.get("/api/data/status").status_code for _ in range(3)]
        assert statuses == [503, 503, 503]
        data_dir.unlink()
        data_dir.mkdir()
        # The runbook's 110-request loop: more than the 100/minute limit.
        refused = [client.get("/api/env").status_code for _ in range(110)].count(429)
        assert refused > 0


def _scraped(prometheus: str) -> bool:
    """True once the service target is up; raises with the scrape error so a timeout says why."""
    targets = _api(prometheus, "/api/v1/targets", state="active")["data"]["activeTargets"]
    health = [(t["health"], t["lastError"]) for t in targets if t["labels"]["job"] == "ai-diy"]
    if health and health[0][0] != "up" and health[0][1]:
        raise RuntimeError(f"scrape of the service: {health[0][1]}")
    return bool(health) and health[0][0] == "up"


def _evaluate(prometheus: str, queries: list[tuple[str, str, str, str]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(uid, title, ref): _api(prometheus, "/api/v1/query", query=expr) for uid, title, ref, expr in queries}


def test_dashboard_queries_return_data_from_real_prometheus(tmp_path: Path) -> None:
    prometheus_bin = require("prometheus")
    queries = _panel_queries()
    assert len(queries) > 30
    with running_service(tmp_path) as (_service, base_url):
        prom_port = free_port()
        prometheus = f"http://127.0.0.1:{prom_port}"
        config = _prometheus_config(tmp_path, base_url.removeprefix("http://"))
        server = Process(
            [
                prometheus_bin,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--enable-feature=exemplar-storage",
            ],
            log=tmp_path / "prometheus.out",
        )
        try:
            wait_for(lambda: _scraped(prometheus), timeout=30, what="Prometheus scraping the service")
            _mixed_traffic(base_url, tmp_path / "data")

            # Poll (bounded) until every expected series is there: rates need two scrapes after the traffic.
            deadline = time.monotonic() + POLL_SECONDS
            while True:
                results = _evaluate(prometheus, queries)
                empty = [
                    key
                    for key, r in results.items()
                    if r["status"] == "success" and not r["data"]["result"] and key[:2] not in INCIDENT_ONLY
                ]
                if not empty or time.monotonic() > deadline:
                    break
                time.sleep(1)

            errors = [f"{key}: {r.get('error')}" for key, r in results.items() if r["status"] != "success"]
            assert errors == []
            assert empty == [], f"queries without data: {empty}"
            # The instance variable: label_values(ai_diy_build_info{job="ai-diy"}, instance).
            series = _api(prometheus, "/api/v1/series", **{"match[]": 'ai_diy_build_info{job="ai-diy"}'})["data"]
            assert {s["instance"] for s in series} == {base_url.removeprefix("http://")}
        finally:
            server.stop()
