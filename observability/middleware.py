"""TelemetryMiddleware: metrics, the trace keep decision and the access line of each request.

Pure ASGI. Each request gets one `Recorder`, in the style of Starlette's gzip
responder: its `receive` and `send` watch the request pass, `finish(error)` records
it. Every request is measured and gets its access line (with its trace id);
whether its trace is exported is decided in `finish`, by the keep rule
(observability.request_tracing) or, with an explicit OTEL_TRACES_SAMPLER, by the sampler
(observability.request_tracing). Only kept traces become latency exemplars, so every
exemplar names a trace the tracing backend received (or, without an exporter, one
the same rule would have kept).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from .accesslog import AccessLog
from .metrics import HttpMetrics, scheme_label
from .outcome import RequestOutcome, error_type
from .request_tracing import RequestTrace, RequestTracing
from .routes import RouteResolver, method_label

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
# An inner error boundary that turns an exception into a 500 puts the exception
# here, so the kept span still records it.
EXCEPTION_SCOPE_KEY = "observability.exception"
# Status of a request whose client went away before it was answered (nginx's 499).
CLIENT_CLOSED_REQUEST = 499
_WANTED = frozenset(
    {b"traceparent", b"tracestate", b"baggage", b"user-agent", b"content-length", b"transfer-encoding", b"host"}
)


class TelemetryMiddleware:
    """Records the HTTP metrics, the trace and one access log line of every HTTP request.

    Each part can be left out: `metrics=None`, `tracing=None`, `access_log=None`.
    Paths in `exclude_tracing` (probes, scrapes) get metrics and access lines but no trace.
    A service that fuses its own edge middleware uses `RequestTelemetry` directly.
    """

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        metrics: HttpMetrics | None = None,
        tracing: RequestTracing | None = None,
        access_log: logging.Logger | None = None,
        route_resolver: RouteResolver | None = None,
        exclude_tracing: Iterable[str] = ("/health", "/metrics"),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self.telemetry = RequestTelemetry(
            metrics=metrics,
            tracing=tracing,
            access_log=access_log,
            route_resolver=route_resolver,
            exclude_tracing=exclude_tracing,
            clock=clock,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorder = self.telemetry.start(scope, receive, send)
        try:
            await self.app(scope, recorder.receive if recorder.counts_body else receive, recorder.send)
        except BaseException as exc:
            recorder.finish(exc)
            raise
        recorder.finish(None)


class RequestTelemetry:
    """What is recorded of each HTTP request (metrics, trace, access line): `start` gives its `Recorder`."""

    def __init__(
        self,
        *,
        metrics: HttpMetrics | None = None,
        tracing: RequestTracing | None = None,
        access_log: logging.Logger | None = None,
        route_resolver: RouteResolver | None = None,
        exclude_tracing: Iterable[str] = ("/health", "/metrics"),
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.metrics = metrics
        self.tracing = tracing
        self.access_log = AccessLog(access_log) if access_log is not None else None
        self.resolve_route = route_resolver or RouteResolver()
        self.exclude_tracing = frozenset(exclude_tracing)
        self.clock = clock

    def start(self, scope: Scope, receive: Receive, send: Send) -> Recorder:
        """The recorder of one HTTP request, which starts now."""
        return Recorder(self, scope, receive, send)


class Recorder:
    """One request on its way through: what it received and sent, and its trace.

    As a middleware's own wrappers: `receive` (when `counts_body`) and `send`. A caller
    with a `send` wrapper of its own calls `sending(message)` before passing each
    message on and, when that says it was the last, `sent()` right after. Then
    `finish(error)` once the app returned or raised.
    """

    __slots__ = (
        "active",
        "counts_body",
        "downstream",
        "end",
        "finished",
        "headers",
        "method",
        "request_bytes",
        "response_bytes",
        "scheme",
        "scope",
        "start",
        "started",
        "status",
        "telemetry",
        "trace",
        "upstream",
    )

    def __init__(self, telemetry: RequestTelemetry, scope: Scope, receive: Receive, send: Send) -> None:
        self.telemetry = telemetry
        self.scope = scope
        self.upstream = receive
        self.downstream = send
        # One clock read: the wall-clock times a kept span needs are derived at the end.
        self.start = telemetry.clock()
        self.method = method = method_label(scope["method"])
        # Only what the parts need is decoded from the raw header list (a loop: a
        # comprehension costs a frame of its own per request).
        headers: dict[str, str] = {}
        self.headers = headers
        for name, value in scope["headers"]:
            if name in _WANTED:
                headers[name.decode("latin-1")] = value.decode("latin-1")
        self.status = 500
        self.started = self.finished = False
        self.end = 0.0
        self.response_bytes = 0
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and "transfer-encoding" not in headers:
            self.request_bytes = int(declared)
            self.counts_body = False
        else:
            self.request_bytes = 0
            # HTTP/1 without Content-Length or chunked encoding has no body to count.
            self.counts_body = "transfer-encoding" in headers or scope.get("http_version") not in ("1.0", "1.1")
        tracing = telemetry.tracing
        self.trace: RequestTrace | None = None
        if tracing is not None and scope["path"] not in telemetry.exclude_tracing:
            self.trace = tracing.start(scope, headers, method)
        self.scheme = scheme = scheme_label(scope.get("scheme", "http"))
        metrics = telemetry.metrics
        self.active = metrics.active_gauge(method, scheme) if metrics is not None else None
        if self.active is not None:
            self.active.inc()

    async def receive(self) -> Message:
        """The app's `receive`, counting body bytes whose length was not declared."""
        message: Message = await self.upstream()
        if message["type"] == "http.request":
            self.request_bytes += len(message.get("body", b""))
        return message

    async def send(self, message: Message) -> None:
        """The app's `send`: notes the status, the body size and when the last byte left."""
        if self.sending(message):
            await self.downstream(message)
            self.sent()
        else:
            await self.downstream(message)

    def sending(self, message: Message) -> bool:
        """Note a message about to be sent: its status or body size; True for the response's last one."""
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            self.started = True
        elif kind == "http.response.body":
            self.response_bytes += len(message.get("body", b""))
            if not message.get("more_body", False):
                trace = self.trace
                if trace is not None and trace.completes_early:
                    scope = self.scope
                    error = scope.get(EXCEPTION_SCOPE_KEY)
                    route = self.telemetry.resolve_route(scope)
                    trace.complete(scope, RequestOutcome(self.method, route, self.status, error, True, 0, 0))
                return True
        return False

    def sent(self) -> None:
        """The last body message has left."""
        # The request ends with the last body byte; background tasks that
        # run afterwards are not part of its duration.
        self.end = self.telemetry.clock()
        self.finished = True

    def finish(self, error: BaseException | None) -> None:
        """Record the request: metrics, the trace's fate, the access line."""
        telemetry = self.telemetry
        scope = self.scope
        end = self.end if self.finished else telemetry.clock()
        duration = end - self.start
        status = self.status if self.started else 500
        route = telemetry.resolve_route(scope)
        aborted = self.started and not self.finished
        # An inner error boundary answers a 500 for the exception and leaves it in the scope.
        error = error or scope.get(EXCEPTION_SCOPE_KEY)
        trace = self.trace
        trace_hex = span_hex = exemplar = None
        if trace is not None:
            tracing = telemetry.tracing
            assert tracing is not None  # noqa: S101  # narrows the type: a trace exists only with tracing on
            policy = tracing.policy
            if policy is None:
                kept = trace.kept_at_start
            else:
                failed = error is not None or aborted or status == CLIENT_CLOSED_REQUEST
                kept = policy.keeps(trace.kept_at_start, status, failed, duration)
            if kept:
                # The span's wall-clock times, read only for a kept trace.
                end_ns = time.time_ns() - int((telemetry.clock() - end) * 1e9)
                outcome = RequestOutcome(self.method, route, status, error, True, end_ns - int(duration * 1e9), end_ns)
                trace.finish(scope, outcome)
            elif trace.completes_early:
                trace.finish(scope, RequestOutcome(self.method, route, status, error, False, 0, 0))
            else:
                trace.discard()
            # `to_bytes().hex()`: half the cost of `format(..., "032x")`, the same digits.
            trace_hex = trace.trace_id.to_bytes(16, "big").hex()
            span_hex = trace.span_id.to_bytes(8, "big").hex()
            if kept:
                exemplar = trace_hex
        if self.active is not None:
            self.active.dec()
        metrics = telemetry.metrics
        if metrics is not None:
            metrics.observe(
                self.method,
                route,
                status,
                duration,
                self.request_bytes,
                self.response_bytes,
                exemplar,
                scheme=self.scheme,
                error_type=error_type(error, status),
            )
            if aborted:
                metrics.response_aborted(route)
        access_log = telemetry.access_log
        if access_log is not None:
            client = scope.get("client")
            access_log.write(
                scope["method"],
                scope["path"],
                status,
                route,
                duration,
                client[0] if client else None,
                self.headers.get("user-agent"),
                trace_hex,
                span_hex,
            )
