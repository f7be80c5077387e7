"""service.middleware.build_middleware: the one assembly of the stack, policies left out when idle."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware

from observability import RequestTelemetry, RouteResolver, StandardTracing
from service.errors import ErrorBoundary
from service.middleware import EdgeMiddleware, Telemetry, build_middleware
from service.security.body_limit import RequestSize
from service.security.client_ip import ClientIP, ClientIPMiddleware
from service.security.events import SecurityEvents
from service.security.limiter import RateLimiter
from service.security.rate_limit import RateLimit
from service.settings import Settings, load_settings


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(
        env_file=None, data_dir=tmp_path / "d", log_dir=tmp_path / "l", models_config=tmp_path / "m.json", **overrides
    )


def _stack(settings: Settings, telemetry: Telemetry | None) -> list[Middleware]:
    limiter = RateLimiter(settings.rate_limit, settings.rate_limit_storage, events=SecurityEvents(CollectorRegistry()))
    return build_middleware(settings, limiter=limiter, resolver=RouteResolver(), telemetry=telemetry)


def _cls(layer: Middleware) -> type:
    cls: type = layer.cls  # type: ignore[assignment]  # Middleware.cls is the class given
    return cls


def _policies(layer: Middleware) -> dict[str, type | None]:
    options: dict[str, Any] = layer.kwargs
    return {name: None if part is None else type(part) for name, part in options.items()}


def test_middleware_stack_is_one_edge_with_every_policy(tmp_path: Path) -> None:
    settings = _settings(tmp_path, trusted_proxies="127.0.0.1")
    assert settings.trusted_proxies == [ipaddress.ip_network("127.0.0.1/32")]
    [edge] = _stack(settings, Telemetry())
    assert _cls(edge) is EdgeMiddleware
    assert _policies(edge) == {
        "client_ip": ClientIP,
        "telemetry": RequestTelemetry,
        "request_size": RequestSize,
        "rate_limit": RateLimit,
        "boundary": ErrorBoundary,
    }


def test_middleware_stack_leaves_out_idle_policies(tmp_path: Path) -> None:
    [edge] = _stack(_settings(tmp_path), None)
    assert _cls(edge) is EdgeMiddleware
    assert _policies(edge) == {
        "client_ip": None,
        "telemetry": None,
        "request_size": RequestSize,
        "rate_limit": RateLimit,
        "boundary": ErrorBoundary,
    }


def test_middleware_stack_standard_tracing_sees_the_real_client(tmp_path: Path) -> None:
    settings = _settings(tmp_path, trusted_proxies="127.0.0.1")
    tracing = StandardTracing(TracerProvider(), excluded_paths=("/health",))
    layers = _stack(settings, Telemetry(tracing=tracing))
    assert [_cls(layer) for layer in layers] == [ClientIPMiddleware, OpenTelemetryMiddleware, EdgeMiddleware]
    assert _policies(layers[2])["client_ip"] is None


async def _kept_of(app: Starlette, requests: int) -> tuple[int, int]:
    """(server spans exported, one-second windows the requests spanned) for `requests` GETs of /api/env."""
    spans = InMemorySpanExporter()
    app.state.context.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            first = time.monotonic()
            for _ in range(requests):
                assert (await http.get("/api/env")).status_code == 200
            last = time.monotonic()
    return len(spans.get_finished_spans()), int(last) - int(first) + 1


@pytest.mark.anyio
async def test_middleware_stack_caps_ratio_kept_traces_per_second(make_app: Callable[..., Starlette]) -> None:
    app = make_app(trace_sample_ratio=1.0, trace_max_kept_per_second=3, rate_limit="1000/minute")
    kept, windows = await _kept_of(app, 12)
    # Every request is in the ratio; the cap lets 3 through in each second the requests took.
    assert 3 <= kept <= 3 * windows
    assert kept < 12 or windows >= 4


@pytest.mark.anyio
async def test_middleware_stack_zero_cap_keeps_the_whole_ratio(make_app: Callable[..., Starlette]) -> None:
    app = make_app(trace_sample_ratio=1.0, trace_max_kept_per_second=0, rate_limit="1000/minute")
    kept, _ = await _kept_of(app, 12)
    assert kept == 12
