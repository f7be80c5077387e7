"""The document-name rules: which relative paths name a document, for every reader and writer.

One module, used by the API (through service.security.paths), by `data validate-backup`
and `data import` (service.ops.backups) and by `data validate` and the document listing
(service.data.validate, service.data.store): a name one of them accepts, every one of
them accepts, and a name one refuses, every one refuses for the same reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePosixPath

# Extension -> media type of every document type the store serves.
MEDIA_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
ALLOWED_EXTENSIONS = frozenset(MEDIA_TYPES)
MAX_PATH_CHARS = 512
# File systems refuse longer names (NAME_MAX); refused here it is the client's mistake,
# not a storage failure.
MAX_SEGMENT_BYTES = 255
# A segment starts with a letter, digit or underscore (so no `.`, `..`, hidden files,
# leading dashes or spaces) and goes on with those, `-`, `.` and spaces. \w is
# Unicode-aware: accented names pass, look-alike dots such as U+FF0E do not.
_SEGMENT = re.compile(r"\w[\w\-. ]*")
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
    """The path may not name a document; `reason` is one word from a fixed set."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def traversal(self) -> bool:
        """Whether the path tried to leave the documents, rather than merely being a bad name."""
        return self.reason in TRAVERSAL_REASONS

    @property
    def description(self) -> str:
        """The reason in words (`segment too long`)."""
        return self.reason.replace("_", " ")


def check_name(relative: str) -> list[str]:
    """The segments of a document path relative to the documents root; raises PathRejected.

    Says nothing of the file system: whether the name exists, or leads outside the
    root through a symlink, is for the caller who resolves it.
    """
    if not relative:
        raise PathRejected("empty_path")
    # Every traversal signal first, so a path that is both (`file:///etc/passwd`,
    # `../bad<name>`, a very long `../../..`) is reported as the traversal it is.
    _check_traversal_text(relative)
    segments = relative.split("/")
    for segment in segments:
        if segment in (".", ".."):
            raise PathRejected("dot_segment")
        if segment.startswith("."):
            raise PathRejected("hidden_file")
        if not segment.isascii() and _lookalike(segment):
            raise PathRejected("lookalike_character")
    if len(relative) > MAX_PATH_CHARS:
        raise PathRejected("path_too_long")
    for segment in segments:
        if segment == "":
            raise PathRejected("empty_segment")
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise PathRejected("segment_too_long")
        if not _SEGMENT.fullmatch(segment):
            raise PathRejected("invalid_character")
    if PurePosixPath(segments[-1]).suffix.lower() not in ALLOWED_EXTENSIONS:
        raise PathRejected("extension_not_allowed")
    return segments


def name_problem(relative: object) -> str | None:
    """Why a relative path cannot name a document, in words, or None when it can."""
    if not isinstance(relative, str):
        return "path must be a string"
    try:
        check_name(relative)
    except PathRejected as rejected:
        return f"name refused: {rejected.description}"
    return None


def media_type(relative: str) -> str:
    """The media type a document with this (accepted) name is served with."""
    return MEDIA_TYPES[PurePosixPath(relative).suffix.lower()]


def file_and_directory(paths: Iterable[str]) -> list[tuple[str, str]]:
    """(document, deeper document) pairs where one name would have to be a file and a directory at once."""
    names = set(paths)
    clashes = []
    for path in sorted(names):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in names:
                clashes.append((parent, path))
    return clashes


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
