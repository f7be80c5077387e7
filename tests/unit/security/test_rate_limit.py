from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette

from service.security.events import SecurityEvents
from service.security.limiter import Decision, RateLimiter, async_storage_uri, storage_scheme
from tests.support.net import free_port
from tests.support.security_stack import build_app

pytestmark = pytest.mark.anyio


_RATE = re.compile(r'"default";r=(\d+);t=(\d+)')


def _rate(response: httpx.Response) -> tuple[int, int]:
    """(remaining, seconds to reset) from the structured `RateLimit` header."""
    match = _RATE.fullmatch(response.headers["RateLimit"])
    assert match is not None, response.headers["RateLimit"]
    return int(match[1]), int(match[2])


def _client(app: Starlette, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 5000)), base_url="http://testserver")


async def test_rate_limit_runbook_loop_gets_100_then_429(client: httpx.AsyncClient) -> None:
    codes = [(await client.get("/api/env")).status_code for _ in range(110)]
    assert codes == [200] * 100 + [429] * 10


async def test_rate_limit_headers_on_allowed_and_refused(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/env")
    assert first.headers["RateLimit-Policy"] == '"default";q=100;w=60'
    remaining, reset = _rate(first)
    assert remaining == 99
    assert 0 < reset <= 60
    assert "RateLimit-Limit" not in first.headers and "RateLimit-Remaining" not in first.headers
    for _ in range(99):
        await client.get("/api/env")
    refused = await client.get("/api/env")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert refused.headers["RateLimit-Policy"] == '"default";q=100;w=60'
    remaining, reset = _rate(refused)
    assert remaining == 0
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert int(refused.headers["Retry-After"]) == reset


async def test_rate_limit_one_budget_per_client_across_routes(client: httpx.AsyncClient, app: Starlette) -> None:
    for i in range(100):
        path = "/api/env" if i % 2 else "/api/appdocs/readme.md"
        assert (await client.get(path)).status_code == 200
    assert (await client.get("/api/appdocs/readme.md")).status_code == 429
    assert (await client.get("/api/security/status")).status_code == 429
    async with _client(app, ip="198.51.100.1") as other:
        assert (await other.get("/api/env")).status_code == 200


async def test_rate_limit_exempt_and_non_api_paths_not_counted(client: httpx.AsyncClient) -> None:
    for _ in range(120):
        assert (await client.get("/health")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200
    response = await client.get("/api/env")
    assert _rate(response)[0] == 99
    health = await client.get("/health")
    assert "RateLimit" not in health.headers and "RateLimit-Policy" not in health.headers


async def test_rate_limit_refusals_counted_by_route_template(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    registry: CollectorRegistry = client._transport.app.state.context.registry  # type: ignore[attr-defined]  # the app behind the client's transport
    for _ in range(100):
        await client.get("/api/env")
    with caplog.at_level(logging.WARNING, logger="ai_diy.security"):
        await client.get("/api/appdocs/guides/setup.txt")
        await client.get("/api/appdocs/readme.md")
        await client.get("/api/nowhere")
    assert (
        registry.get_sample_value("ai_diy_rate_limit_violations_total", {"http_route": "/api/appdocs/{path:path}"}) == 2
    )
    assert registry.get_sample_value("ai_diy_rate_limit_violations_total", {"http_route": "_unmatched"}) == 1
    assert (
        registry.get_sample_value(
            "ai_diy_security_events_total", {"event": "rate_limit_exceeded", "severity": "warning"}
        )
        == 3
    )
    records = [r for r in caplog.records if getattr(r, "event", None) == "rate_limit_exceeded"]
    assert len(records) == 3
    assert all(r.details["client_ip"] == "203.0.113.7" for r in records)  # type: ignore[attr-defined]  # a field logged with extra=
    assert all(r.getMessage().startswith("SECURITY_AUDIT") for r in records)


async def test_rate_limit_several_limits_report_the_tightest(docs_root: Path) -> None:
    app = build_app(docs_root=docs_root, limit="5/second;3/minute")
    async with _client(app) as client:
        codes = [(await client.get("/api/env")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        response = await client.get("/api/env")
        assert response.headers["RateLimit-Policy"] == '"per-1s";q=5;w=1, "per-60s";q=3;w=60'
        assert response.headers["RateLimit"].startswith('"per-60s";r=0;t=')


async def test_rate_limit_unreachable_storage_fails_open_and_degrades(
    docs_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = build_app(docs_root=docs_root, storage_uri=f"redis://127.0.0.1:{free_port()}/0")
    registry: CollectorRegistry = app.state.context.registry
    async with _client(app) as client:
        with caplog.at_level(logging.WARNING, logger="ai_diy.security"):
            codes = [(await client.get("/api/env")).status_code for _ in range(5)]
            status = (await client.get("/api/security/status")).json()
    assert codes == [200] * 5
    assert status["security_status"] == "degraded"
    assert status["report"]["rate_limit"]["healthy"] is False
    assert (registry.get_sample_value("ai_diy_rate_limiter_errors_total") or 0) >= 1
    assert registry.get_sample_value("ai_diy_security_active") == 0
    logged = [r for r in caplog.records if getattr(r, "event", None) == "rate_limiter_storage_error"]
    assert len(logged) == 1  # one line per log interval, not one per request


async def test_rate_limit_unreachable_storage_fail_closed_answers_503(docs_root: Path) -> None:
    app = build_app(docs_root=docs_root, storage_uri=f"redis://127.0.0.1:{free_port()}/0", fail_closed=True)
    async with _client(app) as client:
        response = await client.get("/api/env")
        health = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "rate_limiter_unavailable"
    assert "Retry-After" in response.headers
    assert health.status_code == 200


async def test_rate_limit_black_holed_storage_does_not_hang_requests(docs_root: Path) -> None:
    # A listener that accepts connections and never answers, like a firewalled Redis.
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    app = build_app(docs_root=docs_root, storage_uri=f"redis://127.0.0.1:{port}/0", limiter_timeout=0.2)
    try:
        async with _client(app) as client:
            with anyio.fail_after(10):  # a bound for the test, not a timing assertion
                codes = [(await client.get("/api/env")).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        assert app.state.context.registry.get_sample_value("ai_diy_rate_limiter_errors_total") >= 1
        assert app.state.context.rate_limiter.storage_healthy is False
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_rate_limiter_recovers_and_notifies_listeners() -> None:
    now = [0.0]
    registry = CollectorRegistry()
    limiter = RateLimiter("2/minute", "memory://", events=SecurityEvents(registry), clock=lambda: now[0])
    changes: list[bool] = []
    limiter.add_listener(changes.append)
    original = limiter._consume  # the one storage call of a check, local window or `limits`

    async def broken(key: str) -> Decision:
        raise ConnectionError("storage down")

    limiter._consume = broken  # type: ignore[method-assign]  # the storage fails, then comes back
    assert await limiter.check("k", "192.0.2.1") is None
    limiter._consume = original  # type: ignore[method-assign]  # the storage fails, then comes back
    assert await limiter.check("k", "192.0.2.1") is None  # still inside the retry interval: storage skipped
    now[0] += limiter.retry_interval
    decision = await limiter.check("k", "192.0.2.1")
    assert decision is not None and decision.allowed
    assert changes == [False, True]
    assert registry.get_sample_value("ai_diy_rate_limiter_errors_total") == 1


def test_rate_limiter_storage_uri_translation() -> None:
    assert async_storage_uri("redis://:pw@host:6379/0") == "async+redis://:pw@host:6379/0"
    assert async_storage_uri("async+memory://") == "async+memory://"
    assert storage_scheme("redis://:secret@host:6379/0") == "redis"
