"""Real faults in a running service reach the webhook receivers through Prometheus and Alertmanager.

The stack is the shipped configuration with three test-only changes: loopback ports,
a 1 s scrape/evaluation interval, and every `for:` shortened to 2 s so the test does
not wait minutes per alert. Thresholds and windows are the ones in alerts/.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.alerting_stack import (
    WebhookSink,
    alertmanager,
    break_data_dir,
    prometheus,
    render_alertmanager_config,
    repair_data_dir,
    webhook_sink,
)
from tests.support.net import free_port, wait_for
from tests.support.processes import running_service

pytestmark = pytest.mark.integration

NOTIFY_TIMEOUT = 90.0


def _spread(client: httpx.Client, url: str, count: int, per_second: float) -> list[int]:
    """`count` GETs at about `per_second`, so the 1 s scrapes see the counters grow."""
    codes = []
    for _ in range(count):
        codes.append(client.get(url).status_code)
        time.sleep(1 / per_second)
    return codes


def _scraped(prometheus_url: str) -> bool:
    result = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": 'up{job="ai-diy"} == 1'}, timeout=5).json()
    return bool(result["data"]["result"])


def _await(
    sink: WebhookSink,
    path: str,
    alertname: str,
    *,
    status: str = "firing",
    severity: str | None = None,
    probe: str | None = None,
) -> list[dict[str, Any]]:
    """Wait for a notification; `probe` is GET every poll, as a load balancer's health check would."""

    def received() -> list[dict[str, Any]]:
        if probe is not None:
            httpx.get(probe, timeout=5)
        return sink.received(path, alertname, status=status, severity=severity)

    return wait_for(
        received,
        timeout=NOTIFY_TIMEOUT,
        interval=0.5,
        what=f"{status} {alertname} on {path}",
    )


def test_faults_page_and_resolve_through_prometheus_and_alertmanager(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()

    with (
        webhook_sink() as sink,
        alertmanager(tmp_path, render_alertmanager_config(sink)) as am_url,
        prometheus(tmp_path, service_port=port, alertmanager_url=am_url, for_duration="2s") as prom_url,
    ):
        with running_service(tmp_path / "first", AI_DIY_PORT=str(port), AI_DIY_DATA_DIR=str(data_dir)) as (
            service,
            base,
        ):
            break_data_dir(data_dir)
            wait_for(lambda: _scraped(prom_url), timeout=30, what="service scraped")
            with httpx.Client(base_url=base, timeout=5) as client:
                # 100 requests to a store that cannot be read: 503s (the default limit is 100/minute).
                errors = _spread(client, "/api/data/status", 100, per_second=10)
                assert errors.count(503) >= 90
                # The runbook's rate-limit check: keep asking /api/env; more than 50 refusals is critical.
                refused = 0
                for _ in range(8):
                    refused += _spread(client, "/api/env", 20, per_second=15).count(429)
                    if refused >= 90:
                        break
                assert refused >= 90

            error_page = _await(sink, "/page", "AiDiyHighErrorRate", severity="critical")
            assert error_page[0]["annotations"]["runbook_url"].endswith("#aidiyhigherrorrate")
            _await(sink, "/page", "AiDiyRateLimitViolations", severity="critical")
            health_page = _await(sink, "/page", "AiDiyHealthCheckFailing", probe=f"{base}/health")
            assert health_page[0]["labels"]["check"] == "data_store"
            # The error-rate warning crossed its line together with the critical: inhibited.
            assert sink.received("/ticket", "AiDiyHighErrorRate") == []

            repair_data_dir(data_dir)
            wait_for(lambda: httpx.get(f"{base}/health", timeout=5).status_code == 200, timeout=30, what="healthy")
            _await(sink, "/page", "AiDiyHealthCheckFailing", status="resolved", probe=f"{base}/health")

            # Kill the service outright, as the OOM killer would.
            service.signal(signal.SIGKILL)
            down = _await(sink, "/page", "AiDiyServiceDown")
            assert down[0]["labels"]["instance"] == f"127.0.0.1:{port}"

        # Bring it back on the same port: the page resolves.
        with running_service(tmp_path / "second", AI_DIY_PORT=str(port), AI_DIY_DATA_DIR=str(data_dir)):
            _await(sink, "/page", "AiDiyServiceDown", status="resolved")
