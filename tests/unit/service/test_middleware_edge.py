"""service.middleware.edge: the policies in one frame keep the behaviour of separate layers.

Each app is assembled by build_middleware with metrics on, so every test also sees
what the telemetry recorded of the answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message

from observability import HttpMetrics, RouteResolver
from service.middleware import Telemetry, build_middleware
from service.security.events import SecurityEvents
from service.security.limiter import RateLimiter
from service.settings import load_settings

pytestmark = pytest.mark.anyio


async def _echo(request: Request) -> Response:
    return JSONResponse({"bytes": len(await request.body())})


async def _fail(request: Request) -> Response:
    raise RuntimeError("boom")


async def _fail_midway(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first"
        raise RuntimeError("broke after the headers")

    return StreamingResponse(chunks(), media_type="text/plain")


async def _env(request: Request) -> Response:
    return JSONResponse({"client": request.client.host if request.client else None})


ROUTES = [
    Route("/api/echo", _echo, methods=["POST"]),
    Route("/api/fail", _fail),
    Route("/api/stream", _fail_midway),
    Route("/api/env", _env),
]


def _app(tmp_path: Path, registry: CollectorRegistry, **settings: object) -> Starlette:
    values = {"data_dir": tmp_path / "d", "log_dir": tmp_path / "l", "models_config": tmp_path / "m.json"}
    loaded = load_settings(env_file=None, max_request_bytes=16, **{**values, **settings})
    limiter = RateLimiter(loaded.rate_limit, loaded.rate_limit_storage, events=SecurityEvents(registry))
    telemetry = Telemetry(metrics=HttpMetrics(registry, namespace="ai_diy"))
    middleware = build_middleware(loaded, limiter=limiter, resolver=RouteResolver(ROUTES), telemetry=telemetry)
    return Starlette(routes=ROUTES, middleware=middleware)


def _client(app: Starlette, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000), raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _recorded(registry: CollectorRegistry, method: str, route: str, status: int, error_type: str = "") -> float | None:
    return registry.get_sample_value(
        "http_server_request_duration_seconds_count",
        {
            "http_request_method": method,
            "http_route": route,
            "http_response_status_code": str(status),
            "url_scheme": "http",
            "error_type": error_type,
        },
    )


async def test_edge_error_before_the_response_is_a_json_500_with_headers(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    async with _client(_app(tmp_path, registry)) as http:
        response = await http.get("/api/fail")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal server error"}}
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["ratelimit"].startswith('"default";r=99;t=')
    assert _recorded(registry, "GET", "/api/fail", 500, "RuntimeError") == 1.0


async def test_edge_error_after_the_response_started_aborts_it(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    async with _client(_app(tmp_path, registry)) as http:
        with pytest.raises(RuntimeError, match="broke after the headers"):
            await http.get("/api/stream")
    assert _recorded(registry, "GET", "/api/stream", 200, "RuntimeError") == 1.0
    assert registry.get_sample_value("ai_diy_http_responses_aborted_total", {"http_route": "/api/stream"}) == 1.0


async def test_edge_chunked_body_over_the_limit_answers_413_with_headers(tmp_path: Path) -> None:
    registry = CollectorRegistry()

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"0123456789"

    async with _client(_app(tmp_path, registry)) as http:
        response = await http.post("/api/echo", content=chunks())
        small = await http.post("/api/echo", content=b"{}")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["connection"] == "close"
    assert _recorded(registry, "POST", "/api/echo", 413) == 1.0
    assert (small.status_code, small.json()) == (200, {"bytes": 2})


async def test_edge_refusals_are_recorded_with_their_status(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    async with _client(_app(tmp_path, registry, rate_limit="1/minute")) as http:
        first = await http.get("/api/env")
        refused = await http.get("/api/env")
    assert first.status_code == 200
    assert refused.status_code == 429
    assert refused.headers["retry-after"]
    assert refused.headers["referrer-policy"] == "no-referrer"
    assert _recorded(registry, "GET", "/api/env", 429) == 1.0


async def test_edge_head_answers_headers_only(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    async with _client(_app(tmp_path, registry)) as http:
        response = await http.head("/api/env")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"
    assert _recorded(registry, "HEAD", "/api/env", 200) == 1.0


async def test_edge_real_client_behind_a_trusted_proxy(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    async with _client(_app(tmp_path, registry, trusted_proxies="127.0.0.1")) as http:
        response = await http.get("/api/env", headers={"x-forwarded-for": "203.0.113.7"})
    assert response.json() == {"client": "203.0.113.7"}


async def test_edge_passes_lifespan_through(tmp_path: Path) -> None:
    app = _app(tmp_path, CollectorRegistry())
    events: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> Message:
        return events.pop(0)

    async def send(message: Message) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
