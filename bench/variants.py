"""The apps being compared, each built the same way in process and under hypercorn.

`bare` is a Starlette app with the service's own routes, state and error handler and
no middleware; every other variant is the bare app plus one layer, except `full`,
which is the service exactly as `create_app` builds it. Tracing variants export
through a BatchSpanProcessor whose exporter encodes each batch to OTLP protobuf and
discards the bytes: the work of a real export minus the network.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from observability.tracing import new_tracer_provider
from service.app import LOG_EXTRA_FILES, LOG_FILE_PREFIX, NAMESPACE, create_app
from service.errors import http_exception_handler
from service.settings import Settings, load_settings

from .workspace import Workspace

CORE = ("bare", "full", "full_always_on", "metrics", "tracing", "access_log", "security")
EXTRAS = ("starlette_exporter", "instrumentator", "otel_asgi", "peer_stack")
EXTRA_PACKAGES = {
    "starlette_exporter": "starlette-exporter>=0.23",
    "instrumentator": "prometheus-fastapi-instrumentator>=7.1",
    "otel_asgi": "opentelemetry-instrumentation-asgi>=0.51b0",
    "peer_stack": "starlette-exporter>=0.23 opentelemetry-instrumentation-asgi>=0.51b0",
}
TRACE_EXCLUDED = ("/health", "/metrics")
SAMPLER_ENV = "OTEL_TRACES_SAMPLER"


class EncodingExporter(SpanExporter):
    """Encodes spans to OTLP protobuf like the OTLP exporters, then drops the bytes."""

    def __init__(self) -> None:
        self.spans = 0
        self.bytes = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.bytes += len(encode_spans(spans).SerializeToString())
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


@dataclass
class Built:
    """One variant's app and how to account for its background work."""

    name: str
    app: Any
    has_metrics_endpoint: bool = False
    flushers: list[Callable[[], object]] = field(default_factory=list)
    closers: list[Callable[[], object]] = field(default_factory=list)

    def flush(self) -> None:
        """Finish the background work (span export, log writes) the requests left behind."""
        for flush in self.flushers:
            flush()

    def close(self) -> None:
        for close in self.closers:
            close()


def flush_log_queues(timeout: float = 30.0) -> None:
    """Wait until the log writer has written every line logged so far."""
    from observability.logging import active_sink

    sink = active_sink()
    if sink is not None and not sink.flush(timeout):
        raise TimeoutError("log lines were not written in time")


def ensure_logging(space: Workspace) -> None:
    """JSONL logging to the workspace unless the app already configured it."""
    from observability.logging import active_sink, configure_logging

    if active_sink() is not None:
        return

    # Only the files: stderr of a benchmark process goes nowhere useful.
    configure_logging(space.log_dir, "INFO", stderr=False, file_prefix=LOG_FILE_PREFIX, extra_files=LOG_EXTRA_FILES)


def bench_settings(space: Workspace) -> Settings:
    return load_settings(
        env_file=None,
        data_dir=space.data_dir,
        log_dir=space.log_dir,
        models_config=space.models_config,
        trusted_proxies="127.0.0.1",
        resource_log_interval=0,
    )


def _tracer_provider(built: Built) -> TracerProvider:
    provider = new_tracer_provider()
    provider.add_span_processor(BatchSpanProcessor(EncodingExporter()))
    built.flushers.append(provider.force_flush)
    built.closers.append(provider.shutdown)
    return provider


def _bare(
    name: str, settings: Settings, middleware: Sequence[Middleware] = (), extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    service = create_app(settings)
    routes = [r for r in service.routes if getattr(r, "path", None) != "/metrics"]
    app = Starlette(
        routes=[*routes, *extra_routes],
        middleware=list(middleware),
        exception_handlers={HTTPException: http_exception_handler},
    )
    # The routes read their dependencies (store, health checks, events) from app.state.
    app.state = State(dict(vars(service.state)["_state"]))
    return app


def _full_app(settings: Settings, built: Built, *, sampler: str | None = None) -> Starlette:
    """create_app(settings), its tracer provider given the same encoding exporter as the other tracing variants.

    Without OTEL_EXPORTER_OTLP_ENDPOINT the service's provider has no exporter; the
    benchmark charges the full stack the export work it does in production.
    `sampler` sets OTEL_TRACES_SAMPLER while the app is built (`always_on`: every
    request exported, the behaviour before the keep rule).
    """
    previous = os.environ.get(SAMPLER_ENV)
    if sampler is not None:
        os.environ[SAMPLER_ENV] = sampler
    try:
        app = create_app(settings)
    finally:
        if previous is None:
            os.environ.pop(SAMPLER_ENV, None)
        else:
            os.environ[SAMPLER_ENV] = previous
    provider: TracerProvider = app.state.context.tracer_provider
    provider.add_span_processor(BatchSpanProcessor(EncodingExporter()))
    built.flushers.append(provider.force_flush)
    return app


def build(name: str, space: Workspace) -> Built:
    """Build variant `name` (one of CORE or EXTRAS); raises ImportError for a missing extra."""
    settings = bench_settings(space)
    built = Built(name, None)
    if name == "bare":
        built.app = _bare(name, settings)
    elif name in ("full", "full_always_on"):
        built.app = _full_app(settings, built, sampler="always_on" if name == "full_always_on" else None)
        built.has_metrics_endpoint = any(getattr(r, "path", None) == "/metrics" for r in built.app.routes)
        ensure_logging(space)
        built.flushers.append(flush_log_queues)
    elif name == "metrics":
        from observability.exposition import MetricsApp
        from observability.metrics import HttpMetrics
        from observability.middleware import TelemetryMiddleware

        registry = CollectorRegistry(auto_describe=True)
        built.app = _bare(
            name,
            settings,
            [Middleware(TelemetryMiddleware, metrics=HttpMetrics(registry, namespace=NAMESPACE))],
            [Route("/metrics", MetricsApp(registry, namespace=NAMESPACE), methods=["GET"])],
        )
        built.has_metrics_endpoint = True
    elif name == "tracing":
        from observability.keep import KeepPolicy
        from observability.middleware import TelemetryMiddleware
        from observability.spans import TailTracing

        tracing = TailTracing(_tracer_provider(built), KeepPolicy(), name="bench")
        built.app = _bare(
            name,
            settings,
            [Middleware(TelemetryMiddleware, tracing=tracing, exclude_tracing=TRACE_EXCLUDED)],
        )
    elif name == "access_log":
        from observability.middleware import TelemetryMiddleware

        ensure_logging(space)
        built.app = _bare(
            name, settings, [Middleware(TelemetryMiddleware, access_log=logging.getLogger("bench.access"))]
        )
        built.flushers.append(flush_log_queues)
    elif name == "security":
        from observability.routes import RouteResolver
        from service.app import build_middleware
        from service.security.events import SecurityEvents
        from service.security.limiter import RateLimiter

        ensure_logging(space)  # refusals would log; none are expected
        limiter = RateLimiter(
            settings.rate_limit, settings.rate_limit_storage, events=SecurityEvents(CollectorRegistry())
        )
        built.app = _bare(name, settings, build_middleware(settings, limiter=limiter, resolver=RouteResolver()))
        built.flushers.append(flush_log_queues)
    elif name == "starlette_exporter":
        from starlette_exporter import PrometheusMiddleware, handle_metrics

        # starlette-exporter registers on the process-global registry (one instance per process).
        built.app = _bare(
            name,
            settings,
            [Middleware(PrometheusMiddleware, app_name="ai-diy", group_paths=True)],
            [Route("/metrics", handle_metrics, methods=["GET"])],
        )
        built.has_metrics_endpoint = True
    elif name == "instrumentator":
        from prometheus_fastapi_instrumentator.middleware import PrometheusInstrumentatorMiddleware

        registry = CollectorRegistry(auto_describe=True)

        async def metrics_endpoint(request: Request) -> Response:
            return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

        built.app = _bare(
            name,
            settings,
            [Middleware(PrometheusInstrumentatorMiddleware, registry=registry)],
            [Route("/metrics", metrics_endpoint, methods=["GET"])],
        )
        built.has_metrics_endpoint = True
    elif name == "otel_asgi":
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        provider = _tracer_provider(built)
        built.app = _bare(
            name,
            settings,
            [Middleware(OpenTelemetryMiddleware, tracer_provider=provider, excluded_urls=",".join(TRACE_EXCLUDED))],
        )
    elif name == "peer_stack":
        # What a user would assemble from peers for the same signals: Prometheus
        # metrics by starlette-exporter and a span per request by OTel ASGI.
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        from starlette_exporter import PrometheusMiddleware, handle_metrics

        provider = _tracer_provider(built)
        built.app = _bare(
            name,
            settings,
            [
                Middleware(PrometheusMiddleware, app_name="ai-diy-peer", group_paths=True),
                Middleware(OpenTelemetryMiddleware, tracer_provider=provider, excluded_urls=",".join(TRACE_EXCLUDED)),
            ],
            [Route("/metrics", handle_metrics, methods=["GET"])],
        )
        built.has_metrics_endpoint = True
    else:
        raise ValueError(f"unknown variant {name!r}; known: {', '.join(CORE + EXTRAS)}")
    return built


def available(names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The variants whose packages import, and why each other one is missing."""
    modules = {
        "starlette_exporter": ("starlette_exporter",),
        "instrumentator": ("prometheus_fastapi_instrumentator",),
        "otel_asgi": ("opentelemetry.instrumentation.asgi",),
        "peer_stack": ("starlette_exporter", "opentelemetry.instrumentation.asgi"),
    }
    ok: list[str] = []
    missing: dict[str, str] = {}
    for name in names:
        try:
            for module in modules.get(name, ()):
                __import__(module)
        except ImportError:
            missing[name] = f"not installed: pip install {EXTRA_PACKAGES[name]}"
            continue
        ok.append(name)
    return ok, missing
