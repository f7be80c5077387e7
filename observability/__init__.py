"""Reusable ASGI observability: Prometheus metrics, OpenTelemetry traces, JSONL logs.

Knows nothing of the service it instruments; everything is passed in (registry,
namespace, tracer, loggers, route resolver). What a service needs is exported here:

- metrics: `HttpMetrics` (definitions), `MetricsApp` (exposition), multiprocess set-up;
- tracing: `configure_tracer_provider` and the OTEL_* readers (observability.tracing),
  per-request tracing and its keep rule (observability.request_tracing);
- logs: `configure_logging` and its `LogSink`; redaction lives in observability.redaction;
- the middleware that records all three, `TelemetryMiddleware` (its parts `RequestTelemetry`
  and `Recorder` for a service's own edge middleware), and the scope keys
  an inner error boundary shares with it.
"""

from __future__ import annotations

from .errors import ConfigError
from .exposition import MetricsApp, multiprocess_dir, prepare_multiprocess_dir
from .logging import QUEUE_FULL, WRITE_ERROR, LogSink, configure_logging
from .metrics import HttpMetrics
from .middleware import CLIENT_CLOSED_REQUEST, EXCEPTION_SCOPE_KEY, Recorder, RequestTelemetry, TelemetryMiddleware
from .outcome import RequestOutcome
from .periodic import Periodic, ResourceLogger
from .request_tracing import KeepPolicy, RequestTracing, StandardTracing, request_tracing
from .resources import ResourceSampler, memory_limit_bytes, snapshot
from .routes import RouteResolver
from .tracing import (
    check_tracing_config,
    configure_tracer_provider,
    explicit_sampler,
    export_endpoint,
    sdk_disabled,
)

__all__ = [
    "CLIENT_CLOSED_REQUEST",
    "EXCEPTION_SCOPE_KEY",
    "QUEUE_FULL",
    "WRITE_ERROR",
    "ConfigError",
    "HttpMetrics",
    "KeepPolicy",
    "LogSink",
    "MetricsApp",
    "Periodic",
    "Recorder",
    "RequestOutcome",
    "RequestTelemetry",
    "RequestTracing",
    "ResourceLogger",
    "ResourceSampler",
    "RouteResolver",
    "StandardTracing",
    "TelemetryMiddleware",
    "check_tracing_config",
    "configure_logging",
    "configure_tracer_provider",
    "explicit_sampler",
    "export_endpoint",
    "memory_limit_bytes",
    "multiprocess_dir",
    "prepare_multiprocess_dir",
    "request_tracing",
    "sdk_disabled",
    "snapshot",
]
