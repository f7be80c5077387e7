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
from service.security.headers import is_json, secure_headers
from service.settings import Settings, load_settings

from .workspace import Workspace

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


class StaticHeaders:
    """The least a Python app can do to send the full stack's response headers: append a constant list.

    `bare_headers` is the bare app behind this: the same bytes on the wire as the
    full stack (security headers, Cache-Control, RateLimit), with none of the work
    that decides them, so full / bare_headers is the stack's cost beyond its bytes.
    As in the full stack, only /api answers carry the RateLimit headers and only
    answers that are not JSON the two document-only security headers.
    """

    def __init__(self, app: Any, headers: dict[tuple[bool, bool], list[tuple[bytes, bytes]]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                own = message.get("headers", ())
                json_answer = False
                for name, value in own:
                    if name == b"content-type":
                        json_answer = is_json(value)
                message["headers"] = [*own, *self.headers[api, json_answer]]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def full_stack_headers() -> dict[tuple[bool, bool], list[tuple[bytes, bytes]]]:
    """The headers the full stack adds, by (an /api answer, a JSON answer); /api as for a client's first hit."""
    from limits import parse_many

    from service.security.limiter import Decision
    from service.security.rate_limit import RateHeaders

    rate_headers = RateHeaders(parse_many("100/minute")).of(Decision(True, 100, 99, 60))
    json_type = (b"content-type", b"application/json")
    added: dict[tuple[bool, bool], list[tuple[bytes, bytes]]] = {}
    for api in (True, False):
        for json_answer in (True, False):
            own = [json_type] if json_answer else []
            sent = secure_headers(own, rate_headers if api else None)
            added[api, json_answer] = [header for header in sent if header not in own]
    return added


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
    settings: Settings, middleware: Sequence[Middleware] = (), extra_routes: Sequence[BaseRoute] = ()
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


Builder = Callable[[Settings, Built, Workspace], Any]


def _build_bare(settings: Settings, built: Built, space: Workspace) -> Any:
    return _bare(settings)


def _build_bare_headers(settings: Settings, built: Built, space: Workspace) -> Any:
    return StaticHeaders(_bare(settings), full_stack_headers())


def _build_full(settings: Settings, built: Built, space: Workspace, sampler: str | None = None) -> Any:
    app = _full_app(settings, built, sampler=sampler)
    built.has_metrics_endpoint = any(getattr(r, "path", None) == "/metrics" for r in app.routes)
    ensure_logging(space)
    built.flushers.append(flush_log_queues)
    return app


def _build_full_always_on(settings: Settings, built: Built, space: Workspace) -> Any:
    return _build_full(settings, built, space, sampler="always_on")


def _build_metrics(settings: Settings, built: Built, space: Workspace) -> Any:
    from observability.exposition import MetricsApp
    from observability.metrics import HttpMetrics
    from observability.middleware import TelemetryMiddleware

    registry = CollectorRegistry(auto_describe=True)
    built.has_metrics_endpoint = True
    return _bare(
        settings,
        [Middleware(TelemetryMiddleware, metrics=HttpMetrics(registry, namespace=NAMESPACE))],
        [Route("/metrics", MetricsApp(registry, namespace=NAMESPACE), methods=["GET"])],
    )


def _build_tracing(settings: Settings, built: Built, space: Workspace) -> Any:
    from observability.middleware import TelemetryMiddleware
    from observability.request_tracing import KeepPolicy, TailTracing

    tracing = TailTracing(_tracer_provider(built), KeepPolicy(), name="bench")
    return _bare(settings, [Middleware(TelemetryMiddleware, tracing=tracing, exclude_tracing=TRACE_EXCLUDED)])


def _build_access_log(settings: Settings, built: Built, space: Workspace) -> Any:
    from observability.middleware import TelemetryMiddleware

    ensure_logging(space)
    built.flushers.append(flush_log_queues)
    return _bare(settings, [Middleware(TelemetryMiddleware, access_log=logging.getLogger("bench.access"))])


def _build_security(settings: Settings, built: Built, space: Workspace) -> Any:
    from observability.routes import RouteResolver
    from service.middleware import build_middleware
    from service.security.events import SecurityEvents
    from service.security.limiter import RateLimiter

    ensure_logging(space)  # refusals would log; none are expected
    built.flushers.append(flush_log_queues)
    limiter = RateLimiter(settings.rate_limit, settings.rate_limit_storage, events=SecurityEvents(CollectorRegistry()))
    return _bare(settings, build_middleware(settings, limiter=limiter, resolver=RouteResolver()))


def _build_starlette_exporter(settings: Settings, built: Built, space: Workspace) -> Any:
    from starlette_exporter import PrometheusMiddleware, handle_metrics

    # starlette-exporter registers on the process-global registry (one instance per process).
    built.has_metrics_endpoint = True
    return _bare(
        settings,
        [Middleware(PrometheusMiddleware, app_name="ai-diy", group_paths=True)],
        [Route("/metrics", handle_metrics, methods=["GET"])],
    )


def _build_instrumentator(settings: Settings, built: Built, space: Workspace) -> Any:
    from prometheus_fastapi_instrumentator.middleware import PrometheusInstrumentatorMiddleware

    registry = CollectorRegistry(auto_describe=True)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    built.has_metrics_endpoint = True
    return _bare(
        settings,
        [Middleware(PrometheusInstrumentatorMiddleware, registry=registry)],
        [Route("/metrics", metrics_endpoint, methods=["GET"])],
    )


def _build_otel_asgi(settings: Settings, built: Built, space: Workspace) -> Any:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    provider = _tracer_provider(built)
    return _bare(
        settings,
        [Middleware(OpenTelemetryMiddleware, tracer_provider=provider, excluded_urls=",".join(TRACE_EXCLUDED))],
    )


def _build_peer_stack(settings: Settings, built: Built, space: Workspace) -> Any:
    # What a user would assemble from peers for the same signals: Prometheus
    # metrics by starlette-exporter and a span per request by OTel ASGI.
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from starlette_exporter import PrometheusMiddleware, handle_metrics

    provider = _tracer_provider(built)
    built.has_metrics_endpoint = True
    return _bare(
        settings,
        [
            Middleware(PrometheusMiddleware, app_name="ai-diy-peer", group_paths=True),
            Middleware(OpenTelemetryMiddleware, tracer_provider=provider, excluded_urls=",".join(TRACE_EXCLUDED)),
        ],
        [Route("/metrics", handle_metrics, methods=["GET"])],
    )


@dataclass(frozen=True)
class Variant:
    """How to build one variant, and the modules it needs beyond the service's own."""

    builder: Builder
    modules: tuple[str, ...] = ()
    packages: str = ""


_STARLETTE_EXPORTER = "starlette-exporter>=0.23"
_OTEL_ASGI = "opentelemetry-instrumentation-asgi>=0.51b0"
# Name -> builder: the one list of variants; `build` and `available` both read it.
VARIANTS: dict[str, Variant] = {
    "bare": Variant(_build_bare),
    "bare_headers": Variant(_build_bare_headers),
    "full": Variant(_build_full),
    "full_always_on": Variant(_build_full_always_on),
    "metrics": Variant(_build_metrics),
    "tracing": Variant(_build_tracing),
    "access_log": Variant(_build_access_log),
    "security": Variant(_build_security),
    "starlette_exporter": Variant(_build_starlette_exporter, ("starlette_exporter",), _STARLETTE_EXPORTER),
    "instrumentator": Variant(
        _build_instrumentator, ("prometheus_fastapi_instrumentator",), "prometheus-fastapi-instrumentator>=7.1"
    ),
    "otel_asgi": Variant(_build_otel_asgi, ("opentelemetry.instrumentation.asgi",), _OTEL_ASGI),
    "peer_stack": Variant(
        _build_peer_stack,
        ("starlette_exporter", "opentelemetry.instrumentation.asgi"),
        f"{_STARLETTE_EXPORTER} {_OTEL_ASGI}",
    ),
}
EXTRAS = tuple(name for name, variant in VARIANTS.items() if variant.modules)
CORE = tuple(name for name in VARIANTS if name not in EXTRAS)


def build(name: str, space: Workspace) -> Built:
    """Build variant `name` (a key of VARIANTS); raises ImportError for a missing extra."""
    variant = VARIANTS.get(name)
    if variant is None:
        raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    built = Built(name, None)
    built.app = variant.builder(bench_settings(space), built, space)
    return built


def available(names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The variants whose packages import, and why each other one is missing."""
    ok: list[str] = []
    missing: dict[str, str] = {}
    for name in names:
        variant = VARIANTS.get(name)
        try:
            for module in variant.modules if variant is not None else ():
                __import__(module)
        except ImportError:
            missing[name] = f"not installed: pip install {variant.packages if variant else name}"
            continue
        ok.append(name)
    return ok, missing
