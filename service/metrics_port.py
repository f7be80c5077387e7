"""/metrics: refreshed health gauges at scrape time, optionally on a port of its own."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from observability import Periodic
from service.errors import error_response
from service.health import HealthChecker

log = logging.getLogger("ai_diy.metrics")


class RefreshingMetricsApp:
    """/metrics with current `ai_diy_health_status` gauges even when nobody calls /health.

    Once `start()`ed, a background thread runs the health checks every `interval`
    seconds (a few stat() calls), so a scrape only encodes; the gauges are at most
    that old, well under a scrape interval, and /health updates them too. Before
    `start()` (an app served without its lifespan) each scrape runs the checks
    itself, off the event loop.
    """

    def __init__(self, metrics_app: ASGIApp, health: HealthChecker, *, interval: float = 5.0) -> None:
        self.metrics_app = metrics_app
        self.health = health
        # A failing check is a result; only a broken checker raises, and is logged.
        self._refresher = Periodic("health-refresh", interval, health.run, log)

    def start(self) -> None:
        """Refresh now and then every `interval` seconds on a background thread."""
        if self._refresher.running:
            return
        self._refresher.run_once()
        self._refresher.start()

    def stop(self) -> None:
        """Stop the refresh thread; scrapes refresh by themselves again."""
        self._refresher.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._refresher.running:
            await run_in_threadpool(self.health.run)
        await self.metrics_app(scope, receive, send)


class MetricsPortMiddleware:
    """With a separate metrics port, that listener serves only /metrics and the API none.

    Hypercorn binds both addresses for the same app; the local port of the connection
    (`scope["server"]`) tells which listener a request came in on.
    """

    def __init__(self, app: ASGIApp, *, metrics_app: ASGIApp, metrics_port: int) -> None:
        self.app = app
        self.metrics_app = metrics_app
        self.metrics_port = metrics_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
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
