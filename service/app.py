"""create_app(settings) -> Starlette: the routes and the middleware stack, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route

from observability import (
    HttpMetrics,
    KeepPolicy,
    LogSink,
    MetricsApp,
    RequestTracing,
    ResourceLogger,
    ResourceSampler,
    RouteResolver,
    configure_logging,
    configure_tracer_provider,
    explicit_sampler,
    export_endpoint,
    memory_limit_bytes,
    request_tracing,
    sdk_disabled,
)
from service import __version__, openapi
from service.context import ServiceContext
from service.data.store import DocumentStore
from service.errors import http_exception_handler
from service.faults import FaultKind, FaultRegistry
from service.faults import admin as fault_admin
from service.faults.effects import BlockedLogSink, UnreachableStorage
from service.faults.health import failing_on_demand
from service.health import CheckResult, HealthChecker
from service.metrics import ServiceMetrics
from service.metrics_port import RefreshingMetricsApp
from service.middleware import UNTRACED, Telemetry, build_middleware
from service.models_config import load_models_config
from service.routes import appdocs, data, env, health, index, models, security_status
from service.security.events import SecurityEvents
from service.security.limiter import RateLimiter
from service.security.status import SecurityStatus
from service.settings import Settings
from service.storage_watch import StorageWatch

NAMESPACE = "ai_diy"
LOG_FILE_PREFIX = "ai_diy_api"
# Loggers whose lines also go to a daily file of their own (the retention table keeps them longer).
LOG_EXTRA_FILES = {"ai_diy.security": "ai_diy_security", "ai_diy.audit": "ai_diy_audit"}


def create_app(settings: Settings, *, configure_logs: bool = True) -> Starlette:
    """The AI-DIY application for these settings (raises ModelsConfigError on a bad models file).

    Logging, the resource logger and the span exporter start with the lifespan and
    stop with it; `configure_logs=False` leaves the process's logging alone (tests,
    embedding).
    """
    models_config, models_source = load_models_config(settings.models_config)
    registry = CollectorRegistry(auto_describe=True)
    memory_budget = settings.memory_limit_mib * 1024 * 1024 if settings.memory_limit_mib else None
    sampler = ResourceSampler(memory_limit=memory_limit_bytes(budget=memory_budget))
    service_metrics = ServiceMetrics(registry, namespace=NAMESPACE, version=__version__)
    tracer_provider = configure_tracer_provider("ai-diy", __version__)
    store = DocumentStore(settings.data_dir)
    store.ensure()

    events = SecurityEvents(registry)
    limiter = RateLimiter(settings.rate_limit, settings.rate_limit_storage, events=events)
    security = SecurityStatus(
        limiter=limiter,
        events=events,
        gauge=service_metrics.security_active,
        trusted_proxies=len(settings.trusted_proxies),
        max_request_bytes=settings.max_request_bytes,
        fail_closed=settings.rate_limit_fail_closed,
    )

    routes: list[BaseRoute] = [
        *index.routes,
        *health.routes,
        *env.routes,
        *security_status.routes,
        *models.routes,
        *data.routes,
        *appdocs.routes,
        *openapi.routes,
    ]
    # Every /api route's violation series exists from the start at 0, so the first
    # refusal shows in increase() instead of being the series' first sample.
    for route in routes:
        if isinstance(route, Route) and route.path.startswith("/api/"):
            events.rate_limit_violations.labels(route.path)
    faults = None
    if settings.fault_injection and settings.admin_token is not None:  # the settings refuse one without the other
        faults = FaultRegistry(
            effects={
                FaultKind.LOG_SINK_BLOCKED: BlockedLogSink(lambda: app.state.context.log_sink),
                FaultKind.RATE_LIMIT_STORAGE_UNREACHABLE: UnreachableStorage(limiter),
            }
        )
        routes += fault_admin.routes(faults, settings.admin_token.get_secret_value(), events=events)
    health_checker = HealthChecker({}, on_result=service_metrics.set_health)
    metrics_app = RefreshingMetricsApp(
        MetricsApp(registry, namespace=NAMESPACE, memory_budget=memory_budget), health_checker
    )
    if settings.metrics_port is None:
        routes.append(Route("/metrics", metrics_app, include_in_schema=False))

    resolver = RouteResolver(routes)
    app = Starlette(
        routes=routes,
        middleware=build_middleware(
            settings,
            limiter=limiter,
            resolver=resolver,
            telemetry=Telemetry(
                metrics=HttpMetrics(registry, namespace=NAMESPACE),
                tracing=_request_tracing(settings, tracer_provider),
                access_log=logging.getLogger("ai_diy.api"),
            ),
            metrics_app=metrics_app,
            faults=faults,
        ),
        exception_handlers={HTTPException: http_exception_handler},
        lifespan=_lifespan(
            settings,
            service_metrics,
            tracer_provider,
            configure_logs,
            metrics_app,
            StorageWatch(limiter),
            faults,
            sampler,
        ),
    )
    context = ServiceContext(
        settings=settings,
        registry=registry,
        service_metrics=service_metrics,
        tracer_provider=tracer_provider,
        models_config=models_config,
        models_config_source=models_source,
        document_store=store,
        security_events=events,
        rate_limiter=limiter,
        security_status=security,
        resource_usage=sampler.recent,
        started_monotonic=time.monotonic(),
        tracing_exporting=export_endpoint() is not None,
        health=health_checker,
    )
    app.state.context = context
    health_checker.checks.update(
        config=lambda: CheckResult(True, {"models_config": models_source}),
        data_store=lambda: _store_check(store),
        # Fail-open keeps serving while the rate-limit storage is down: degraded (the
        # gauge and AiDiySecurityInactive say so), not a reason for load balancers to
        # pull every replica at once. Fail-closed refuses /api/*: not ready.
        security=lambda: CheckResult(
            security.active,
            {"rate_limit_storage_healthy": limiter.storage_healthy, "fail_closed": settings.rate_limit_fail_closed},
            degraded=not settings.rate_limit_fail_closed,
        ),
        log_sink=lambda: _sink_check(context.log_sink),
    )
    if faults is not None:
        faults.checks = frozenset(health_checker.checks)
        health_checker.checks = failing_on_demand(health_checker.checks, faults)
    return app


def _request_tracing(settings: Settings, provider: TracerProvider) -> RequestTracing | None:
    """How each request is traced: the keep rule unless OTEL_TRACES_SAMPLER says otherwise."""
    if sdk_disabled():
        return None
    # The per-process cap on ratio-kept traces bounds what export costs under load
    # (docs/tracing.md); 0 in the settings means no cap.
    policy = KeepPolicy(
        settings.trace_sample_ratio,
        settings.trace_slow_ms / 1000.0,
        max_ratio_kept_per_second=settings.trace_max_kept_per_second or None,
    )
    return request_tracing(
        provider,
        policy,
        explicit_sampler=explicit_sampler() is not None,
        name="ai_diy",
        version=__version__,
        excluded_paths=UNTRACED,
    )


def _lifespan(
    settings: Settings,
    service_metrics: ServiceMetrics,
    tracer_provider: TracerProvider,
    configure_logs: bool,
    metrics_app: RefreshingMetricsApp,
    storage_watch: StorageWatch,
    faults: FaultRegistry | None,
    sampler: ResourceSampler,
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sink = None
        if configure_logs:
            sink = configure_logging(
                settings.log_dir,
                settings.log_level.value,
                file_prefix=LOG_FILE_PREFIX,
                extra_files=LOG_EXTRA_FILES,
                on_drop=service_metrics.log_line_dropped,
            )
        app.state.context.log_sink = sink
        # Leftovers of writes a crash interrupted; after logging starts, so the removal is logged.
        await run_in_threadpool(app.state.context.document_store.sweep)
        resource_logger = ResourceLogger(
            logging.getLogger("ai_diy.resources"), settings.resource_log_interval, sampler=sampler.snapshot
        )
        resource_logger.start()
        metrics_app.start()
        storage_watch.start()
        expiry = asyncio.create_task(_expire_faults(faults)) if faults is not None else None
        logging.getLogger("ai_diy.api").info(
            "AI-DIY %s started",
            __version__,
            extra={"event": "startup", "environment": settings.environment, "log_level": settings.log_level.value},
        )
        try:
            yield
        finally:
            logging.getLogger("ai_diy.api").info("AI-DIY stopping", extra={"event": "shutdown"})
            await storage_watch.stop()
            if faults is not None and expiry is not None:
                expiry.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await expiry
                faults.clear()  # a fault never outlives the process's service of requests
            resource_logger.stop()
            metrics_app.stop()
            tracer_provider.shutdown()
            if sink is not None:
                sink.stop()

    return lifespan


async def _expire_faults(faults: FaultRegistry, interval: float = 1.0) -> None:
    """Switch faults off when their time is up, even when no request or probe reads the registry."""
    while True:
        await asyncio.sleep(interval)
        if faults.armed:
            faults.active()


def _store_check(store: DocumentStore) -> CheckResult:
    result = store.health()
    # Readable but not writable: documents are still served, only writes answer 503.
    return CheckResult(result.ok, {"detail": result.detail}, degraded=result.readable)


def _sink_check(sink: LogSink | None) -> CheckResult:
    if sink is None:
        return CheckResult(True, {"detail": "logging not managed by this app"})
    healthy = sink.healthy
    detail: dict[str, object] = {"dropped": dict(sink.dropped)}
    if not healthy:
        detail["error"] = sink.last_error
    # Lines are dropped (and counted), requests are answered: degraded, never down.
    return CheckResult(healthy, detail, degraded=True)
