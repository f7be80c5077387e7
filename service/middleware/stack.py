"""build_middleware: the one place the service's middleware stack is assembled.

client IP -> telemetry -> security headers -> request size -> rate limit -> error
boundary -> route. The policies each layer applies live in service/security; the
telemetry is the reusable one of the observability package.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.middleware import Middleware
from starlette.types import ASGIApp

from observability import HttpMetrics, RequestTracing, RouteResolver, StandardTracing, TelemetryMiddleware
from service.errors import ErrorBoundaryMiddleware
from service.faults import FaultInjection, FaultRegistry
from service.metrics_port import MetricsPortMiddleware
from service.security.body_limit import RequestSizeMiddleware
from service.security.client_ip import ClientIPMiddleware
from service.security.headers import SecurityHeadersMiddleware
from service.security.limiter import RateLimiter
from service.security.rate_limit import RateLimitMiddleware
from service.settings import Settings

# Probes and scrapes: measured and logged, never traced nor rate-limited.
UNTRACED = ("/health", "/health/live", "/health/ready", "/metrics")


@dataclass(frozen=True)
class Telemetry:
    """What the telemetry layer records: metrics, traces, access lines (each optional)."""

    metrics: HttpMetrics | None = None
    tracing: RequestTracing | None = None
    access_log: logging.Logger | None = None


def build_middleware(
    settings: Settings,
    *,
    limiter: RateLimiter,
    resolver: RouteResolver,
    telemetry: Telemetry | None = None,
    metrics_app: ASGIApp | None = None,
    faults: FaultRegistry | None = None,
) -> list[Middleware]:
    """The middleware stack for these settings, outermost first: the one place it is assembled.

    client IP -> telemetry -> security headers -> body size -> rate limit -> error boundary.
    The client is known before anything records it; the telemetry sees every answer,
    refusals and errors included; every answer leaves with the security headers.
    Layers that would do nothing for these settings are left out; fault injection,
    when enabled, sits innermost so everything above records an injected fault as a real one.
    """
    layers: list[Middleware] = []
    if settings.metrics_port is not None and metrics_app is not None:
        layers.append(Middleware(MetricsPortMiddleware, metrics_app=metrics_app, metrics_port=settings.metrics_port))
    if settings.trusted_proxies:
        layers.append(Middleware(ClientIPMiddleware, trusted_proxies=settings.trusted_proxies))
    if telemetry is not None and isinstance(telemetry.tracing, StandardTracing):
        # Outside the telemetry, so its span is current while the telemetry runs.
        layers.append(Middleware(telemetry.tracing.asgi_middleware, **telemetry.tracing.asgi_options))
    if telemetry is not None:
        layers.append(
            Middleware(
                TelemetryMiddleware,
                metrics=telemetry.metrics,
                tracing=telemetry.tracing,
                access_log=telemetry.access_log,
                route_resolver=resolver,
                exclude_tracing=UNTRACED,
            )
        )
    layers += [
        Middleware(SecurityHeadersMiddleware),
        Middleware(RequestSizeMiddleware, max_bytes=settings.max_request_bytes, events=limiter.events),
        Middleware(
            RateLimitMiddleware,
            limiter=limiter,
            fail_closed=settings.rate_limit_fail_closed,
            exempt=UNTRACED,
            route_resolver=resolver,
        ),
        Middleware(ErrorBoundaryMiddleware),
    ]
    if faults is not None:
        layers.append(Middleware(FaultInjection, registry=faults))
    return layers
