"""GET /api/env: what environment this instance runs in (never a secret)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service import __version__
from service.context import service_context


async def env(request: Request) -> JSONResponse:
    """Environment summary.
    ---
    summary: Environment, features and models summary
    responses:
      200:
        description: The environment of this instance.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Env"}
    """
    settings = service_context(request).settings
    models = service_context(request).models_config
    return JSONResponse(
        {
            "environment": settings.environment,
            "app_env": settings.app_env.value,
            "version": __version__,
            "log_level": settings.log_level.value,
            "features": {
                "rate_limiting": True,
                "shared_rate_limits": not settings.rate_limit_storage.startswith("memory"),
                "tracing": service_context(request).tracing_exporting,
                "metrics": True,
                "document_writes": settings.admin_token is not None,
            },
            "models": {"available": len(models.favorites), "default": models.default},
        }
    )


routes = [Route("/api/env", env, methods=["GET"])]
