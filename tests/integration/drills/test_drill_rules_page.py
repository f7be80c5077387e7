"""A drill fired by a real fault, end to end on the time-compressed rules (the runner's test drills traffic).

The stack is the shipped one (service, Prometheus, Alertmanager routing) on loopback,
with the drill's 500 ms scrape and evaluation and the alert's own drill rules file
(alerts/drill/), so a page that takes a quarter of an hour in production takes about
a minute here, through the same expression, threshold, labels and routing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts import drill
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
from tests.support.processes import ROOT, running_service

pytestmark = pytest.mark.integration

# A bound per step, well above the drill's own timing (windows and `for` of about 30 s).
STEP_TIMEOUT = 150.0
INTERVAL = drill.format_duration(drill.SCRAPE_INTERVAL_MS)


def _rules(alert: str, severity: str) -> Path:
    return ROOT / drill.DIRECTORY / drill.file_name(drill.factors()[(alert, severity)])


def _scraped(prometheus_url: str) -> bool:
    result = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": 'up{job="ai-diy"} == 1'}, timeout=5).json()
    return bool(result["data"]["result"])


def _await(sink: WebhookSink, path: str, alert: str, severity: str, status: str, probe: str = "") -> dict[str, Any]:
    """Seconds waited and the notified alert; `probe` is fetched every poll, as a load balancer would."""

    def received() -> list[dict[str, Any]]:
        if probe:
            httpx.get(probe, timeout=5)
        return sink.received(path, alert, status=status, severity=severity)

    (first, *_) = wait_for(received, timeout=STEP_TIMEOUT, interval=0.5, what=f"{status} {alert} on {path}")
    return first


def test_drill_failing_health_check_pages_the_pager_receiver_and_resolves(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    (data_dir / "appdocs").mkdir(parents=True)
    (tmp_path / "service").mkdir()
    with (
        webhook_sink() as sink,
        alertmanager(tmp_path, render_alertmanager_config(sink)) as am_url,
        prometheus(
            tmp_path,
            service_port=port,
            alertmanager_url=am_url,
            drill_rules=_rules("AiDiyHealthCheckFailing", "critical"),
            interval=INTERVAL,
        ) as prom_url,
        running_service(tmp_path / "service", AI_DIY_PORT=str(port), AI_DIY_DATA_DIR=str(data_dir)) as (_, base),
    ):
        break_data_dir(data_dir)  # after the start: the start-up check refuses a data directory that is a file
        started = time.monotonic()
        wait_for(lambda: _scraped(prom_url), timeout=30, what="service scraped")
        page = _await(sink, "/page", "AiDiyHealthCheckFailing", "critical", "firing", probe=f"{base}/health")
        paged = time.monotonic() - started
        assert page["labels"]["check"] == "data_store"
        assert page["annotations"]["dashboard_url"].endswith("/d/ai-diy-overview?viewPanel=6")
        repair_data_dir(data_dir)
        repaired = time.monotonic()
        _await(sink, "/page", "AiDiyHealthCheckFailing", "critical", "resolved", probe=f"{base}/health")
        resolved = time.monotonic() - repaired
        print(f"AiDiyHealthCheckFailing critical: paged after {paged:.0f} s, resolved {resolved:.0f} s after repair")
