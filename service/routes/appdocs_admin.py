"""PUT and DELETE /api/appdocs/{path}: authenticated, audited, atomic document changes."""
from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.data.atomic import atomic_delete, atomic_write
from service.security.inspection import SuspiciousInput, input_rejection, parse_json_body
from service.errors import error_response
from service.security.paths import PathRejected, path_rejection, resolve_document

audit = logging.getLogger("ai_diy.audit")
log = logging.getLogger("ai_diy.data")

def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _authorize(request: Request) -> Response | None:
    """None when the bearer token matches settings.admin_token, else the error to answer."""
    token = request.app.state.settings.admin_token
    expected = token.get_secret_value() if token is not None else ""
    if not expected:
        return error_response(403, "writes_disabled", "document writes are disabled: no admin token is configured")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # compare_digest on bytes: constant time whatever the token's characters.
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode()):
        return None
    request.app.state.security_events.record(
        "auth_failure",
        "warning",
        _client_ip(request),
        method=request.method,
        path=request.url.path[:256],
        reason="missing_token" if not given else "wrong_token",
    )
    return error_response(
        401, "unauthorized", "a valid admin bearer token is required", headers={"WWW-Authenticate": 'Bearer realm="ai-diy"'}
    )


async def _authorized_target(request: Request) -> Path | Response:
    """The document a write may change, or the refusal to answer with (auth first, then path rules)."""
    denied = _authorize(request)
    if denied is not None:
        return denied
    root = request.app.state.document_store.root
    requested = request.path_params["path"]
    try:
        return await run_in_threadpool(resolve_document, root, requested, raw_path=request.scope.get("raw_path"))
    except PathRejected as rejected:
        return path_rejection(request.app.state.security_events, rejected, client_ip=_client_ip(request), requested=requested)


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


def _write(target: Path, body: bytes) -> bool:
    """Blocking part of PUT: returns True when the document is new."""
    if target.is_dir():
        raise IsADirectoryError(str(target))
    created = not target.exists()
    # Parents stay inside root: resolve_document already placed target under it.
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, body)
    return created


def _delete(target: Path) -> bytes | None:
    """Blocking part of DELETE: the removed content, or None when there was none."""
    if not target.is_file():
        return None
    data = target.read_bytes()
    atomic_delete(target)
    return data


async def put_document(request: Request) -> Response:
    """Create or replace a document.
    ---
    summary: Write a document atomically (admin bearer token)
    parameters:
      - {name: path, in: path, required: true, schema: {type: string}}
    requestBody:
      description: The document's bytes; an empty body writes an empty document.
      required: false
      content: {"application/octet-stream": {schema: {type: string, format: binary}}}
    responses:
      200: {description: Replaced.}
      201: {description: Created.}
      400: {description: Bad path or a .json document that does not parse.}
      404: {description: The path cannot name a document (no route matches it).}
      401: {description: Missing or wrong bearer token.}
      403: {description: Writes are disabled (no admin token configured).}
      413: {description: Body larger than the configured limit.}
      503: {description: The data store could not be written.}
    """
    target = await _authorized_target(request)
    if isinstance(target, Response):
        return target
    body = await request.body()
    settings = request.app.state.settings
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
                request.app.state.security_events, suspicious, client_ip=client_ip, path=request.url.path
            )
    relative = target.relative_to(request.app.state.document_store.root.resolve()).as_posix()
    try:
        created = await run_in_threadpool(_write, target, body)
    except IsADirectoryError:
        return error_response(409, "path_is_directory", f"{relative!r} is a directory")
    except OSError as exc:
        log.error("document write failed for %s: %s", relative, exc, extra={"event": "document_write_failed", "status": "error"})
        return error_response(503, "data_store_unavailable", "the document could not be written")
    _audit("document written", "document_put", request, relative, body)
    status = 201 if created else 200
    return JSONResponse(
        {"path": relative, "size": len(body), "sha256": hashlib.sha256(body).hexdigest(), "created": created},
        status_code=status,
    )


async def delete_document(request: Request) -> Response:
    """Delete a document.
    ---
    summary: Delete a document (admin bearer token)
    parameters:
      - {name: path, in: path, required: true, schema: {type: string}}
    responses:
      200: {description: Deleted.}
      400: {description: The path breaks the path rules.}
      401: {description: Missing or wrong bearer token.}
      403: {description: Writes are disabled (no admin token configured).}
      404: {description: No such document.}
      503: {description: The data store could not be written.}
    """
    target = await _authorized_target(request)
    if isinstance(target, Response):
        return target
    relative = target.relative_to(request.app.state.document_store.root.resolve()).as_posix()
    try:
        removed = await run_in_threadpool(_delete, target)
    except OSError as exc:
        log.error("document delete failed for %s: %s", relative, exc, extra={"event": "document_delete_failed", "status": "error"})
        return error_response(503, "data_store_unavailable", "the document could not be deleted")
    if removed is None:
        return error_response(404, "document_not_found", f"no document {relative!r}")
    _audit("document deleted", "document_delete", request, relative, removed)
    return JSONResponse({"path": relative, "size": len(removed), "sha256": hashlib.sha256(removed).hexdigest(), "deleted": True})

