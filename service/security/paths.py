"""Document paths in requests: what a request may name under the documents root, and nothing else.

The name rules themselves are service.data.names, shared with the backup and data
commands; this module adds what only a request has: the path as it came on the wire,
and the file system it resolves against (symlinks that lead out of the root).
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import JSONResponse

from service.data.names import (
    ALLOWED_EXTENSIONS,
    MAX_PATH_CHARS,
    MAX_SEGMENT_BYTES,
    TRAVERSAL_REASONS,
    PathRejected,
    check_name,
)
from service.errors import error_response
from service.security.events import SecurityEvents

__all__ = [
    "ALLOWED_EXTENSIONS",
    "MAX_PATH_CHARS",
    "MAX_SEGMENT_BYTES",
    "TRAVERSAL_REASONS",
    "PathRejected",
    "path_rejection",
    "resolve_document",
]

# Percent-escapes that have no business in a document URL once the server decoded
# it once: an encoded dot, slash, backslash, NUL or percent sign (double encoding).
# Overlong UTF-8 (`%c0%ae` is a dot to a lax decoder) is never valid, only a trick.
_RAW_FORBIDDEN = (b"%2e", b"%2f", b"%5c", b"%00", b"%25", b"\\", b"%c0", b"%c1", b"%e0%80")


def resolve_document(root: Path, requested: str, *, raw_path: bytes | None = None) -> Path:
    """The file `requested` names inside `root`, resolved; raises PathRejected otherwise.

    `requested` is the decoded path (the route's path parameter); `raw_path` is the
    path as it came on the wire (`scope["raw_path"]`), checked for encoded tricks
    the decoding would hide. The file need not exist (writes create it).
    """
    if raw_path is not None:
        lowered = raw_path.lower()
        if any(token in lowered for token in _RAW_FORBIDDEN):
            raise PathRejected("encoded_characters")
    segments = check_name(requested)
    base = root.resolve()
    # resolve() follows symlinks, so a link inside root pointing outside is caught here.
    target = base.joinpath(*segments).resolve()
    if not target.is_relative_to(base) or target == base:
        raise PathRejected("outside_root")
    return target


def path_rejection(events: SecurityEvents, exc: PathRejected, *, client_ip: str, requested: str) -> JSONResponse:
    """Record the refusal and build the JSON 400 a route answers with.

    A traversal is `path_traversal_attempt` (warning) and `invalid_path`; a name the
    rules do not allow is `invalid_document_name` (info), for the event and the code.
    """
    reason = exc.description
    if exc.traversal:
        events.record(
            "path_traversal_attempt", "warning", client_ip, reason=exc.reason, requested=requested[:MAX_PATH_CHARS]
        )
        return error_response(400, "invalid_path", f"document path refused: {reason}")
    events.record("invalid_document_name", "info", client_ip, reason=exc.reason, requested=requested[:MAX_PATH_CHARS])
    return error_response(400, "invalid_document_name", f"document name refused: {reason}")
