"""Document paths: what a request may name under the documents root, and nothing else."""

from __future__ import annotations

import re
import unicodedata
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
# Overlong UTF-8 (`%c0%ae` is a dot to a lax decoder) is never valid, only a trick.
_RAW_FORBIDDEN = (b"%2e", b"%2f", b"%5c", b"%00", b"%25", b"\\", b"%c0", b"%c1", b"%e0%80")
# Slashes NFKC does not fold to "/" or "\\" but a renderer or a lax file system might.
_SLASH_LOOKALIKES = frozenset("\u2215\u2044\u29f5\u29f8\u29f9")
# Reasons that mean "trying to reach something outside the documents" (the
# `path_traversal_attempt` event and its alert); every other reason is a name the
# rules do not allow (`invalid_document_name`), usually a client's mistake.
TRAVERSAL_REASONS = frozenset(
    {
        "encoded_characters",
        "nul_byte",
        "backslash",
        "absolute_path",
        "dot_segment",
        "hidden_file",
        "lookalike_character",
        "outside_root",
    }
)


class PathRejected(ValueError):
    """The requested path may not be served; `reason` is one word from a fixed set."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def traversal(self) -> bool:
        """Whether the path tried to leave the documents, rather than merely being a bad name."""
        return self.reason in TRAVERSAL_REASONS


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
    if not requested:
        raise PathRejected("empty_path")
    # Every traversal signal first, so a path that is both (`file:///etc/passwd`,
    # `../bad<name>`, a very long `../../..`) is reported as the traversal it is.
    _check_traversal_text(requested)
    segments = requested.split("/")
    for segment in segments:
        if segment in (".", ".."):
            raise PathRejected("dot_segment")
        if segment.startswith("."):
            raise PathRejected("hidden_file")
        if not segment.isascii() and _lookalike(segment):
            raise PathRejected("lookalike_character")
    if len(requested) > MAX_PATH_CHARS:
        raise PathRejected("path_too_long")
    for segment in segments:
        if segment == "":
            raise PathRejected("empty_segment")
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


def _check_traversal_text(requested: str) -> None:
    if "\x00" in requested:
        raise PathRejected("nul_byte")
    if "\\" in requested:
        raise PathRejected("backslash")
    if requested.startswith("/") or re.match(r"[A-Za-z]:", requested) or "://" in requested:
        raise PathRejected("absolute_path")
    if "%" in requested:
        raise PathRejected("encoded_characters")  # still encoded after one decoding: double encoding


def _lookalike(segment: str) -> bool:
    """Whether a non-ASCII segment hides a dot segment or a slash (U+FF0E U+FF0E, U+2215)."""
    if not _SLASH_LOOKALIKES.isdisjoint(segment):
        return True
    folded = unicodedata.normalize("NFKC", segment)
    return folded.startswith(".") or "/" in folded or "\\" in folded


def path_rejection(events: SecurityEvents, exc: PathRejected, *, client_ip: str, requested: str) -> JSONResponse:
    """Record the refusal and build the JSON 400 a route answers with.

    A traversal is `path_traversal_attempt` (warning) and `invalid_path`; a name the
    rules do not allow is `invalid_document_name` (info), for the event and the code.
    """
    reason = exc.reason.replace("_", " ")
    if exc.traversal:
        events.record(
            "path_traversal_attempt", "warning", client_ip, reason=exc.reason, requested=requested[:MAX_PATH_CHARS]
        )
        return error_response(400, "invalid_path", f"document path refused: {reason}")
    events.record("invalid_document_name", "info", client_ip, reason=exc.reason, requested=requested[:MAX_PATH_CHARS])
    return error_response(400, "invalid_document_name", f"document name refused: {reason}")
