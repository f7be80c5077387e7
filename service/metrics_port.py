"""/metrics: refreshed health gauges at scrape time, optionally on a port of its own."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import error_response
from service.health import HealthChecker


class RefreshingMetricsApp:
    """Runs the health checks before each scrape, so `ai_diy_health_status` is current
    even when nobody calls /health (the checks are a few stat() calls, off the loop)."""

    def __init__(self, metrics_app: ASGIApp, health: HealthChecker) -> None:
        self.metrics_app = metrics_app
        self.health = health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await run_in_threadpool(self.health.run)
        await self.metrics_app(scope, receive, send)


class MetricsPortMiddleware:
    """With a separate metrics port, that listener serves only /metrics and the API none.

    Hypercorn binds both addresses for the same app; the local port of the connection
    (`scope["server"]`) tells which listener a request came in on.
    """

    def __init__(self, app: ASGIApp, *, metrics_app: ASGIApp, metrics_port: int | None) -> None:
        self.app = app
        self.metrics_app = metrics_app
        self.metrics_port = metrics_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.metrics_port is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        server = scope.get("server")
        on_metrics_port = server is not None and server[1] == self.metrics_port
        if not on_metrics_port:
            await self.app(scope, receive, send)
        elif scope["path"] == "/metrics":
            await self.metrics_app(scope, receive, send)
        else:
            await error_response(404, "not_found", "the metrics listener serves only /metrics")(scope, receive, send)
