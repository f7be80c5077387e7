"""GET /health: liveness plus the state of every dependency."""
from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service import __version__


async def health(request: Request) -> JSONResponse:
    """Service health.
    ---
    summary: Health of the service and its dependencies
    responses:
      200:
        description: Every check passes.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Health"}
      503:
        description: At least one check fails.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Health"}
    """
    state = request.app.state
    results = await run_in_threadpool(state.health.run)
    healthy = all(r.ok for r in results.values())
    body = {
        "status": "healthy" if healthy else "unhealthy",
        "version": __version__,
        "uptime_seconds": round(time.monotonic() - state.started_monotonic, 3),
        "checks": {name: result.as_json() for name, result in results.items()},
    }
    return JSONResponse(body, status_code=200 if healthy else 503)


routes = [Route("/health", health, methods=["GET"])]
