"""GET /api/data/status: the document store's state."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.errors import error_response


async def data_status(request: Request) -> JSONResponse:
    """Data store status.
    ---
    summary: Document store status
    responses:
      200:
        description: The store is readable and writable.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/DataStatus"}
      503:
        description: The store is unavailable.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Error"}
    """
    status = await run_in_threadpool(request.app.state.document_store.status)
    if status["status"] != "ok":
        return error_response(503, "data_store_unavailable", f"data store unavailable: {status['detail']}")
    return JSONResponse(status)


routes = [Route("/api/data/status", data_status, methods=["GET"])]
