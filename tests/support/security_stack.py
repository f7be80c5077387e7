"""A small app with the service's security middleware stack, for the security tests.

Routes mirror the service's (`/health`, `/metrics`, `/api/env`, `/api/security/status`,
`/api/appdocs/{path:path}`) plus `/api/echo`, which inspects a JSON body. Hypercorn
loads `from_env()` when a test runs the stack as a real server.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from pathlib import Path
from types import SimpleNamespace

from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from observability.routes import RouteResolver
from service.errors import error_response, http_exception_handler
from service.metrics import ServiceMetrics
from service.middleware import build_middleware
from service.security.events import SecurityEvents
from service.security.inspection import SuspiciousInput, input_rejection, parse_json_body
from service.security.limiter import RateLimiter
from service.security.paths import PathRejected, path_rejection, resolve_document
from service.security.status import SecurityStatus
from service.settings import load_settings


def build_app(
    *,
    docs_root: Path,
    limit: str = "100/minute",
    storage_uri: str = "memory://",
    fail_closed: bool = False,
    trusted_proxies: tuple[str, ...] = (),
    max_request_bytes: int = 1024,
    limiter_timeout: float = 0.5,
) -> Starlette:
    registry = CollectorRegistry()
    events = SecurityEvents(registry)
    limiter = RateLimiter(limit, storage_uri, events=events, timeout=limiter_timeout, retry_interval=0.2)
    networks = [ipaddress.ip_network(p) for p in trusted_proxies]
    status = SecurityStatus(
        limiter=limiter,
        events=events,
        gauge=ServiceMetrics(registry, namespace="ai_diy", version="test").security_active,
        trusted_proxies=len(networks),
        max_request_bytes=max_request_bytes,
        fail_closed=fail_closed,
    )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "healthy"})

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(generate_latest(registry).decode())

    async def env(request: Request) -> Response:
        return JSONResponse({"environment": "DEVELOPMENT", "client": request.client.host if request.client else None})

    async def security_status(request: Request) -> Response:
        return JSONResponse(await status.report({"pid": os.getpid()}))

    async def appdocs(request: Request) -> Response:
        requested = request.path_params["path"]
        client_ip = request.client.host if request.client else "unknown"
        try:
            path = resolve_document(docs_root, requested, raw_path=request.scope.get("raw_path"))
        except PathRejected as exc:
            return path_rejection(events, exc, client_ip=client_ip, requested=requested)
        if not path.is_file():
            return error_response(404, "not_found", f"no document {requested}")
        return FileResponse(path)

    async def echo(request: Request) -> Response:
        try:
            value = parse_json_body(await request.body())
        except SuspiciousInput as exc:
            client_ip = request.client.host if request.client else "unknown"
            return input_rejection(events, exc, client_ip=client_ip, path=request.url.path)
        return JSONResponse({"received": value})

    async def fail(request: Request) -> Response:
        raise RuntimeError("boom")

    routes = [
        Route("/health", health),
        Route("/metrics", metrics),
        Route("/api/env", env),
        Route("/api/security/status", security_status),
        Route("/api/appdocs/{path:path}", appdocs),
        Route("/api/echo", echo, methods=["POST"]),
        Route("/api/fail", fail),
    ]
    # The service's own middleware stack (security layers, no telemetry) around test routes.
    settings = load_settings(
        env_file=None,
        rate_limit=limit,
        rate_limit_storage=storage_uri,
        rate_limit_fail_closed=fail_closed,
        trusted_proxies=",".join(trusted_proxies),
        max_request_bytes=max_request_bytes,
    )
    app = Starlette(
        routes=routes,
        middleware=build_middleware(settings, limiter=limiter, resolver=RouteResolver(routes)),
        exception_handlers={HTTPException: http_exception_handler},
    )
    # The parts the tests read, where the service keeps them (its ServiceContext).
    app.state.context = SimpleNamespace(
        registry=registry, security_events=events, rate_limiter=limiter, security_status=status
    )
    return app


class _JSONLines(logging.Formatter):
    """Enough of the service's JSONL format for the tests to read events back."""

    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        line = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        line.update({k: v for k, v in vars(record).items() if k not in self._STANDARD})
        return json.dumps(line, separators=(",", ":"), default=str)


def documents_root(tmp_path: Path) -> Path:
    """A small documents root under tmp_path, with secrets beside it (and a link to one) to reach for."""
    root = tmp_path / "appdocs"
    (root / "guides").mkdir(parents=True)
    (root / "readme.md").write_text("# Read me\n")
    (root / "guides" / "setup.txt").write_text("setup steps\n")
    (root / "data.json").write_text('{"ok": true}\n')
    (root / "new file.csv").write_text("a,b\n1,2\n")
    (tmp_path / "secret.txt").write_text("TOP SECRET\n")
    (tmp_path / "secret").write_text("TOP SECRET\n")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    return root


def from_env() -> Starlette:
    """The stack configured by SEC_* variables (used under a real hypercorn)."""
    log_file = os.environ.get("SEC_LOG_FILE")
    if log_file:
        handler = logging.FileHandler(log_file)
        handler.setFormatter(_JSONLines())
        logger = logging.getLogger("ai_diy")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return build_app(
        docs_root=Path(os.environ["SEC_DOCS_ROOT"]),
        limit=os.environ.get("SEC_LIMIT", "100/minute"),
        storage_uri=os.environ.get("SEC_STORAGE", "memory://"),
        fail_closed=os.environ.get("SEC_FAIL_CLOSED") == "1",
        max_request_bytes=int(os.environ.get("SEC_MAX_BYTES", "1024")),
    )
