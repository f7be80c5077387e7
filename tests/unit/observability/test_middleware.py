"""TelemetryMiddleware: metrics, span and access line of one request."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability import HttpMetrics, RouteResolver, TelemetryMiddleware
from observability.request_tracing import KeepPolicy, TailTracing

from .conftest import AppFactory, ListHandler, client

pytestmark = pytest.mark.anyio
DURATION = "http_server_request_duration_seconds"
# Labels of a request that did not fail, over plain HTTP.
OK = {"url_scheme": "http", "error_type": ""}


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def boom(request: Request) -> Response:
    raise RuntimeError("kaboom")


async def echo(request: Request) -> Response:
    return PlainTextResponse(await request.body())


def series_count(registry: CollectorRegistry) -> int:
    return sum(len(metric.samples) for metric in registry.collect())


async def test_telemetry_duration_labels_are_route_templates(make_app: AppFactory, registry: CollectorRegistry) -> None:
    routes = [Route("/items/{item_id}", hello), Mount("/api", routes=[Route("/appdocs/{path:path}", hello)])]
    async with client(make_app(routes)) as http:
        await http.get("/items/42")
        await http.get("/api/appdocs/a/b.md")
    labels = {"http_request_method": "GET", "http_response_status_code": "200", **OK}
    assert registry.get_sample_value(f"{DURATION}_count", {**labels, "http_route": "/items/{item_id}"}) == 1
    assert registry.get_sample_value(f"{DURATION}_count", {**labels, "http_route": "/api/appdocs/{path:path}"}) == 1
    assert registry.get_sample_value(f"{DURATION}_count", {**labels, "http_route": "/items/42"}) is None


async def test_telemetry_duration_buckets_match_metrics_reference(
    make_app: AppFactory, registry: CollectorRegistry
) -> None:
    async with client(make_app([Route("/", hello)])) as http:
        await http.get("/")
    bounds = [
        sample.labels["le"]
        for metric in registry.collect()
        if metric.name == DURATION
        for sample in metric.samples
        if sample.name.endswith("_bucket")
    ]
    assert bounds == ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.0", "5.0", "10.0", "+Inf"]


async def test_telemetry_distinct_unknown_paths_add_no_series(
    make_app: AppFactory, registry: CollectorRegistry
) -> None:
    async with client(make_app([Route("/", hello)])) as http:
        await http.get("/warm-up-unknown")
        before = series_count(registry)
        for number in range(10_000):
            await http.get(f"/unknown/{number}")
    assert series_count(registry) == before
    labels = {"http_request_method": "GET", "http_route": "_unmatched", "http_response_status_code": "404", **OK}
    assert registry.get_sample_value(f"{DURATION}_count", labels) == 10_001


async def test_telemetry_unknown_method_collapses_to_other(make_app: AppFactory, registry: CollectorRegistry) -> None:
    async with client(make_app([Route("/", hello)])) as http:
        await http.request("BREW", "/")
    labels = {"http_request_method": "_OTHER", "http_route": "/", "http_response_status_code": "405", **OK}
    assert registry.get_sample_value(f"{DURATION}_count", labels) == 1


async def test_telemetry_duration_excludes_background_tasks(make_app: AppFactory, registry: CollectorRegistry) -> None:
    now = [0.0]

    def advance() -> None:
        now[0] += 100.0  # a background task that takes 100 "seconds"

    async def with_task(request: Request) -> Response:
        now[0] += 0.2  # the response itself takes 0.2 "seconds"
        return PlainTextResponse("ok", background=BackgroundTask(advance))

    async with client(make_app([Route("/", with_task)], clock=lambda: now[0])) as http:
        await http.get("/")
    labels = {"http_request_method": "GET", "http_route": "/", "http_response_status_code": "200", **OK}
    assert registry.get_sample_value(f"{DURATION}_sum", labels) == pytest.approx(0.2)
    assert now[0] == pytest.approx(100.2)


async def test_telemetry_kept_span_lasts_the_measured_duration(
    make_app: AppFactory, spans: InMemorySpanExporter
) -> None:
    now = [0.0]

    def advance() -> None:
        now[0] += 100.0  # after the last byte: neither the duration nor the span

    async def with_task(request: Request) -> Response:
        now[0] += 0.25
        return PlainTextResponse("ok", background=BackgroundTask(advance))

    async with client(make_app([Route("/", with_task)], clock=lambda: now[0])) as http:
        await http.get("/")
    [span] = spans.get_finished_spans()
    assert span.start_time is not None and span.end_time is not None
    assert span.end_time - span.start_time == pytest.approx(250_000_000, abs=2)
    # Wall-clock times are derived at the end from the monotonic clock: the span ended
    # when its last byte left, 100 "seconds" before the background task was done.
    assert span.end_time <= time.time_ns() - 99_000_000_000


async def test_telemetry_active_requests_counts_in_flight(make_app: AppFactory, registry: CollectorRegistry) -> None:
    entered, release = anyio.Event(), anyio.Event()

    async def slow(request: Request) -> Response:
        entered.set()
        await release.wait()
        return PlainTextResponse("done")

    active = {"http_request_method": "GET", "url_scheme": "http"}
    async with client(make_app([Route("/", slow)])) as http, anyio.create_task_group() as tasks:
        tasks.start_soon(http.get, "/")
        with anyio.fail_after(5):
            await entered.wait()
        assert registry.get_sample_value("http_server_active_requests", active) == 1
        release.set()
    assert registry.get_sample_value("http_server_active_requests", active) == 0


async def test_telemetry_records_body_sizes(make_app: AppFactory, registry: CollectorRegistry) -> None:
    async with client(make_app([Route("/echo", echo, methods=["POST"])])) as http:
        await http.post("/echo", content=b"x" * 1234)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted from the received body
            yield b"a" * 10
            yield b"b" * 20

        await http.post("/echo", content=chunks())
    request = {"http_request_method": "POST", "http_route": "/echo"}
    response = {**request, "http_response_status_code": "200"}
    assert registry.get_sample_value("http_server_request_body_size_bytes_sum", request) == 1264
    assert registry.get_sample_value("http_server_response_body_size_bytes_sum", response) == 1264


async def test_telemetry_request_size_only_for_requests_with_a_body(
    make_app: AppFactory, registry: CollectorRegistry
) -> None:
    async with client(make_app([Route("/hello", hello), Route("/echo", echo, methods=["POST"])])) as http:
        await http.get("/hello")
        await http.post("/echo", content=b"")
        await http.post("/echo", content=b"xyz")
    assert (
        registry.get_sample_value(
            "http_server_request_body_size_bytes_count", {"http_request_method": "GET", "http_route": "/hello"}
        )
        is None
    )
    assert (
        registry.get_sample_value(
            "http_server_request_body_size_bytes_count", {"http_request_method": "POST", "http_route": "/echo"}
        )
        == 1
    )
    assert (
        registry.get_sample_value(
            "http_server_request_duration_seconds_count",
            {"http_request_method": "GET", "http_route": "/hello", "http_response_status_code": "200", **OK},
        )
        == 1
    )


async def test_telemetry_counts_response_aborted_after_headers(
    make_app: AppFactory, registry: CollectorRegistry
) -> None:
    async def broken_stream(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b"first chunk"
            raise ConnectionResetError("upstream went away")

        return StreamingResponse(body())

    async with client(make_app([Route("/stream", broken_stream), Route("/", hello)])) as http:
        broken = await http.get("/stream")  # the in-process transport keeps what arrived
        await http.get("/")
    assert broken.content == b"first chunk"
    assert registry.get_sample_value("ai_diy_http_responses_aborted_total", {"http_route": "/stream"}) == 1
    assert registry.get_sample_value("ai_diy_http_responses_aborted_total", {"http_route": "/"}) is None


async def test_telemetry_span_shape(make_app: AppFactory, spans: InMemorySpanExporter) -> None:
    async with client(make_app([Route("/items/{item_id}", hello), Route("/boom", boom)])) as http:
        await http.get("/items/7", headers={"user-agent": "probe/1.0"})
        await http.get("/boom")
        await http.get("/nowhere")
    ok, failed, unmatched = spans.get_finished_spans()
    assert ok.name == "GET /items/{item_id}"
    assert ok.kind is SpanKind.SERVER
    assert dict(ok.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/items/7",
        "url.scheme": "http",
        "network.protocol.version": "1.1",
        "server.address": "testserver",
        "client.address": "127.0.0.1",
        "client.port": 123,
        "user_agent.original": "probe/1.0",
        "http.route": "/items/{item_id}",
        "http.response.status_code": 200,
    }
    assert ok.status.status_code is StatusCode.UNSET
    assert failed.name == "GET /boom"
    assert failed.status.status_code is StatusCode.ERROR
    assert (failed.attributes or {})["http.response.status_code"] == 500
    [event] = failed.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"] == "RuntimeError"
    assert (event.attributes or {})["exception.message"] == "kaboom"
    assert unmatched.name == "GET"
    assert "http.route" not in (unmatched.attributes or {})


async def test_telemetry_continues_incoming_traceparent(make_app: AppFactory, spans: InMemorySpanExporter) -> None:
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    async with client(make_app([Route("/", hello)])) as http:
        await http.get("/", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    [span] = spans.get_finished_spans()
    assert format(span.context.trace_id, "032x") == trace_id
    assert span.parent is not None and format(span.parent.span_id, "016x") == parent_id


async def test_telemetry_excluded_paths_get_no_span(
    make_app: AppFactory, spans: InMemorySpanExporter, registry: CollectorRegistry
) -> None:
    async with client(make_app([Route("/health", hello), Route("/", hello)])) as http:
        await http.get("/health")
        await http.get("/")
    assert [span.name for span in spans.get_finished_spans()] == ["GET /"]
    labels = {"http_request_method": "GET", "http_route": "/health", "http_response_status_code": "200", **OK}
    assert registry.get_sample_value(f"{DURATION}_count", labels) == 1


async def test_telemetry_layers_switch_off_independently(
    make_app: AppFactory, registry: CollectorRegistry, spans: InMemorySpanExporter, access_records: ListHandler
) -> None:
    async with client(make_app([Route("/", hello)], metrics=None, tracing=None, access_log=None)) as http:
        response = await http.get("/")
    assert response.text == "hello"
    assert series_count(registry) == 0
    assert spans.get_finished_spans() == ()
    assert access_records.records == []
    async with client(make_app([Route("/", hello)], metrics=None, access_log=None)) as http:
        await http.get("/")
    assert len(spans.get_finished_spans()) == 1 and series_count(registry) == 0


async def test_telemetry_access_line_fields(make_app: AppFactory, access_records: ListHandler) -> None:
    class RewriteClient:
        """An inner middleware that rewrites the client, as a proxy-header middleware does."""

        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            scope["client"] = ("203.0.113.9", 4000)
            await self.app(scope, receive, send)

    app = make_app([Route("/items/{item_id}", hello), Route("/boom", boom)], inner=[Middleware(RewriteClient)])
    async with client(app) as http:
        await http.get("/items/1", headers={"user-agent": "probe/2.0"})
        await http.get("/boom")
        await http.get("/missing")
    ok, failed, missing = access_records.records
    assert ok.levelname == "INFO" and ok.getMessage() == "GET /items/1 200"
    fields = {key: getattr(ok, key) for key in ("event", "status", "method", "path", "route", "status_code", "details")}
    assert fields == {
        "event": "http_request",
        "status": "success",
        "method": "GET",
        "path": "/items/1",
        "route": "/items/{item_id}",
        "status_code": 200,
        "details": {"client_ip": "203.0.113.9", "user_agent": "probe/2.0"},
    }
    assert isinstance(ok.duration_ms, float) and ok.duration_ms >= 0  # type: ignore[attr-defined]  # fields logged with extra=
    assert len(ok.trace_id) == 32 and len(ok.span_id) == 16  # type: ignore[attr-defined]  # fields logged with extra=
    assert failed.levelname == "ERROR" and failed.status == "error" and failed.status_code == 500  # type: ignore[attr-defined]  # fields logged with extra=
    assert missing.levelname == "INFO" and missing.status == "error" and missing.route == "_unmatched"  # type: ignore[attr-defined]  # fields logged with extra=


async def test_telemetry_correlates_span_log_and_exemplar(
    make_app: AppFactory, registry: CollectorRegistry, spans: InMemorySpanExporter, access_records: ListHandler
) -> None:
    async with client(make_app([Route("/", hello)])) as http:
        await http.get("/")
    [span] = spans.get_finished_spans()
    trace_id = format(span.context.trace_id, "032x")
    [line] = access_records.records
    exemplars = [
        sample.exemplar
        for metric in registry.collect()
        if metric.name == DURATION
        for sample in metric.samples
        if sample.exemplar is not None
    ]
    assert line.trace_id == trace_id  # type: ignore[attr-defined]  # fields logged with extra=
    assert [exemplar.labels for exemplar in exemplars] == [{"trace_id": trace_id}]


async def test_telemetry_passes_non_http_scopes_through(registry: CollectorRegistry) -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    middleware = TelemetryMiddleware(inner, metrics=HttpMetrics(registry, namespace="ai_diy"))

    async def not_for_this_scope(*args: object) -> Message:
        raise AssertionError("a non-HTTP scope is passed through untouched")

    for kind in ("lifespan", "websocket"):
        await middleware({"type": kind}, not_for_this_scope, not_for_this_scope)
    assert seen == ["lifespan", "websocket"]
    assert series_count(registry) == 0


async def test_telemetry_keeps_the_trace_of_a_response_the_client_never_got(
    registry: CollectorRegistry, tracer_provider: Any, spans: InMemorySpanExporter
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first chunk"
        raise ConnectionResetError("client gone")

    async def stream(request: Request) -> Response:
        return StreamingResponse(chunks())

    routes = [Route("/stream", stream), Route("/", hello)]
    tracing = TailTracing(tracer_provider, KeepPolicy(sample_ratio=0.0), name="test")
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                TelemetryMiddleware,
                metrics=HttpMetrics(registry, namespace="ai_diy"),
                tracing=tracing,
                route_resolver=RouteResolver(routes),
            )
        ],
    )
    async with client(app) as http:
        await http.get("/stream")
        await http.get("/")
    assert [span.name for span in spans.get_finished_spans()] == ["GET /stream"]


async def test_telemetry_labels_a_request_refused_before_routing_with_its_route(
    make_app: AppFactory, registry: CollectorRegistry
) -> None:
    class Refuse:
        """An inner middleware that answers before the router runs, as a rate limit does."""

        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await PlainTextResponse("slow down", status_code=429)(scope, receive, send)

    app = make_app([Route("/items/{item_id}", hello)], inner=[Middleware(Refuse)])
    async with client(app) as http:
        await http.get("/items/3")
        await http.get("/nowhere")
    labels = {"http_request_method": "GET", "http_response_status_code": "429", **OK}
    assert registry.get_sample_value(f"{DURATION}_count", {**labels, "http_route": "/items/{item_id}"}) == 1
    assert registry.get_sample_value(f"{DURATION}_count", {**labels, "http_route": "_unmatched"}) == 1


async def test_telemetry_span_of_an_unknown_method_names_the_original(
    make_app: AppFactory, spans: InMemorySpanExporter
) -> None:
    async with client(make_app([Route("/", hello)])) as http:
        await http.request("BREW", "/?token=abc&mail=someone@example.com")
    [span] = spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert span.name == "HTTP /"
    assert attributes["http.request.method"] == "_OTHER"
    assert attributes["http.request.method_original"] == "BREW"
    assert attributes["url.query"] == "token=[REDACTED]&mail=[EMAIL]"


async def test_telemetry_failed_requests_carry_error_type_and_every_request_its_scheme(
    make_app: AppFactory, registry: CollectorRegistry
) -> None:
    async def unavailable(request: Request) -> Response:
        return PlainTextResponse("down", status_code=503)

    app = make_app([Route("/", hello), Route("/boom", boom), Route("/down", unavailable)])
    async with client(app) as http:
        await http.get("/boom")
        await http.get("/down")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as https:
        await https.get("/")

    def count(route: str, status: str, scheme: str, error_type: str) -> float | None:
        labels = {"http_request_method": "GET", "http_route": route, "http_response_status_code": status}
        return registry.get_sample_value(
            f"{DURATION}_count", {**labels, "url_scheme": scheme, "error_type": error_type}
        )

    assert count("/boom", "500", "http", "RuntimeError") == 1
    assert count("/down", "503", "http", "503") == 1
    assert count("/", "200", "https", "") == 1
    active = {"http_request_method": "GET", "url_scheme": "https"}
    assert registry.get_sample_value("http_server_active_requests", active) == 0
