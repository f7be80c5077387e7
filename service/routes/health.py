"""GET /health, /health/ready and /health/live: what an operator, a load balancer and a supervisor ask."""

from __future__ import annotations

import time

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service import __version__
from service.context import service_context
from service.health import Verdict

# A worker thread that cannot run a no-op within this long means every route that
# touches the disk is stuck too: the process is wedged, and a restart is the cure.
LIVENESS_TIMEOUT = 2.0


def _uptime(request: Request) -> float:
    started: float = service_context(request).started_monotonic
    return round(time.monotonic() - started, 3)


async def health(request: Request) -> JSONResponse:
    """Service health.
    ---
    summary: Health of the service and its dependencies
    description: >-
      `healthy` when every check passes; `degraded` (still 200) when a check does not
      pass but requests are answered right (full or read-only log disk, rate-limit
      storage down under fail-open, read-only data store), naming the checks in
      `degraded`; `unhealthy` (503) when requests would be answered wrongly, naming
      them in `failing`.
    responses:
      200:
        description: Every check passes, or the instance is degraded.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Health"}
      503:
        description: At least one check fails.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Health"}
    """
    results = await run_in_threadpool(service_context(request).health.run)
    verdict = Verdict.of(results)
    status = "unhealthy" if not verdict.ready else "degraded" if verdict.degraded else "healthy"
    body = {
        "status": status,
        "version": __version__,
        "uptime_seconds": _uptime(request),
        "checks": {name: result.as_json() for name, result in results.items()},
        "degraded": verdict.degraded,
        "failing": verdict.failing,
    }
    return JSONResponse(body, status_code=200 if verdict.ready else 503)


async def ready(request: Request) -> JSONResponse:
    """Readiness.
    ---
    summary: Whether this instance should receive traffic
    description: >-
      503 only when requests would be answered wrongly: the data store unreadable,
      the configuration broken, or the rate-limit storage down under fail-closed.
      Degraded checks keep it at 200.
    responses:
      200:
        description: Ready (possibly degraded).
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Readiness"}
      503:
        description: Not ready.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Readiness"}
    """
    verdict = Verdict.of(await run_in_threadpool(service_context(request).health.run))
    body = {
        "status": "ready" if verdict.ready else "not_ready",
        "degraded": verdict.degraded,
        "failing": verdict.failing,
    }
    return JSONResponse(body, status_code=200 if verdict.ready else 503)


async def live(request: Request) -> JSONResponse:
    """Liveness.
    ---
    summary: Whether the process can still serve (restart it when not)
    description: >-
      Checks no dependency: a lost disk or Redis is for /health/ready. 503 only when
      the process is wedged (its worker threads cannot run a no-op within 2 s); a
      blocked event loop does not answer at all.
    responses:
      200:
        description: Alive.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Liveness"}
      503:
        description: Wedged.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Liveness"}
    """
    with anyio.move_on_after(LIVENESS_TIMEOUT) as scope:
        await run_in_threadpool(lambda: None)
    if scope.cancelled_caught:
        body = {
            "status": "wedged",
            "uptime_seconds": _uptime(request),
            "detail": f"worker threads did not run a no-op within {LIVENESS_TIMEOUT:g} s",
        }
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "alive", "uptime_seconds": _uptime(request)})


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/health/ready", ready, methods=["GET"]),
    Route("/health/live", live, methods=["GET"]),
]
