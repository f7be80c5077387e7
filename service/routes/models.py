"""GET /api/config/models: the models configuration in force."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.context import service_context


async def models_config(request: Request) -> JSONResponse:
    """Models configuration.
    ---
    summary: The models configuration (favorites, default, last used)
    responses:
      200:
        description: The configuration and where it came from.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/ModelsConfig"}
    """
    state = service_context(request)
    return JSONResponse({**state.models_config.model_dump(), "source": state.models_config_source})


routes = [Route("/api/config/models", models_config, methods=["GET"])]
