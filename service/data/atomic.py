"""Crash-safe file writes: a reader sees the old document or the new one, never half of one.

The new bytes go to a temporary file in the same directory (so the final rename never
crosses a file system), are fsynced, renamed over the target with os.replace, and the
directory is fsynced so the rename itself survives a power cut. A crash before the
rename leaves only a temporary file whose name `is_temp_name` recognises: nothing
serves, lists, counts, validates or exports it, and `sweep_temp_files` removes it
when the service starts.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

_TEMP_RE = re.compile(r"^\..+\.tmp-[0-9a-f]{12}$")


def temp_name(target: Path) -> Path:
    """A fresh temporary path beside target: `.<name>.tmp-<12 hex>`.

    The name part is cut so the whole stays within NAME_MAX (255 bytes): a document
    named close to the limit must still be writable.
    """
    suffix = f".tmp-{secrets.token_hex(6)}"
    room = 255 - len(suffix) - 1
    name = target.name.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
    return target.with_name(f".{name}{suffix}")


def is_temp_name(name: str) -> bool:
    """True for names atomic writes use for their temporary files."""
    return bool(_TEMP_RE.match(name))


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry change (create, rename, unlink) to disk."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def atomic_write(target: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace target's content with data atomically (blocking: call off the event loop)."""
    tmp = temp_name(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        # Whatever interrupted us, the target still holds the old content; only the
        # temporary file needs to go.
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def atomic_delete(target: Path) -> None:
    """Remove target and make the removal durable (blocking)."""
    target.unlink()
    fsync_dir(target.parent)


def sweep_temp_files(root: Path) -> list[Path]:
    """Remove the temporary files interrupted writes left under root; returns them (blocking).

    Only safe while no write is in flight: the caller holds the store's write lock.
    Symlinked directories are not followed, so nothing outside root is touched.
    """
    removed: list[Path] = []
    for dirpath, _dirnames, filenames in os.walk(root):
        leftovers = [Path(dirpath) / name for name in filenames if is_temp_name(name)]
        for path in leftovers:
            path.unlink(missing_ok=True)
        if leftovers:
            fsync_dir(Path(dirpath))
            removed.extend(leftovers)
    return removed
