"""The appdocs store: documents under `<data dir>/appdocs`, read through the path rules."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service.data import documents_dir
from service.data.etags import EtagCache
from service.data.names import MEDIA_TYPES, PathRejected, check_name
from service.data.writes import sweep_leftovers

log = logging.getLogger("ai_diy.data")
# How old a cached /api/data/status summary may be (see DocumentStore.cached_status).
STATUS_MAX_AGE = 1.0


@dataclass(frozen=True)
class DocumentInfo:
    path: str  # relative to the appdocs root, with forward slashes
    size: int
    modified: float


__all__ = ["MEDIA_TYPES", "STATUS_MAX_AGE", "DocumentInfo", "DocumentStore", "StoreHealth"]


@dataclass(frozen=True)
class StoreHealth:
    """Whether the store can be written (`ok`) and read (`readable`); a read-only store is readable, not ok."""

    ok: bool
    detail: str
    readable: bool = True


class DocumentStore:
    """Read access and health of the documents directory (writes live in service.data.atomic)."""

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.data_dir = data_dir
        self.root = documents_dir(data_dir)
        self._clock = clock
        self.etags = EtagCache()
        # (taken at, fingerprint, summary) of the last good status; see cached_status.
        self._status: tuple[float, tuple[int, ...], dict[str, object]] | None = None

    def ensure(self) -> None:
        """Create the directories on first start; what cannot be created is left for health to report.

        A read-only mount without the documents directory must not stop start-up: the
        service starts, and /health names the missing directory.
        """
        try:
            if not self.data_dir.exists():
                self.root.mkdir(parents=True, exist_ok=True)
            elif self.data_dir.is_dir() and not self.root.exists():
                self.root.mkdir(exist_ok=True)
        except OSError as exc:
            log.warning(
                "cannot create the documents directory: %s",
                exc.strerror,
                extra={"event": "data_store_unavailable", "data_dir": str(self.data_dir)},
            )

    def health(self) -> StoreHealth:
        """Whether the store can be read and written (blocking: call off the event loop).

        The detail names the directory by its role, never its path: it reaches clients.
        """
        for label, path in (("data directory", self.data_dir), ("documents directory", self.root)):
            if not path.exists():
                return StoreHealth(False, f"{label} does not exist", readable=False)
            if not path.is_dir():
                return StoreHealth(False, f"{label} is not a directory", readable=False)
            # access() also reports a read-only file system for root, which plain
            # permission bits would not.
            if not os.access(path, os.R_OK | os.X_OK):
                return StoreHealth(False, f"{label} is not readable", readable=False)
        for label, path in (("data directory", self.data_dir), ("documents directory", self.root)):
            if not os.access(path, os.W_OK):
                return StoreHealth(False, f"{label} is not writable (documents are still served)")
        return StoreHealth(True, "readable and writable")

    def documents(self) -> list[DocumentInfo]:
        """Every servable document, sorted by path (blocking)."""
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                full = Path(dirpath) / name
                relative = full.relative_to(self.root).as_posix()
                try:
                    check_name(relative)  # only what GET /api/appdocs/{path} would serve
                except PathRejected:
                    continue
                if full.is_symlink():
                    continue
                stat = full.stat()
                found.append(DocumentInfo(relative, stat.st_size, stat.st_mtime))
        return found

    def cached_status(self) -> dict[str, object] | None:
        """The last good summary when it is under STATUS_MAX_AGE old and the directories look unchanged.

        Two stat() calls, cheap enough for the event loop: a status request under
        load skips the walk and its thread hop. A write through the service
        (`changed`) or a changed top-level directory makes it stale at once; a
        file changed deeper by hand shows within STATUS_MAX_AGE seconds.
        """
        cached = self._status
        if cached is None or self._clock() - cached[0] >= STATUS_MAX_AGE:
            return None
        return cached[2] if self._fingerprint() == cached[1] else None

    def changed(self) -> None:
        """A document was written or deleted: the next status is computed afresh."""
        self._status = None

    def _fingerprint(self) -> tuple[int, ...]:
        try:
            data, root = os.stat(self.data_dir), os.stat(self.root)
        except OSError:
            return ()
        return (data.st_ino, data.st_mtime_ns, root.st_ino, root.st_mtime_ns)

    def status(self) -> dict[str, object]:
        """Summary for /api/data/status (blocking); a good one is kept for cached_status."""
        taken_at, fingerprint = self._clock(), self._fingerprint()
        health = self.health()
        if not health.readable:
            self._status = None
            return {"status": "unavailable", "detail": health.detail}
        docs = self.documents()
        by_type: dict[str, int] = {}
        for doc in docs:
            suffix = Path(doc.path).suffix.lower()
            by_type[suffix] = by_type.get(suffix, 0) + 1
        summary: dict[str, object] = {
            "status": "ok",
            "documents": len(docs),
            "total_bytes": sum(d.size for d in docs),
            "by_type": by_type,
            "last_modified": max((d.modified for d in docs), default=None),
            "writable": health.ok,
        }
        if fingerprint:
            self._status = (taken_at, fingerprint, summary)
        return summary

    def sweep(self) -> list[str]:
        """Remove what writes interrupted by a crash left behind, and log it (blocking; at start).

        Returns the removed paths, relative to the root. A store that cannot be
        read or written is left alone: its health check reports it.
        """
        if not self.health().ok:
            return []
        removed = [path.relative_to(self.root).as_posix() for path in sweep_leftovers(self.root)]
        if removed:
            log.warning(
                "removed %d temporary file(s) left by interrupted writes",
                len(removed),
                extra={"event": "interrupted_writes_swept", "details": {"count": len(removed), "paths": removed[:100]}},
            )
        return removed
