"""What the routes need from the application, as one typed object made by create_app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from starlette.requests import Request

from observability import LogSink
from service.data.store import DocumentStore
from service.health import HealthChecker
from service.metrics import ServiceMetrics
from service.models_config import ModelsConfig
from service.security.events import SecurityEvents
from service.security.limiter import RateLimiter
from service.security.status import SecurityStatus
from service.settings import Settings


@dataclass
class ServiceContext:
    """The service's parts, shared by its routes (`service_context(request)`) and its lifespan."""

    settings: Settings
    registry: CollectorRegistry
    service_metrics: ServiceMetrics
    tracer_provider: TracerProvider
    models_config: ModelsConfig
    models_config_source: str
    document_store: DocumentStore
    security_events: SecurityEvents
    rate_limiter: RateLimiter
    security_status: SecurityStatus
    resource_usage: Callable[[], dict[str, Any]]
    started_monotonic: float
    tracing_exporting: bool
    health: HealthChecker
    # Set by the lifespan when it manages the process's logging.
    log_sink: LogSink | None = None


def service_context(request: Request) -> ServiceContext:
    """The context of the application serving this request."""
    context: ServiceContext = request.app.state.context
    return context
