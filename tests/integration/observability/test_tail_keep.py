"""The keep rule, proven on the service as built by create_app, exporting over OTLP/HTTP.

Each test drives the real middleware stack in process and reads what a real
OTLP/HTTP receiver on 127.0.0.1 decoded, the access lines the requests wrote and
the OpenMetrics exemplars /metrics shows.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.app import create_app
from service.settings import load_settings
from tests.support.otlp import Receiver, hex_id, otlp_receiver

pytestmark = [pytest.mark.integration, pytest.mark.anyio]
TRACEPARENT = "00-{trace_id}-00f067aa0ba902b7-{flags}"
EXEMPLAR = re.compile(r'# \{trace_id="([0-9a-f]{32})"\}')


async def boom(request: Request) -> Response:
    raise RuntimeError("kaboom")


async def slow(request: Request) -> Response:
    await asyncio.sleep(0.08)
    return JSONResponse({"slow": True})


async def child(request: Request) -> Response:
    tracer = request.app.state.context.tracer_provider.get_tracer("application")
    with tracer.start_as_current_span("child work"):
        fail = request.query_params.get("fail") == "1"
    if fail:
        raise RuntimeError("child failed")
    return JSONResponse({"child": True})


TEST_ROUTES = [Route("/api/test/boom", boom), Route("/api/test/slow", slow), Route("/api/test/child", child)]


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for name in list(os.environ):
        if name.startswith(("AI_DIY_", "OTEL_")):
            monkeypatch.delenv(name)
    with otlp_receiver() as server:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.endpoint)
        yield server


Serve = Callable[..., Any]


@pytest.fixture
def served(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Serve:
    """An async context: the production app (plus test routes) and an httpx client on it."""
    caplog.set_level("INFO", logger="ai_diy.api")

    class Served:
        def __init__(self, **overrides: Any) -> None:
            settings = load_settings(
                env_file=None,
                data_dir=tmp_path / "data",
                log_dir=tmp_path / "logs",
                models_config=tmp_path / "models.json",
                rate_limit="1000000/minute",
                resource_log_interval=0,
                **overrides,
            )
            self.app: Starlette = create_app(settings, configure_logs=False)
            self.app.router.routes.extend(TEST_ROUTES)

        async def __aenter__(self) -> httpx.AsyncClient:
            self._lifespan = self.app.router.lifespan_context(self.app)
            await self._lifespan.__aenter__()
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            self._client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            return self._client

        async def __aexit__(self, *exc: object) -> None:
            await self._client.aclose()
            self.app.state.context.tracer_provider.force_flush(10_000)
            await self._lifespan.__aexit__(None, None, None)

    return Served


def access_lines(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [r for r in caplog.records if getattr(r, "event", None) == "http_request"]


def server_spans(receiver: Receiver) -> dict[str, Any]:
    return {hex_id(s.trace_id): s for s in receiver.spans() if s.name != "child work"}


async def test_only_failed_and_slow_requests_are_exported_at_zero_ratio(
    receiver: Receiver, served: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    async with served(trace_sample_ratio=0.0, trace_slow_ms=50) as http:
        for _ in range(20):
            assert (await http.get("/api/env")).status_code == 200
        for _ in range(4):
            assert (await http.get("/api/test/boom")).status_code == 500
        for _ in range(3):
            assert (await http.get("/api/test/slow")).status_code == 200
    lines = access_lines(caplog)
    assert len(lines) == 27 and all(len(line.trace_id) == 32 and len(line.span_id) == 16 for line in lines)
    expected = {line.trace_id: line for line in lines if line.path != "/api/env"}
    exported = server_spans(receiver)
    assert set(exported) == set(expected)
    for trace_id, span in exported.items():
        assert hex_id(span.span_id) == expected[trace_id].span_id  # the ids the access line named
        assert span.end_time_unix_nano - span.start_time_unix_nano == pytest.approx(
            expected[trace_id].duration_ms * 1e6, rel=0.01, abs=2e4
        )
    failed = [span for span in exported.values() if span.name == "GET /api/test/boom"]
    assert len(failed) == 4
    for span in failed:
        assert [event.name for event in span.events] == ["exception"]
        assert span.status.code == span.status.STATUS_CODE_ERROR


async def test_ratio_keeps_the_trace_ids_the_ratio_sampler_keeps(
    receiver: Receiver, served: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    count, ratio = 10_000, 0.05
    # The ratio alone: past the per-second cap an in-ratio trace would be left out.
    async with served(trace_sample_ratio=ratio, trace_max_kept_per_second=0) as http:
        for _ in range(count):
            assert (await http.get("/api/env")).status_code == 200
    sampler = TraceIdRatioBased(ratio)
    in_ratio = {
        line.trace_id
        for line in access_lines(caplog)
        if sampler.should_sample(None, int(line.trace_id, 16), "").decision is Decision.RECORD_AND_SAMPLE
    }
    exported = set(server_spans(receiver))
    assert exported == in_ratio
    # And the proportion holds: within five standard deviations of the binomial mean.
    bound = 5 * math.sqrt(count * ratio * (1 - ratio))
    assert abs(len(exported) - count * ratio) <= bound, len(exported)


async def test_child_span_is_never_exported_without_its_server_span(receiver: Receiver, served: Serve) -> None:
    async with served(trace_sample_ratio=0.5) as http:
        for n in range(120):
            await http.get("/api/test/child", params={"fail": "1" if n % 10 == 0 else "0"})
    spans = receiver.spans()
    parents = {hex_id(s.span_id) for s in spans if s.name.startswith("GET ")}
    children = [s for s in spans if s.name == "child work"]
    assert children, "ratio 0.5 keeps some requests from the start, with their children"
    assert len(children) < 120, "requests not kept at the start export no child"
    assert all(hex_id(c.parent_span_id) in parents for c in children)


async def test_caller_sampled_flag_keeps_and_continues_the_trace(
    receiver: Receiver, served: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    sampled, unsampled, failed = (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "5bf92f3577b34da6a3ce929d0e0e4736",
        "6bf92f3577b34da6a3ce929d0e0e4736",
    )
    async with served(trace_sample_ratio=0.0) as http:
        await http.get("/api/env", headers={"traceparent": TRACEPARENT.format(trace_id=sampled, flags="01")})
        await http.get("/api/env", headers={"traceparent": TRACEPARENT.format(trace_id=unsampled, flags="00")})
        await http.get("/api/test/boom", headers={"traceparent": TRACEPARENT.format(trace_id=failed, flags="00")})
    assert [line.trace_id for line in access_lines(caplog)] == [sampled, unsampled, failed]
    exported = server_spans(receiver)
    assert set(exported) == {sampled, failed}
    assert all(hex_id(span.parent_span_id) == "00f067aa0ba902b7" for span in exported.values())


async def test_current_span_context_inside_a_request_carries_its_ids(
    served: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[trace.SpanContext] = []

    async def look(request: Request) -> Response:
        seen.append(trace.get_current_span().get_span_context())
        return JSONResponse({})

    TEST_ROUTES.append(Route("/api/test/look", look))
    try:
        async with served(trace_sample_ratio=0.0) as http:
            await http.get("/api/test/look")
    finally:
        TEST_ROUTES.pop()
    [line] = access_lines(caplog)
    [context] = seen
    assert (format(context.trace_id, "032x"), format(context.span_id, "016x")) == (line.trace_id, line.span_id)
    assert not context.trace_flags.sampled  # not kept at the start: children would not be recorded


async def test_always_on_sampler_exports_every_request(
    receiver: Receiver, served: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_on")
    async with served(trace_sample_ratio=0.0) as http:
        for _ in range(30):
            await http.get("/api/env")
    assert len(server_spans(receiver)) == 30


async def scrape_exemplars(http: httpx.AsyncClient) -> set[str]:
    response = await http.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    return set(EXEMPLAR.findall(response.text))


async def test_every_exemplar_names_an_exported_trace(receiver: Receiver, served: Serve) -> None:
    async with served(trace_sample_ratio=0.1, trace_slow_ms=50) as http:
        for n in range(300):
            await http.get(("/api/env", "/api/config/models", "/api/test/boom", "/nowhere")[n % 4])
        await http.get("/api/test/slow")
        exemplars = await scrape_exemplars(http)
    exported = set(server_spans(receiver))
    assert exemplars, "kept traces become exemplars"
    assert exemplars <= exported


async def test_without_exporter_exemplars_follow_the_keep_rule_to_access_lines(
    receiver: Receiver, served: Serve, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    async with served(trace_sample_ratio=0.0) as http:
        for n in range(40):
            await http.get(("/api/env", "/api/test/boom")[n % 2])
        exemplars = await scrape_exemplars(http)
    failed = {line.trace_id for line in access_lines(caplog) if line.status_code == 500}
    assert exemplars and exemplars <= failed
    assert receiver.spans() == []
