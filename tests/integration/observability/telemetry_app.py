"""A tiny Starlette app instrumented with the observability package, for real servers.

Configured by environment: OBS_TEST_LOG_DIR (JSONL logs), OBS_TEST_RESOURCE_INTERVAL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from observability import (
    HttpMetrics,
    MetricsApp,
    ResourceLogger,
    RouteResolver,
    TelemetryMiddleware,
    configure_logging,
    configure_tracer_provider,
)
from observability.request_tracing import KeepPolicy, TailTracing
from service.app import LOG_EXTRA_FILES, LOG_FILE_PREFIX
from service.metrics import ServiceMetrics


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


async def pid(request: Request) -> Response:
    return JSONResponse({"pid": os.getpid()})


async def boom(request: Request) -> Response:
    raise RuntimeError("boom")


async def slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("s", "0")))
    return PlainTextResponse("slow")


async def traversal(request: Request) -> Response:
    client_ip = request.client.host if request.client else None
    logging.getLogger("ai_diy.security").warning(
        "SECURITY_AUDIT path_traversal_attempt",
        extra={
            "event": "path_traversal_attempt",
            "severity": "warning",
            "status": "error",
            "details": {"client_ip": client_ip, "path": request.url.path},
        },
    )
    return JSONResponse({"error": {"code": "path_traversal", "message": "no"}}, status_code=400)


def build() -> Starlette:
    registry = CollectorRegistry()
    service = ServiceMetrics(registry, namespace="ai_diy", version="test")
    log_dir = os.environ.get("OBS_TEST_LOG_DIR")
    sink = (
        configure_logging(
            log_dir,
            "INFO",
            stderr=False,
            on_drop=service.log_line_dropped,
            file_prefix=LOG_FILE_PREFIX,
            extra_files=LOG_EXTRA_FILES,
        )
        if log_dir
        else None
    )
    resources = ResourceLogger(
        logging.getLogger("ai_diy.resources"), float(os.environ.get("OBS_TEST_RESOURCE_INTERVAL", "0"))
    )
    provider = configure_tracer_provider("ai-diy-test", "test")
    routes = [
        Route("/", hello),
        Route("/pid", pid),
        Route("/boom", boom),
        Route("/slow", slow),
        Route("/api/appdocs/{path:path}", traversal),
        Route("/metrics", MetricsApp(registry, namespace="ai_diy")),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        resources.start()
        yield
        resources.stop()
        provider.shutdown()
        if sink is not None:
            sink.stop()

    middleware = [
        Middleware(
            TelemetryMiddleware,
            metrics=HttpMetrics(registry, namespace="ai_diy"),
            tracing=TailTracing(provider, KeepPolicy(), name="telemetry_app"),
            access_log=logging.getLogger("ai_diy.api"),
            route_resolver=RouteResolver(routes),
        )
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


app = build()
