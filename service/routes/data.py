"""GET /api/data/status: the document store's state."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.context import service_context
from service.errors import error_response

log = logging.getLogger("ai_diy.api")


async def data_status(request: Request) -> JSONResponse:
    """Data store status.
    ---
    summary: Document store status
    description: >-
      Counted afresh at most once a second: within that second a write through
      this service, or a change of the data or documents directory, counts again
      at once; a file changed by hand deeper in the tree shows a second later.
    responses:
      200:
        description: >-
          The store can be read; `writable` says whether writes are accepted (a
          read-only store still serves its documents, and its writes answer 503).
        content:
          application/json:
            schema: {$ref: "#/components/schemas/DataStatus"}
      503:
        description: The store cannot be read.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Error"}
    """
    store = service_context(request).document_store
    status = store.cached_status()
    if status is None:
        status = await run_in_threadpool(store.status)
    if status["status"] != "ok":
        # The client hears what is wrong, the log also where: no server path in a response.
        log.warning(
            "data store unavailable: %s (%s)",
            status["detail"],
            store.data_dir,
            extra={"event": "data_store_unavailable", "data_dir": str(store.data_dir)},
        )
        return error_response(503, "data_store_unavailable", f"data store unavailable: {status['detail']}")
    return JSONResponse(status)


routes = [Route("/api/data/status", data_status, methods=["GET"])]
