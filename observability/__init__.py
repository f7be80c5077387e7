"""Reusable ASGI observability: Prometheus metrics, OpenTelemetry traces, JSONL logs.

Knows nothing of the service it instruments; everything is passed in (registry,
namespace, tracer, loggers, route resolver).
"""

from __future__ import annotations

from .exposition import MetricsApp, multiprocess_dir, prepare_multiprocess_dir
from .logging import LogSink, configure_logging
from .metrics import HttpMetrics
from .middleware import TelemetryMiddleware
from .periodic import ResourceLogger
from .resources import ResourceSampler, memory_limit_bytes, snapshot
from .routes import RouteResolver
from .tracing import configure_tracer_provider

__all__ = [
    "HttpMetrics",
    "LogSink",
    "MetricsApp",
    "ResourceLogger",
    "ResourceSampler",
    "RouteResolver",
    "TelemetryMiddleware",
    "configure_logging",
    "configure_tracer_provider",
    "memory_limit_bytes",
    "multiprocess_dir",
    "prepare_multiprocess_dir",
    "snapshot",
]
