"""Fixtures for the observability unit tests: a fresh registry, an in-memory tracer, tiny apps."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from observability import HttpMetrics, RouteResolver, TelemetryMiddleware
from observability.request_tracing import KeepPolicy, TailTracing
from observability.tracing import new_tracer_provider


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(spans: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = new_tracer_provider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield provider
    provider.shutdown()


class ListHandler(logging.Handler):
    """Keeps the records of one logger for assertions."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_records() -> Iterator[ListHandler]:
    logger = logging.getLogger("test.access")
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield handler
    logger.removeHandler(handler)


AppFactory = Callable[..., Starlette]


@pytest.fixture
def make_app(registry: CollectorRegistry, tracer_provider: TracerProvider, access_records: ListHandler) -> AppFactory:
    """Starlette app with TelemetryMiddleware; keyword arguments override the layers.

    Its tracing keeps every trace unless `tracing` says otherwise.
    """

    def build(routes: Sequence[BaseRoute], *, inner: Sequence[Middleware] = (), **options: Any) -> Starlette:
        settings: dict[str, Any] = {
            "tracing": TailTracing(tracer_provider, KeepPolicy(sample_ratio=1.0), name="test"),
            "access_log": logging.getLogger("test.access"),
            "route_resolver": RouteResolver(routes),
        }
        settings.update(options)
        if "metrics" not in settings:
            settings["metrics"] = HttpMetrics(registry, namespace="ai_diy")
        return Starlette(routes=list(routes), middleware=[Middleware(TelemetryMiddleware, **settings), *inner])

    return build


def client(app: Any) -> httpx.AsyncClient:
    """httpx client driving the app in-process (app exceptions become 500s)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )
