"""Spans over real OTLP/HTTP to a receiver on 127.0.0.1 that decodes the protobuf."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from observability import RouteResolver, TelemetryMiddleware, configure_tracer_provider
from observability.request_tracing import KeepPolicy, TailTracing
from tests.support.net import free_port, wait_for
from tests.support.otlp import Receiver, otlp_receiver

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as server:
        yield server


@pytest.fixture(autouse=True)
def clean_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


async def item(request: Request) -> Response:
    return PlainTextResponse("item")


def instrumented(provider: Any) -> Starlette:
    routes = [Route("/items/{item_id}", item)]
    tracing = TailTracing(provider, KeepPolicy(sample_ratio=1.0), name="test")
    middleware = [Middleware(TelemetryMiddleware, tracing=tracing, route_resolver=RouteResolver(routes))]
    return Starlette(routes=routes, middleware=middleware)


async def test_otlp_http_export_reaches_receiver(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{receiver.server_port}")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
    provider = configure_tracer_provider("ai-diy", "1.0.0")
    transport = httpx.ASGITransport(app=instrumented(provider))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        assert (await http.get("/items/42", headers={"user-agent": "probe/3"})).status_code == 200
    assert provider.force_flush(10_000)
    wait_for(lambda: receiver.requests, timeout=10, what="an OTLP export")
    provider.shutdown()
    [request] = receiver.requests
    assert receiver.paths == ["/v1/traces"]
    [resource_spans] = request.resource_spans
    resource = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}
    assert (resource["service.name"], resource["service.version"], resource["deployment.environment"]) == (
        "ai-diy",
        "1.0.0",
        "test",
    )
    [span] = [span for scope_spans in resource_spans.scope_spans for span in scope_spans.spans]
    assert span.name == "GET /items/{item_id}"
    assert span.kind == ProtoSpan.SPAN_KIND_SERVER
    attributes = {kv.key: kv.value for kv in span.attributes}
    assert attributes["http.route"].string_value == "/items/{item_id}"
    assert attributes["url.path"].string_value == "/items/42"
    assert attributes["http.request.method"].string_value == "GET"
    assert attributes["http.response.status_code"].int_value == 200
    assert attributes["user_agent.original"].string_value == "probe/3"


async def test_unreachable_collector_never_fails_requests(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens
    provider = configure_tracer_provider("ai-diy")
    transport = httpx.ASGITransport(app=instrumented(provider))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        statuses = [(await http.get(f"/items/{n}")).status_code for n in range(200)]
    assert statuses == [200] * 200
    provider.force_flush(10_000)
    provider.shutdown()
    # The export really went to the dead collector and failed, off the request path.
    assert any("Failed to export" in record.getMessage() for record in caplog.records)
