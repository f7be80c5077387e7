"""GET /api/appdocs and /api/appdocs/{path}: documents from `<data dir>/appdocs`."""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from service.context import service_context
from service.data.etags import file_etag
from service.data.names import MEDIA_TYPES
from service.errors import error_response
from service.routes.appdocs_admin import delete_document, precondition_failed, put_document, read_preconditions
from service.security.paths import PathRejected, path_rejection, resolve_document


async def list_documents(request: Request) -> JSONResponse:
    """Document index.
    ---
    summary: List every document
    responses:
      200:
        description: Paths and sizes of every document.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/DocumentList"}
      503:
        description: The store cannot be read.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Error"}
    """
    store = service_context(request).document_store
    health = await run_in_threadpool(store.health)
    if not health.readable:  # a read-only store still lists its documents
        return error_response(503, "data_store_unavailable", f"data store unavailable: {health.detail}")
    docs = await run_in_threadpool(store.documents)
    return JSONResponse({"documents": [{"path": d.path, "size": d.size} for d in docs]})


async def get_document(request: Request) -> Response:
    """One document.
    ---
    summary: Read a document (.json .csv .md .html .txt)
    parameters:
      - {name: path, in: path, required: true, schema: {type: string}}
      - $ref: "#/components/parameters/IfMatch"
      - $ref: "#/components/parameters/IfNoneMatch"
    description: >-
      The ETag header is the sha256 of the document's bytes (strong): send it back
      as If-Match on PUT or DELETE so that a change made meanwhile is not overwritten,
      or as If-None-Match here for a 304 when the copy you have is current.
    responses:
      200:
        description: The document, with the media type of its extension.
        headers: {ETag: {$ref: "#/components/headers/ETag"}}
      304:
        description: If-None-Match names the current version.
        headers: {ETag: {$ref: "#/components/headers/ETag"}}
      412:
        description: If-Match does not name the current version.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Error"}
      400:
        description: The path breaks the path rules, or a malformed If-Match / If-None-Match.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Error"}
      404:
        description: No such document.
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Error"}
    """
    store = service_context(request).document_store
    requested = request.path_params["path"]
    try:
        path = await run_in_threadpool(resolve_document, store.root, requested, raw_path=request.scope.get("raw_path"))
    except PathRejected as rejected:
        client_ip = request.client.host if request.client else "unknown"
        return path_rejection(
            service_context(request).security_events, rejected, client_ip=client_ip, requested=requested
        )
    preconditions = read_preconditions(request)
    if isinstance(preconditions, Response):
        return preconditions
    seen = store.etags.lookup(path)
    etag = seen.tag if seen is not None else None
    if seen is not None and etag is None:
        etag = await run_in_threadpool(file_etag, path)
        if etag is not None:
            store.etags.remember(seen, etag)
    failure = preconditions.failure(etag, safe_method=True) if preconditions.present else None
    if failure == 412:
        return precondition_failed(etag)
    if etag is None:
        return error_response(404, "document_not_found", f"no document {requested!r}")
    if failure == 304:
        return Response(status_code=304, headers={"ETag": etag})
    return FileResponse(path, media_type=MEDIA_TYPES[Path(path).suffix.lower()], headers={"ETag": etag})


class Document(HTTPEndpoint):
    """One document: read by anyone, written and deleted with the admin token.

    One route for all three methods, so a 405 lists every method the path allows
    (separate routes would each claim only their own).
    """

    get = staticmethod(get_document)
    put = staticmethod(put_document)
    delete = staticmethod(delete_document)


routes = [
    Route("/api/appdocs", list_documents, methods=["GET"]),
    Route("/api/appdocs/{path:path}", Document),
]
