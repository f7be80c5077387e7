"""Entity tags of documents and the conditional-request headers that use them (RFC 9110 §13).

A document's ETag is the sha256 of its bytes, quoted: strong (equal tags mean equal
bytes), the same on every replica, and the `sha256` PUT already answers with. A tag
built from mtime and size would not do: file times tick in milliseconds, so two
quick writes of equal size could share one and an If-Match would let the second
editor overwrite the first.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 16
# `*`, or a comma-separated list of entity-tags (optional W/ prefix, quoted opaque part).
_LIST = re.compile(r'\s*(?:\*|(?:W/)?"[^"]*"(?:\s*,\s*(?:W/)?"[^"]*")*)\s*')
_TAG = re.compile(r'(W/)?("[^"]*")')


class InvalidPrecondition(ValueError):
    """An If-Match or If-None-Match value that is neither `*` nor a list of entity-tags."""

    def __init__(self, header: str) -> None:
        super().__init__(f"{header} must be * or a comma-separated list of quoted entity tags")
        self.header = header


def etag_of(data: bytes) -> str:
    """The ETag of a document with these bytes."""
    return f'"{hashlib.sha256(data).hexdigest()}"'


def file_etag(path: Path) -> str | None:
    """The ETag of the document at path, or None when there is none (blocking: reads the file)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return f'"{digest.hexdigest()}"'


# How long after a file's last change its tag may be trusted from the cache: longer
# than any file system's timestamp granularity (the kernel's coarse clock ticks in
# milliseconds), so a change that lands in the same tick as the state we hashed
# cannot leave the key as it was.
SETTLE_NS = 2_000_000_000
Key = tuple[int, int, int, int, int]


@dataclass(frozen=True)
class Seen:
    """A regular file as one stat() saw it: its key, its cached tag, and whether a tag may be kept for it."""

    key: Key
    tag: str | None
    settled: bool


class EtagCache:
    """ETags of documents already hashed, keyed by what any change of the file changes.

    The key is (device, inode, size, mtime, ctime). The service writes by rename, so
    every write gives the path a new inode; an edit in place changes the ctime, which
    no client, copy tool or `touch` can set back (utime() can restore the mtime, and
    a same-size rewrite keeps the size). A file changed less than SETTLE_NS before
    the stat() is hashed afresh on every GET: its ctime might not have ticked since.
    One stat() (cheap enough for the event loop) then tells whether the tag computed
    earlier still holds, instead of reading the whole file again for every GET.
    """

    def __init__(self, size: int = 1024, *, clock: Callable[[], int] = time.time_ns) -> None:
        self._size = size
        self._clock = clock
        self._tags: dict[Key, str] = {}

    def lookup(self, path: Path) -> Seen | None:
        """The file as it is now, with its cached tag if any; None when there is no regular file."""
        now = self._clock()  # before the stat: a change after it gets a later ctime
        try:
            found = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(found.st_mode):
            return None
        key = (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
        return Seen(key, self._tags.get(key), settled=now - found.st_ctime_ns >= SETTLE_NS)

    def remember(self, seen: Seen, etag: str) -> None:
        """Keep the tag hashed after `seen`, unless the file had changed too recently to tell."""
        if not seen.settled:
            return
        if len(self._tags) >= self._size:
            self._tags.clear()  # bounded; documents are few and the next GETs refill it
        self._tags[seen.key] = etag


def _tags(header: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque tag) of each entity-tag in a list; None for `*`."""
    if header.strip() == "*":
        return None
    return [(weak == "W/", tag) for weak, tag in _TAG.findall(header)]


@dataclass(frozen=True)
class Preconditions:
    """The If-Match and If-None-Match headers of one request (None when absent)."""

    if_match: str | None = None
    if_none_match: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Preconditions:
        """The request's conditions; raises InvalidPrecondition for a malformed value."""
        preconditions = cls(headers.get("if-match"), headers.get("if-none-match"))
        for name, value in (("If-Match", preconditions.if_match), ("If-None-Match", preconditions.if_none_match)):
            if value is not None and _LIST.fullmatch(value) is None:
                raise InvalidPrecondition(name)
        return preconditions

    @property
    def present(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None

    def failure(self, current: str | None, *, safe_method: bool = False) -> int | None:
        """The status to answer instead of performing the request (412, or 304 for GET/HEAD), or None.

        `current` is the document's ETag, or None when it does not exist. If-Match uses
        the strong comparison and is evaluated first; If-None-Match the weak one.
        """
        if self.if_match is not None:
            tags = _tags(self.if_match)
            if current is None or (tags is not None and (False, current) not in tags):
                return 412
        if self.if_none_match is not None and current is not None:
            tags = _tags(self.if_none_match)
            if tags is None or any(tag == current for _weak, tag in tags):
                return 304 if safe_method else 412
        return None
