"""PUT and DELETE /api/appdocs/{path}: authenticated, audited, atomic document changes."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.context import service_context
from service.data import writes
from service.data.etags import InvalidPrecondition, Preconditions
from service.data.writes import PathConflict, PreconditionFailed
from service.errors import error_response
from service.security.admin_token import bearer_refusal
from service.security.inspection import SuspiciousInput, input_rejection, parse_json_body
from service.security.paths import PathRejected, path_rejection, resolve_document

audit = logging.getLogger("ai_diy.audit")
log = logging.getLogger("ai_diy.data")


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _authorize(request: Request) -> Response | None:
    """None when the bearer token matches settings.admin_token, else the error to answer."""
    token = service_context(request).settings.admin_token
    expected = token.get_secret_value() if token is not None else ""
    if not expected:
        return error_response(403, "writes_disabled", "document writes are disabled: no admin token is configured")
    return bearer_refusal(request, expected, service_context(request).security_events)


async def _authorized_target(request: Request) -> Path | Response:
    """The document a write may change, or the refusal to answer with (auth first, then path rules)."""
    denied = _authorize(request)
    if denied is not None:
        return denied
    store = service_context(request).document_store
    requested = request.path_params["path"]
    try:
        target = await run_in_threadpool(
            resolve_document, store.root, requested, raw_path=request.scope.get("raw_path")
        )
    except PathRejected as rejected:
        return path_rejection(
            service_context(request).security_events, rejected, client_ip=_client_ip(request), requested=requested
        )
    # A read-only store (a read-only mount, a full quota) keeps serving reads; a write
    # is refused before it starts, not half-way through.
    health = await run_in_threadpool(store.health)
    if not health.ok:
        return error_response(503, "data_store_unavailable", f"data store unavailable: {health.detail}")
    return target


def _audit(message: str, event: str, request: Request, relative: str, data: bytes) -> None:
    audit.info(
        message,
        extra={
            "event": event,
            "status": "success",
            "details": {
                "client_ip": _client_ip(request),
                "path": relative,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        },
    )


def read_preconditions(request: Request) -> Preconditions | Response:
    """The request's If-Match / If-None-Match, or the 400 to answer when one is malformed."""
    try:
        return Preconditions.from_headers(request.headers)
    except InvalidPrecondition as exc:
        return error_response(400, "invalid_precondition", str(exc))


def precondition_failed(current: str | None) -> Response:
    """The 412 answer to a request whose If-Match / If-None-Match does not hold."""
    if current is None:
        return error_response(412, "precondition_failed", "precondition failed: the document does not exist")
    return error_response(
        412,
        "precondition_failed",
        "precondition failed: the document's current ETag is in the ETag header",
        headers={"ETag": current},
    )


async def put_document(request: Request) -> Response:
    """Create or replace a document.
    ---
    summary: Write a document atomically (admin bearer token)
    parameters:
      - {name: path, in: path, required: true, schema: {type: string}}
      - $ref: "#/components/parameters/IfMatch"
      - $ref: "#/components/parameters/IfNoneMatch"
    description: >-
      Conditional: `If-Match: "<etag>"` replaces only the version that ETag names
      (an editor does not overwrite a change it has not seen), `If-None-Match: *`
      creates only (never replaces). Either answers 412 when it does not hold.
      Concurrent creations of one new document get exactly one 201.
    requestBody:
      description: The document's bytes; an empty body writes an empty document.
      required: false
      content: {"application/octet-stream": {schema: {type: string, format: binary}}}
    responses:
      200:
        description: Replaced.
        headers: {ETag: {$ref: "#/components/headers/ETag"}}
      201:
        description: Created.
        headers: {ETag: {$ref: "#/components/headers/ETag"}}
      400:
        description: Bad path, a malformed If-Match / If-None-Match, or a .json document that does not parse.
      404:
        description: The path cannot name a document (no route matches it).
      401:
        description: Missing or wrong bearer token.
      403:
        description: Writes are disabled (no admin token configured).
      409:
        description: The path names a directory, or one of its folders is a document (`path_conflict`).
      412:
        description: If-Match or If-None-Match does not hold; the current ETag, if any, is in the ETag header.
        headers: {ETag: {$ref: "#/components/headers/ETag"}}
      413:
        description: Body larger than the configured limit.
      503:
        description: The data store could not be written.
    """
    target = await _authorized_target(request)
    if isinstance(target, Response):
        return target
    preconditions = read_preconditions(request)
    if isinstance(preconditions, Response):
        return preconditions
    body = await request.body()
    settings = service_context(request).settings
    if len(body) > settings.max_request_bytes:  # the body-size middleware normally answers first
        return error_response(413, "request_too_large", f"document larger than {settings.max_request_bytes} bytes")
    if target.suffix.lower() == ".json":
        # Through the security layer's inspection: malformed JSON, hostile nesting,
        # oversized strings or arrays and NUL bytes are security events, not just typos.
        try:
            await run_in_threadpool(parse_json_body, body)
        except SuspiciousInput as suspicious:
            client_ip = request.client.host if request.client else "unknown"
            return input_rejection(
                service_context(request).security_events, suspicious, client_ip=client_ip, path=request.url.path
            )
    root = service_context(request).document_store.root
    relative = target.relative_to(root.resolve()).as_posix()
    try:
        written = await run_in_threadpool(writes.write_document, root, target, body, preconditions)
    except PreconditionFailed as failed:
        return precondition_failed(failed.current)
    except IsADirectoryError:
        return error_response(409, "path_is_directory", f"{relative!r} is a directory")
    except PathConflict:
        return error_response(
            409, "path_conflict", f"a folder of {relative!r} is a document: a name cannot be a file and a folder"
        )
    except OSError as exc:
        log.error(
            "document write failed for %s: %s",
            relative,
            exc,
            extra={"event": "document_write_failed", "status": "error"},
        )
        return error_response(503, "data_store_unavailable", "the document could not be written")
    service_context(request).document_store.changed()
    _audit("document written", "document_put", request, relative, body)
    return JSONResponse(
        {"path": relative, "size": len(body), "sha256": hashlib.sha256(body).hexdigest(), "created": written.created},
        status_code=201 if written.created else 200,
        headers={"ETag": written.etag},
    )


async def delete_document(request: Request) -> Response:
    """Delete a document.
    ---
    summary: Delete a document (admin bearer token)
    parameters:
      - {name: path, in: path, required: true, schema: {type: string}}
      - $ref: "#/components/parameters/IfMatch"
      - $ref: "#/components/parameters/IfNoneMatch"
    description: >-
      Conditional: `If-Match: "<etag>"` deletes only the version that ETag names; 412
      when it does not hold.
    responses:
      200:
        description: Deleted.
      400:
        description: The path breaks the path rules, or a malformed If-Match / If-None-Match.
      401:
        description: Missing or wrong bearer token.
      403:
        description: Writes are disabled (no admin token configured).
      404:
        description: No such document.
      412:
        description: If-Match or If-None-Match does not hold; the current ETag, if any, is in the ETag header.
        headers: {ETag: {$ref: "#/components/headers/ETag"}}
      503:
        description: The data store could not be written.
    """
    target = await _authorized_target(request)
    if isinstance(target, Response):
        return target
    preconditions = read_preconditions(request)
    if isinstance(preconditions, Response):
        return preconditions
    root = service_context(request).document_store.root
    relative = target.relative_to(root.resolve()).as_posix()
    try:
        removed = await run_in_threadpool(writes.delete_document, root, target, preconditions)
    except PreconditionFailed as failed:
        return precondition_failed(failed.current)
    except OSError as exc:
        log.error(
            "document delete failed for %s: %s",
            relative,
            exc,
            extra={"event": "document_delete_failed", "status": "error"},
        )
        return error_response(503, "data_store_unavailable", "the document could not be deleted")
    if removed is None:
        return error_response(404, "document_not_found", f"no document {relative!r}")
    service_context(request).document_store.changed()
    _audit("document deleted", "document_delete", request, relative, removed)
    return JSONResponse(
        {"path": relative, "size": len(removed), "sha256": hashlib.sha256(removed).hexdigest(), "deleted": True}
    )
