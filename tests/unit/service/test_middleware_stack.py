"""service.middleware.build_middleware: the one assembly of the stack, layers left out when idle."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from prometheus_client import CollectorRegistry

from observability import RouteResolver, TelemetryMiddleware
from service.errors import ErrorBoundaryMiddleware
from service.middleware import Telemetry, build_middleware
from service.security.body_limit import RequestSizeMiddleware
from service.security.client_ip import ClientIPMiddleware
from service.security.events import SecurityEvents
from service.security.headers import SecurityHeadersMiddleware
from service.security.limiter import RateLimiter
from service.security.rate_limit import RateLimitMiddleware
from service.settings import Settings, load_settings


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return load_settings(
        env_file=None, data_dir=tmp_path / "d", log_dir=tmp_path / "l", models_config=tmp_path / "m.json", **overrides
    )


def _layers(settings: Settings, telemetry: Telemetry | None) -> list[type]:
    limiter = RateLimiter(settings.rate_limit, settings.rate_limit_storage, events=SecurityEvents(CollectorRegistry()))
    middleware = build_middleware(settings, limiter=limiter, resolver=RouteResolver(), telemetry=telemetry)
    return [layer.cls for layer in middleware]  # type: ignore[misc]  # Middleware.cls is the class given


def test_middleware_stack_order_outermost_first(tmp_path: Path) -> None:
    settings = _settings(tmp_path, trusted_proxies="127.0.0.1")
    assert settings.trusted_proxies == [ipaddress.ip_network("127.0.0.1/32")]
    assert _layers(settings, Telemetry()) == [
        ClientIPMiddleware,
        TelemetryMiddleware,
        SecurityHeadersMiddleware,
        RequestSizeMiddleware,
        RateLimitMiddleware,
        ErrorBoundaryMiddleware,
    ]


def test_middleware_stack_leaves_out_idle_layers(tmp_path: Path) -> None:
    assert _layers(_settings(tmp_path), None) == [
        SecurityHeadersMiddleware,
        RequestSizeMiddleware,
        RateLimitMiddleware,
        ErrorBoundaryMiddleware,
    ]
