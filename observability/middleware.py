"""TelemetryMiddleware: span, metrics and access log line for each request, in one pass.

Pure ASGI with a single `send` wrapper. Each layer (metrics, tracing, access log) can
be switched off on its own. The span is a thin SERVER span on the OpenTelemetry API
(the W3C `traceparent` of the request is continued), because the generic ASGI
instrumentation costs several times a bare Starlette request.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter, TextMapPropagator
from opentelemetry.trace import SpanKind, Status, StatusCode

from .logging import PreparedRecord
from .metrics import HttpMetrics
from .routes import UNMATCHED, RouteResolver, method_label

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ACCESS_LOGGER = "ai_diy.api"


class _HeaderGetter(Getter[dict[str, str]]):
    def get(self, carrier: dict[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        return None if value is None else [value]

    def keys(self, carrier: dict[str, str]) -> list[str]:
        return list(carrier)


_GETTER = _HeaderGetter()


class TelemetryMiddleware:
    """Records one span, the HTTP metrics and one access log line per HTTP request."""

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        metrics: HttpMetrics | None = None,
        tracer: trace.Tracer | None = None,
        access_log: bool | logging.Logger = True,
        route_resolver: Callable[[Scope], str] | None = None,
        exclude_tracing: Iterable[str] = ("/health", "/metrics"),
        propagator: TextMapPropagator | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer
        if access_log is True:
            self.access_logger: logging.Logger | None = logging.getLogger(ACCESS_LOGGER)
        else:
            self.access_logger = access_log or None
        self.resolve_route = route_resolver or RouteResolver()
        self.exclude_tracing = frozenset(exclude_tracing)
        self.propagator = propagator
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        clock = self.clock
        start = clock()
        method = method_label(scope["method"])
        metrics = self.metrics
        # Only what the layers need is decoded from the raw header list.
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name in _WANTED:
                headers[name.decode("latin-1")] = value.decode("latin-1")

        span = None
        token = None
        if self.tracer is not None and scope["path"] not in self.exclude_tracing:
            propagator = self.propagator or propagate.get_global_textmap()
            parent = propagator.extract(headers, getter=_GETTER) if "traceparent" in headers else None
            # Attributes at creation (one attribute-map build, and samplers see them, as
            # the semantic conventions ask), the rest in one call at the end.
            span = self.tracer.start_span(
                method if method != "_OTHER" else "HTTP", parent, SpanKind.SERVER,
                attributes=_start_attributes(scope, headers),
            )
            token = otel_context.attach(trace.set_span_in_context(span, parent))

        state = _State()
        declared = headers.get("content-length")
        request_bytes = 0
        if declared is not None and declared.isdigit():
            request_bytes = int(declared)
            wrapped_receive = receive
        elif "transfer-encoding" not in headers and scope.get("http_version") in ("1.0", "1.1"):
            # HTTP/1 without Content-Length or chunked encoding: there is no body to count.
            wrapped_receive = receive
        else:
            async def wrapped_receive() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    state.request_bytes += len(message.get("body", b""))
                return message

        async def wrapped_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                state.status = message["status"]
                state.started = True
            elif kind == "http.response.body":
                state.response_bytes += len(message.get("body", b""))
                if not message.get("more_body", False):
                    await send(message)
                    # The request ends with the last body byte; background tasks
                    # that run afterwards are not part of its duration.
                    state.end = clock()
                    state.finished = True
                    return
            await send(message)

        active = metrics.active_gauge(method) if metrics is not None else None
        if active is not None:
            active.inc()
        error: BaseException | None = None
        try:
            await self.app(scope, wrapped_receive, wrapped_send)
        except BaseException as exc:
            error = exc
            raise
        finally:
            end = state.end if state.finished else clock()
            duration = end - start
            status = state.status if state.started else 500
            route = self.resolve_route(scope)
            trace_id = span_id = None
            if span is not None:
                context = span.get_span_context()
                if context.is_valid:
                    trace_id = format(context.trace_id, "032x")
                    span_id = format(context.span_id, "016x")
                    sampled = context.trace_flags.sampled
                else:
                    sampled = False
            else:
                sampled = False
            if active is not None:
                active.dec()
            if metrics is not None:
                metrics.observe(
                    method,
                    route,
                    status,
                    duration,
                    request_bytes or state.request_bytes,
                    state.response_bytes,
                    trace_id if sampled else None,
                )
                if state.started and not state.finished:
                    metrics.response_aborted(route)
            if span is not None:
                if span.is_recording():
                    _end_attributes(span, scope, method, route, status, error)
                span.end()
            if token is not None:
                otel_context.detach(token)
            logger = self.access_logger
            if logger is not None:
                level = logging.ERROR if status >= 500 else logging.INFO
                if logger.isEnabledFor(level):
                    client = scope.get("client")
                    path = scope["path"]
                    # A ready record through Logger.handle: same handlers and fields as
                    # logger.log(), without its caller lookup (see PreparedRecord).
                    logger.handle(
                        PreparedRecord(
                            logger.name,
                            level,
                            f"{scope['method']} {path} {status}",
                            {
                                "event": "http_request",
                                "status": "success" if status < 400 else "error",
                                "duration_ms": round(duration * 1000.0, 3),
                                "method": scope["method"],
                                "path": path,
                                "route": route,
                                "status_code": status,
                                "details": {
                                    "client_ip": client[0] if client else None,
                                    "user_agent": headers.get("user-agent"),
                                },
                                "trace_id": trace_id,
                                "span_id": span_id,
                            },
                        )
                    )


_WANTED = frozenset(
    {b"traceparent", b"tracestate", b"baggage", b"user-agent", b"content-length", b"transfer-encoding", b"host"}
)


class _State:
    __slots__ = ("status", "started", "finished", "end", "request_bytes", "response_bytes")

    def __init__(self) -> None:
        self.status = 500
        self.started = False
        self.finished = False
        self.end = 0.0
        self.request_bytes = 0
        self.response_bytes = 0


def _start_attributes(scope: Scope, headers: dict[str, str]) -> dict[str, Any]:
    server = scope.get("server")
    attributes: dict[str, Any] = {
        "http.request.method": scope["method"],
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
        "network.protocol.version": scope.get("http_version", "1.1"),
    }
    host = headers.get("host")
    if host:
        name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        attributes["server.address"] = name if port.isdigit() else host
        if port.isdigit():
            attributes["server.port"] = int(port)
    elif server:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    agent = headers.get("user-agent")
    if agent:
        attributes["user_agent.original"] = agent
    return attributes


def _end_attributes(
    span: trace.Span, scope: Scope, method: str, route: str, status: int, error: BaseException | None
) -> None:
    attributes: dict[str, Any] = {}
    # Read now: a middleware inside this one may have put the real client there.
    client = scope.get("client")
    if client:
        attributes["client.address"] = client[0]
    if route != UNMATCHED:
        attributes["http.route"] = route
        span.update_name(f"{method if method != '_OTHER' else 'HTTP'} {route}")
    attributes["http.response.status_code"] = status
    if error is not None:
        span.record_exception(error)
        attributes["error.type"] = type(error).__qualname__
    elif status >= 500:
        attributes["error.type"] = str(status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.set_attributes(attributes)
