"""GET /api/security/status: the runbook's `.security_status` and `.report.resource_usage`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.context import service_context


async def security_status(request: Request) -> JSONResponse:
    """Security status.
    ---
    summary: State of the security components, recent events and resource usage
    responses:
      200:
        description: The report; security_status is "active" or "degraded".
        content:
          application/json:
            schema: {$ref: "#/components/schemas/SecurityStatus"}
    """
    state = service_context(request)
    # At most one /proc snapshot a second, taken on the loop: see ResourceSampler.recent.
    usage = state.resource_usage()
    return JSONResponse(await state.security_status.report(usage))


routes = [Route("/api/security/status", security_status, methods=["GET"])]
