"""/metrics: refreshed health gauges at scrape time, optionally on a port of its own."""
from __future__ import annotations

import logging
import threading

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

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
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Refresh now and then every `interval` seconds on a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._refresh()
        self._thread = threading.Thread(target=self._run, name="health-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the refresh thread; scrapes refresh by themselves again."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._refresh()

    def _refresh(self) -> None:
        try:
            self.health.run()  # a failing check is a result; only a broken checker raises
        except Exception:  # the next round tries again; say why in the log
            log.exception("health refresh failed", extra={"event": "health_refresh_failed", "status": "error"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._thread is None:
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
