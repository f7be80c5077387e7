"""service.middleware.build_middleware: the one assembly of the stack, policies left out when idle."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
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
    return {name: None if part is None else type(part) for name, part in options.items() if name != "secure"}


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
