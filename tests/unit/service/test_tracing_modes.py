"""The two tracing modes of create_app give the same server span for the same request.

Default: the keep rule, the span built at the end by the telemetry. Standard
(OTEL_TRACES_SAMPLER set): the span of opentelemetry-instrumentation-asgi's
OpenTelemetryMiddleware, completed by the telemetry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette

from observability import StandardTracing

pytestmark = pytest.mark.anyio


async def _server_span(app: Starlette, path: str) -> ReadableSpan:
    spans = InMemorySpanExporter()
    app.state.context.tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
            response = await http.get(path, headers={"user-agent": "probe/3.1"})
    assert response.status_code in (200, 404)
    [span] = spans.get_finished_spans()
    return span


@pytest.fixture
def stable_conventions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The instrumentation reads its conventions switch once per process: read it afresh here."""
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    monkeypatch.setattr(_OpenTelemetrySemanticConventionStability, "_initialized", False)


@pytest.mark.parametrize("path", ["/api/env?token=s3cret&page=2", "/api/nowhere"])
@pytest.mark.usefixtures("stable_conventions")
async def test_tracing_modes_give_the_same_server_span(
    make_app: Callable[..., Starlette], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    default = await _server_span(make_app(trace_sample_ratio=1.0), path)
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    standard = await _server_span(make_app(), path)
    assert standard.instrumentation_scope is not None
    assert standard.instrumentation_scope.name == "opentelemetry.instrumentation.asgi"
    attributes: dict[str, Any] = dict(default.attributes or {})
    assert dict(standard.attributes or {}) == attributes
    assert (standard.name, standard.kind) == (default.name, default.kind)
    assert attributes["client.address"] == "203.0.113.9" and attributes["server.port"] == 8000
    assert "s3cret" not in str(attributes.get("url.query", ""))


def test_tracing_standard_mode_excludes_probes_and_inner_spans() -> None:
    tracing = StandardTracing(TracerProvider(), excluded_paths=("/health", "/metrics"))
    assert tracing.asgi_options["exclude_spans"] == ["receive", "send"]
    assert tracing.asgi_options["excluded_urls"] == "^/health$,^/metrics$"
