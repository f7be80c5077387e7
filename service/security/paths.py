"""Document paths: what a request may name under the documents root, and nothing else."""
from __future__ import annotations

import re
from pathlib import Path

from starlette.responses import JSONResponse

from service.errors import error_response
from service.security.events import SecurityEvents

ALLOWED_EXTENSIONS = frozenset({".json", ".csv", ".md", ".html", ".txt"})
MAX_PATH_CHARS = 512
# File systems refuse longer names (NAME_MAX); refused here it is the client's mistake,
# not a storage failure.
MAX_SEGMENT_BYTES = 255
# A segment starts with a letter, digit or underscore (so no `.`, `..`, hidden files,
# leading dashes or spaces) and goes on with those, `-`, `.` and spaces. \w is
# Unicode-aware: accented names pass, look-alike dots such as U+FF0E do not.
_SEGMENT = re.compile(r"\w[\w\-. ]*")
# Percent-escapes that have no business in a document URL once the server decoded
# it once: an encoded dot, slash, backslash, NUL or percent sign (double encoding).
_RAW_FORBIDDEN = (b"%2e", b"%2f", b"%5c", b"%00", b"%25", b"\\")


class PathRejected(ValueError):
    """The requested path may not be served; `reason` is one word from a fixed set."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    _check_text(requested)
    segments = requested.split("/")
    for segment in segments:
        if segment == "":
            raise PathRejected("empty_segment")
        if segment in (".", ".."):
            raise PathRejected("dot_segment")
        if segment.startswith("."):
            raise PathRejected("hidden_file")
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise PathRejected("segment_too_long")
        if not _SEGMENT.fullmatch(segment):
            raise PathRejected("invalid_character")
    if Path(segments[-1]).suffix.lower() not in ALLOWED_EXTENSIONS:
        raise PathRejected("extension_not_allowed")
    base = root.resolve()
    # resolve() follows symlinks, so a link inside root pointing outside is caught here.
    target = base.joinpath(*segments).resolve()
    if not target.is_relative_to(base) or target == base:
        raise PathRejected("outside_root")
    return target


def _check_text(requested: str) -> None:
    if not requested:
        raise PathRejected("empty_path")
    if len(requested) > MAX_PATH_CHARS:
        raise PathRejected("path_too_long")
    if "\x00" in requested:
        raise PathRejected("nul_byte")
    if "\\" in requested:
        raise PathRejected("backslash")
    if requested.startswith("/") or re.match(r"[A-Za-z]:", requested):
        raise PathRejected("absolute_path")
    if "%" in requested:
        raise PathRejected("encoded_characters")  # still encoded after one decoding: double encoding


def path_rejection(events: SecurityEvents, exc: PathRejected, *, client_ip: str, requested: str) -> JSONResponse:
    """Record `path_traversal_attempt` and build the JSON 400 a route answers with."""
    events.record(
        "path_traversal_attempt", "warning", client_ip, reason=exc.reason, requested=requested[:MAX_PATH_CHARS]
    )
    return error_response(400, "invalid_path", f"document path refused: {exc.reason.replace('_', ' ')}")
