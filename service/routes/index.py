"""GET /: what this service is and where to go next (a newcomer's first `curl`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service import __version__
from service.context import service_context

NAME = "AI-DIY API"
DOCS_URL = "https://github.com/ai-diy/ai-diy#readme"


async def index(request: Request) -> JSONResponse:
    """Service index.
    ---
    summary: Name, version and links to health, the API description, metrics and docs
    description: >-
      Not rate limited (it is not under /api/). With AI_DIY_METRICS_PORT set, the
      metrics link points at that port.
    responses:
      200:
        description: The index.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Index"}
    """
    metrics_port = service_context(request).settings.metrics_port
    # On a separate metrics port the main port does not answer /metrics.
    metrics = "/metrics" if metrics_port is None else str(request.url.replace(port=metrics_port, path="/metrics"))
    return JSONResponse(
        {
            "name": NAME,
            "version": __version__,
            "links": {"health": "/health", "openapi": "/openapi.json", "metrics": metrics, "docs": DOCS_URL},
        }
    )


routes = [Route("/", index, methods=["GET"])]
