"""A TracerProvider configured from the standard OTEL_* variables.

Honoured: OTEL_SDK_DISABLED, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
OTEL_TRACES_SAMPLER (+ OTEL_TRACES_SAMPLER_ARG), OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL,
OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT and OTEL_EXPORTER_OTLP_(TRACES_)HEADERS.

Protocols: `http/protobuf` (the default, always available) and `grpc` when
opentelemetry-exporter-otlp-proto-grpc is installed; `http/json` has no Python
exporter and is refused with a clear error.

Without an endpoint there is no exporter, but every request still gets trace ids,
so they reach the logs and the latency exemplars from the first run. Export
runs on the BatchSpanProcessor's thread with a bounded queue (spans are dropped
when it is full) and a short timeout: an unreachable collector never slows or fails
a request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

from .errors import ConfigError
from .request_tracing import ReservedIds

SUPPORTED_PROTOCOLS = ("http/protobuf", "grpc")
# The SDK default (10 s) would hold spans in memory for long against a dead collector.
DEFAULT_EXPORT_TIMEOUT = 2.0
MAX_QUEUE_SIZE = 2048


class _HashOnceResource(Resource):
    """A Resource that computes its hash once.

    The OTLP encoder groups every exported span by its resource in a dict, and
    `Resource.__hash__` serialises all the attributes to JSON each time (about 8 µs
    per span). A resource cannot change after it is built, so its hash cannot either.
    """

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def new_tracer_provider(resource: Resource | None = None, *, explicit_sampler: bool = False) -> TracerProvider:
    """A TracerProvider whose ids the telemetry can reserve (see ReservedIds).

    Unless OTEL_TRACES_SAMPLER is set, its sampler is parent-based always-on: a span
    started inside a request follows the request's sampled flag.
    """
    kwargs: dict[str, Any] = {"id_generator": ReservedIds()}
    if not explicit_sampler:
        kwargs["sampler"] = ParentBased(ALWAYS_ON)
    if resource is not None:
        kwargs["resource"] = resource
    return TracerProvider(**kwargs)


def explicit_sampler(environ: Mapping[str, str] | None = None) -> str | None:
    """The OTEL_TRACES_SAMPLER asked for, or None when the keep rule decides."""
    environ = os.environ if environ is None else environ
    return _env(environ, "OTEL_TRACES_SAMPLER")


class TracingConfigError(ConfigError, ValueError):
    """An OTEL_* variable asks for something this service cannot do."""


def _env(environ: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def _protocol(environ: Mapping[str, str]) -> str:
    """The OTLP protocol asked for; TracingConfigError when this service cannot speak it."""
    protocol = _env(environ, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if protocol == "grpc":
        try:
            import opentelemetry.exporter.otlp.proto.grpc.trace_exporter  # noqa: F401, PLC0415  # only whether it is installed
        except ImportError:
            raise TracingConfigError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc; use http/protobuf"
            ) from None
    elif protocol != "http/protobuf":
        raise TracingConfigError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: supported are {', '.join(SUPPORTED_PROTOCOLS)}"
        )
    return protocol


def _exporter(environ: Mapping[str, str]) -> SpanExporter:
    protocol = _protocol(environ)
    timeout = (
        None
        if _env(environ, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
        else DEFAULT_EXPORT_TIMEOUT
    )
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415  # an optional package
            OTLPSpanExporter as GrpcExporter,
        )

        grpc_exporter: SpanExporter = GrpcExporter(timeout=timeout)
        return grpc_exporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415  # brings requests along

    # The exporter reads the endpoint (adding /v1/traces to the generic one),
    # headers and compression from the environment itself.
    return OTLPSpanExporter(timeout=timeout)


def check_tracing_config(environ: Mapping[str, str] | None = None) -> None:
    """Raise TracingConfigError when the OTEL_* variables ask for an export this service cannot do.

    A start-up check: it builds nothing.
    """
    environ = os.environ if environ is None else environ
    if export_endpoint(environ) is not None:
        _protocol(environ)


def configure_tracer_provider(
    service_name_default: str,
    service_version: str | None = None,
) -> TracerProvider:
    """A TracerProvider from the OTEL_* variables; the caller decides whether it is global."""
    # The SDK itself reads os.environ (sampler, resource, exporter), so this does too.
    environ = os.environ
    attributes: dict[str, str] = {"service.name": service_name_default}
    if service_version:
        attributes["service.version"] = service_version
    # Explicit attributes would win over the environment's; the environment must win.
    for key in OTELResourceDetector().detect().attributes:
        attributes.pop(key, None)
    provider = new_tracer_provider(
        _HashOnceResource(Resource.create(attributes)), explicit_sampler=explicit_sampler(environ) is not None
    )
    # With OTEL_SDK_DISABLED the SDK hands out no-op tracers and export_endpoint is None.
    if export_endpoint(environ) is not None:
        provider.add_span_processor(BatchSpanProcessor(_exporter(environ), max_queue_size=MAX_QUEUE_SIZE))
    return provider


def sdk_disabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether OTEL_SDK_DISABLED turns tracing off altogether."""
    environ = os.environ if environ is None else environ
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def export_endpoint(environ: Mapping[str, str] | None = None) -> str | None:
    """The OTLP endpoint spans go to, or None when they are not exported."""
    environ = os.environ if environ is None else environ
    if sdk_disabled(environ):
        return None
    return _env(environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
