"""A real Prometheus loads deploy/prometheus.yml with alerts/ beside it and evaluates every rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.alerting_stack import ALERTS, alertmanager, prometheus, render_alertmanager_config, webhook_sink
from tests.support.net import free_port, wait_for

pytestmark = pytest.mark.integration


def _rule_groups(url: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = httpx.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    return answer


def _expected_rule_count() -> int:

    return sum(
        len(g["rules"]) for path in ALERTS.glob("*.rules.yml") for g in yaml.safe_load(path.read_text())["groups"]
    )


def test_prometheus_loads_every_rule_and_evaluates_it_without_error(tmp_path: Path) -> None:
    nobody_listens = free_port()
    with (
        webhook_sink() as sink,
        alertmanager(tmp_path, render_alertmanager_config(sink)) as am_url,
        prometheus(tmp_path, service_port=nobody_listens, alertmanager_url=am_url) as url,
    ):

        def all_evaluated() -> list[dict[str, Any]]:
            rules = [rule for group in _rule_groups(url) for rule in group["rules"]]
            return rules if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules) else []

        rules = wait_for(all_evaluated, timeout=30, what="every rule evaluated")
        assert len(rules) == _expected_rule_count()
        assert [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"] == []


def test_prometheus_with_no_service_reports_it_down_through_alertmanager(tmp_path: Path) -> None:
    # Nothing listens on the ai-diy target: up == 0, and with `for` shortened to 2s the
    # page arrives within seconds instead of a minute.
    nobody_listens = free_port()
    with (
        webhook_sink() as sink,
        alertmanager(tmp_path, render_alertmanager_config(sink)) as am_url,
        prometheus(tmp_path, service_port=nobody_listens, alertmanager_url=am_url, for_duration="2s"),
    ):
        alerts = wait_for(lambda: sink.received("/page", "AiDiyServiceDown"), timeout=60, what="AiDiyServiceDown page")
    assert alerts[0]["labels"]["instance"] == f"127.0.0.1:{nobody_listens}"
    assert alerts[0]["annotations"]["runbook_url"].endswith("#aidiyservicedown")
