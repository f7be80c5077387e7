"""A real Alertmanager with alerts/alertmanager.yml: routing by severity and inhibition of warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.alerting_stack import alertmanager, render_alertmanager_config, webhook_sink
from tests.support.net import wait_for

pytestmark = pytest.mark.integration


def _alert(alertname: str, severity: str, instance: str, *, ends_in: timedelta = timedelta(hours=1)) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "labels": {
            "alertname": alertname,
            "severity": severity,
            "instance": instance,
            "job": "ai-diy",
            "service": "ai-diy",
        },
        "annotations": {"summary": f"{alertname} {severity}"},
        "startsAt": (now - timedelta(minutes=1)).isoformat(),
        "endsAt": (now + ends_in).isoformat(),
    }


def _post(url: str, alerts: list[dict[str, Any]]) -> None:
    response = httpx.post(f"{url}/api/v2/alerts", json=alerts, timeout=5)
    assert response.status_code == 200, response.text


def _inhibited_by(url: str, alertname: str, severity: str, instance: str) -> list[str]:
    for alert in httpx.get(f"{url}/api/v2/alerts", timeout=5).json():
        labels = alert["labels"]
        if (labels["alertname"], labels["severity"], labels["instance"]) == (alertname, severity, instance):
            answer: list[str] = alert["status"]["inhibitedBy"]
            return answer
    raise AssertionError(f"{alertname}/{severity}/{instance} not known to Alertmanager")


def test_alertmanager_pages_critical_tickets_warning_and_inhibits_the_shadowed_warning(tmp_path: Path) -> None:
    with webhook_sink() as sink, alertmanager(tmp_path, render_alertmanager_config(sink)) as url:
        # The critical is firing (and paged) before the warnings arrive.
        _post(url, [_alert("AiDiyHighErrorRate", "critical", "api-1:8000")])
        wait_for(lambda: sink.received("/page", "AiDiyHighErrorRate", severity="critical"), timeout=30, what="page")
        _post(
            url,
            [
                _alert("AiDiyHighErrorRate", "warning", "api-1:8000"),  # same alert and instance: inhibited
                _alert("AiDiyHighErrorRate", "warning", "api-2:8000"),  # other instance: delivered
                _alert("AiDiyHighMemoryUsage", "warning", "api-1:8000"),  # other alert: delivered
            ],
        )
        wait_for(
            lambda: (
                sink.received("/ticket", "AiDiyHighMemoryUsage")
                and [
                    a for a in sink.received("/ticket", "AiDiyHighErrorRate") if a["labels"]["instance"] == "api-2:8000"
                ]
            ),
            timeout=30,
            what="tickets",
        )

        # Alertmanager marks an alert inhibited when its group is processed: wait for it.
        wait_for(
            lambda: _inhibited_by(url, "AiDiyHighErrorRate", "warning", "api-1:8000"), timeout=30, what="inhibited"
        )
        assert _inhibited_by(url, "AiDiyHighErrorRate", "warning", "api-2:8000") == []
        shadowed = [
            a for a in sink.received("/ticket", "AiDiyHighErrorRate") if a["labels"]["instance"] == "api-1:8000"
        ]
        assert shadowed == []
        assert sink.received("/page", "AiDiyHighMemoryUsage") == []
        assert sink.received("/ticket", "AiDiyHighErrorRate", severity="critical") == []


def test_alertmanager_releases_the_warning_once_the_critical_resolves(tmp_path: Path) -> None:
    with webhook_sink() as sink, alertmanager(tmp_path, render_alertmanager_config(sink)) as url:
        _post(
            url,
            [
                _alert("AiDiyHighMemoryUsage", "critical", "api-1:8000"),
                _alert("AiDiyHighMemoryUsage", "warning", "api-1:8000"),
            ],
        )
        wait_for(lambda: sink.received("/page", "AiDiyHighMemoryUsage", severity="critical"), timeout=30, what="page")
        wait_for(
            lambda: _inhibited_by(url, "AiDiyHighMemoryUsage", "warning", "api-1:8000"), timeout=30, what="inhibited"
        )

        # Memory falls from 96 % to 85 %: Prometheus resolves the critical, the warning stays.
        _post(url, [_alert("AiDiyHighMemoryUsage", "critical", "api-1:8000", ends_in=timedelta(seconds=-1))])

        wait_for(
            lambda: sink.received("/ticket", "AiDiyHighMemoryUsage", severity="warning"), timeout=30, what="ticket"
        )
        wait_for(
            lambda: sink.received("/page", "AiDiyHighMemoryUsage", status="resolved", severity="critical"),
            timeout=30,
            what="resolved page",
        )
        assert _inhibited_by(url, "AiDiyHighMemoryUsage", "warning", "api-1:8000") == []
        assert sink.received("/ticket", "AiDiyHighMemoryUsage", severity="critical") == []


def test_alertmanager_pages_a_lost_rate_limit_storage_once(tmp_path: Path) -> None:
    def check_alert(check: str, instance: str) -> dict[str, Any]:
        alert = _alert("AiDiyHealthCheckFailing", "critical", instance)
        alert["labels"]["check"] = check
        return alert

    with webhook_sink() as sink, alertmanager(tmp_path, render_alertmanager_config(sink)) as url:
        _post(url, [_alert("AiDiySecurityInactive", "critical", "api-1:8000")])
        wait_for(lambda: sink.received("/page", "AiDiySecurityInactive"), timeout=30, what="the security page")
        _post(
            url,
            [
                check_alert("security", "api-1:8000"),
                check_alert("log_sink", "api-1:8000"),
                check_alert("security", "api-2:8000"),
            ],
        )
        wait_for(
            lambda: len(sink.received("/page", "AiDiyHealthCheckFailing")) >= 2,
            timeout=30,
            what="the other health pages",
        )
        paged = {
            (a["labels"]["check"], a["labels"]["instance"]) for a in sink.received("/page", "AiDiyHealthCheckFailing")
        }
        assert paged == {("log_sink", "api-1:8000"), ("security", "api-2:8000")}
