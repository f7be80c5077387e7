"""Document changes decided and made under one lock: create versus replace, If-Match, sweeps.

Every change takes an exclusive `flock` on the documents root directory, so "does it
exist, does its ETag match" and the write that follows are one step for every
thread and every worker process: of 50 clients creating the same document at once,
exactly one is told it created it, and an If-Match cannot pass for two editors.
Reads take no lock: a reader sees the old bytes or the new ones (atomic rename).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service.data.atomic import atomic_delete, atomic_write, sweep_temp_files
from service.data.etags import Preconditions, etag_of, file_etag


class PreconditionFailed(Exception):
    """An If-Match or If-None-Match header does not hold; `current` is the document's ETag (or None)."""

    def __init__(self, current: str | None) -> None:
        super().__init__("precondition failed")
        self.current = current


class PathConflict(Exception):
    """A folder of the target's path is a document: one name cannot be a file and a directory."""


@dataclass(frozen=True)
class Written:
    created: bool
    etag: str


@contextmanager
def write_lock(root: Path) -> Iterator[None]:
    """Exclusive lock on root for one change (blocking: call off the event loop)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_document(root: Path, target: Path, data: bytes, preconditions: Preconditions) -> Written:
    """Create or replace target with data, if the preconditions hold (blocking)."""
    with write_lock(root):
        if target.is_dir():
            raise IsADirectoryError(str(target))
        if preconditions.present:
            current = file_etag(target)
            if preconditions.failure(current) is not None:
                raise PreconditionFailed(current)
            exists = current is not None
        else:
            exists = target.is_file()
        # Parents stay inside root: the path rules already placed target under it.
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise PathConflict(str(target)) from None
        atomic_write(target, data)
    return Written(created=not exists, etag=etag_of(data))


def delete_document(root: Path, target: Path, preconditions: Preconditions) -> bytes | None:
    """Delete target if the preconditions hold; its bytes, or None when there was none (blocking)."""
    with write_lock(root):
        if not target.is_file():
            if preconditions.failure(None) is not None:
                raise PreconditionFailed(None)
            return None
        data = target.read_bytes()
        current = etag_of(data)
        if preconditions.failure(current) is not None:
            raise PreconditionFailed(current)
        atomic_delete(target)
    return data


def sweep_leftovers(root: Path) -> list[Path]:
    """Remove what interrupted writes left under root, with no write in flight (blocking)."""
    with write_lock(root):
        return sweep_temp_files(root)
