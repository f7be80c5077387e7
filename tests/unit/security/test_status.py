from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge

from service.metrics import ServiceMetrics
from service.security.events import SecurityEvents
from service.security.limiter import RateLimiter
from service.security.status import SecurityStatus
from tests.support.net import free_port

pytestmark = pytest.mark.anyio


async def test_security_status_active_report_shape(client: httpx.AsyncClient) -> None:
    await client.get("/api/appdocs/../x.txt")  # decoded by httpx to /api/x.txt: unmatched, not an event
    await client.post("/api/echo", content=b"{")
    body = (await client.get("/api/security/status")).json()
    assert body["security_status"] == "active"
    report = body["report"]
    assert set(report["components"]) == {
        "headers",
        "rate_limiter",
        "client_ip",
        "request_size_limit",
        "path_inspection",
        "input_inspection",
    }
    assert all(component["state"] == "active" for component in report["components"].values())
    assert report["rate_limit"] == {"limit": "100/minute", "storage": "memory", "healthy": True, "fail_closed": False}
    assert report["limits"] == {
        "max_request_bytes": 1024,
        "json": {"max_depth": 20, "max_string": 10000, "max_items": 1000},
    }
    assert report["events_last_hour"]["suspicious_input"] == 1
    assert report["events_last_hour"]["path_traversal_attempt"] == 0
    assert "pid" in report["resource_usage"]
    registry: CollectorRegistry = client._transport.app.state.context.registry  # type: ignore[attr-defined]  # the app behind the client's transport
    assert registry.get_sample_value("ai_diy_security_active") == 1


async def test_security_status_never_shows_storage_password() -> None:
    registry = CollectorRegistry()
    events = SecurityEvents(registry)
    limiter = RateLimiter("10/minute", f"redis://:hunter2@127.0.0.1:{free_port()}/0", events=events, timeout=0.2)
    status = SecurityStatus(limiter=limiter, events=events, gauge=_gauge(registry), max_request_bytes=10)
    body = await status.report({"memory_mb": 1})
    assert "hunter2" not in repr(body)
    assert body["report"]["rate_limit"]["storage"] == "redis"
    assert body["security_status"] == "degraded"
    assert body["report"]["components"]["rate_limiter"]["state"] == "degraded"
    assert registry.get_sample_value("ai_diy_security_active") == 0


def test_security_status_gauge_follows_limiter_health() -> None:
    registry = CollectorRegistry()
    events = SecurityEvents(registry)
    limiter = RateLimiter("10/minute", "memory://", events=events)
    SecurityStatus(limiter=limiter, events=events, gauge=_gauge(registry), max_request_bytes=10)
    assert registry.get_sample_value("ai_diy_security_active") == 1
    limiter._set_healthy(False)
    assert registry.get_sample_value("ai_diy_security_active") == 0
    limiter._set_healthy(True)
    assert registry.get_sample_value("ai_diy_security_active") == 1


def _gauge(registry: CollectorRegistry) -> Gauge:
    """The security gauge as the service registers it."""
    return ServiceMetrics(registry, namespace="ai_diy", version="test").security_active
