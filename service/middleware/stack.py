"""build_middleware: the one place the service's middleware stack is assembled.

client IP -> telemetry -> security headers -> request size -> rate limit -> error
boundary -> route, applied by one edge middleware. The policies live in
service/security; the telemetry is the reusable one of the observability package.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.middleware import Middleware
from starlette.types import ASGIApp

from observability import HttpMetrics, RequestTelemetry, RequestTracing, RouteResolver, StandardTracing
from service.errors import ErrorBoundary
from service.faults import FaultInjection, FaultRegistry
from service.metrics_port import MetricsPortMiddleware
from service.security.body_limit import RequestSize
from service.security.client_ip import ClientIP, ClientIPMiddleware
from service.security.limiter import RateLimiter
from service.security.rate_limit import RateLimit
from service.settings import Settings

from .edge import EdgeMiddleware

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

    client IP -> telemetry -> security headers -> body size -> rate limit -> error boundary,
    all in one `EdgeMiddleware`. The client is known before anything records it; the
    telemetry sees every answer, refusals and errors included; every answer leaves
    with the security headers. Policies that would do nothing for these settings are
    left out. Fault injection, when enabled, sits inside the edge, so everything the
    edge records sees an injected fault as a real one.
    """
    layers: list[Middleware] = []
    if settings.metrics_port is not None and metrics_app is not None:
        layers.append(Middleware(MetricsPortMiddleware, metrics_app=metrics_app, metrics_port=settings.metrics_port))
    client_ip = ClientIP(settings.trusted_proxies) if settings.trusted_proxies else None
    if telemetry is not None and isinstance(telemetry.tracing, StandardTracing):
        # The instrumentation's span must see the real client and be current while the
        # telemetry runs: the client IP goes outside it, the rest of the edge inside.
        if client_ip is not None:
            layers.append(Middleware(ClientIPMiddleware, trusted_proxies=settings.trusted_proxies))
            client_ip = None
        layers.append(Middleware(telemetry.tracing.asgi_middleware, **telemetry.tracing.asgi_options))
    request_telemetry = None
    if telemetry is not None:
        request_telemetry = RequestTelemetry(
            metrics=telemetry.metrics,
            tracing=telemetry.tracing,
            access_log=telemetry.access_log,
            route_resolver=resolver,
            exclude_tracing=UNTRACED,
        )
    layers.append(
        Middleware(
            EdgeMiddleware,
            client_ip=client_ip,
            telemetry=request_telemetry,
            request_size=RequestSize(max_bytes=settings.max_request_bytes, events=limiter.events),
            rate_limit=RateLimit(
                limiter, fail_closed=settings.rate_limit_fail_closed, exempt=UNTRACED, route_resolver=resolver
            ),
            boundary=ErrorBoundary(),
        )
    )
    if faults is not None:
        layers.append(Middleware(FaultInjection, registry=faults))
    return layers
