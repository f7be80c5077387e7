"""create_app(settings) -> Starlette: the routes and the middleware stack, nothing else."""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from service.data.store import DocumentStore
from service.errors import ErrorBoundaryMiddleware, http_exception_handler
from service.health import CheckResult, HealthChecker
from service.models_config import load_models_config
from observability import ResourceSampler
from service import openapi
from service.routes import appdocs, data, env, health, models, security_status
from service.routes.appdocs_admin import admin_routes
from service.security.body_limit import RequestSizeMiddleware
from service.security.client_ip import ClientIPMiddleware
from service.security.events import SecurityEvents
from service.security.headers import SecurityHeadersMiddleware
from service.security.limiter import RateLimiter
from service.security.rate_limit import RateLimitMiddleware
from service.security.status import SecurityStatus
from service.settings import Settings


def create_app(settings: Settings) -> Starlette:
    """The AI-DIY application for these settings (raises ModelsConfigError on a bad models file)."""
    models_config, models_source = load_models_config(settings.models_config)
    registry = CollectorRegistry(auto_describe=True)
    store = DocumentStore(settings.data_dir)
    store.ensure()

    events = SecurityEvents(registry)
    limiter = RateLimiter(settings.rate_limit, settings.rate_limit_storage, events=events)
    security = SecurityStatus(
        limiter=limiter,
        events=events,
        registry=registry,
        trusted_proxies=len(settings.trusted_proxies),
        max_request_bytes=settings.max_request_bytes,
        fail_closed=settings.rate_limit_fail_closed,
    )

    app = Starlette(
        routes=[
            *health.routes, *env.routes, *security_status.routes, *models.routes,
            *data.routes, *appdocs.routes, *admin_routes(), *openapi.routes,
        ],
        middleware=[
            Middleware(ClientIPMiddleware, trusted_proxies=settings.trusted_proxies),
            Middleware(SecurityHeadersMiddleware),
            Middleware(RequestSizeMiddleware, max_bytes=settings.max_request_bytes, events=events),
            Middleware(
                RateLimitMiddleware,
                limit=settings.rate_limit,
                storage_uri=settings.rate_limit_storage,
                fail_closed=settings.rate_limit_fail_closed,
                events=events,
                limiter=limiter,
            ),
            Middleware(ErrorBoundaryMiddleware),
        ],
        exception_handlers={HTTPException: http_exception_handler},
    )
    state = app.state
    state.settings = settings
    state.registry = registry
    state.models_config = models_config
    state.models_config_source = models_source
    state.document_store = store
    state.security_events = events
    state.rate_limiter = limiter
    state.security_status = security
    state.resource_usage = ResourceSampler().snapshot
    state.started_monotonic = time.monotonic()
    state.tracing_exporting = False
    state.health = HealthChecker(
        {
            "config": lambda: CheckResult(True, {"models_config": models_source}),
            "data_store": lambda: _store_check(store),
            "security": lambda: CheckResult(security.active, {"rate_limit_storage_healthy": limiter.storage_healthy}),
            "log_sink": lambda: CheckResult(True, {}),
        }
    )
    return app


def _store_check(store: DocumentStore) -> CheckResult:
    result = store.health()
    return CheckResult(result.ok, {"detail": result.detail})
