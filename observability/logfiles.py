"""Daily JSONL log files that survive a removed directory, a full disk and rotation."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Protocol

from .logformat import encode_line


class Placed(Protocol):
    """What places a line in a file: its logger's name and when it was created."""

    @property
    def name(self) -> str: ...

    @property
    def created(self) -> float: ...


class DailyJsonlHandler(logging.Handler):
    """Appends formatted records to `<dir>/<prefix>_YYYYMMDD.jsonl`; never raises.

    Runs on the writer thread only. Once a second (`check_interval`) it checks that
    the open file is still the one at the path (directory removed or replaced,
    rotated away) and reopens it; after a failure it retries on the same rhythm.
    """

    def __init__(
        self,
        directory: Path,
        prefix: str,
        *,
        on_error: Callable[[BaseException | None], None],
        only: str | None = None,
        check_interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.directory = directory
        self.prefix = prefix
        self.healthy = True
        self.last_error: str | None = None
        self._only = only
        self._on_error = on_error
        self._interval = check_interval
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._path_day = -1
        self._day_path = directory
        self._next_check = 0.0

    def accepts(self, name: str) -> bool:
        """Whether records of this logger belong in this file."""
        return self._only is None or name == self._only or name.startswith(self._only + ".")

    def path_for(self, created: float) -> Path:
        day = int(created // 86_400)
        if day != self._path_day:  # one strftime and Path per day, not per line
            self._path_day = day
            self._day_path = self.directory / f"{self.prefix}_{time.strftime('%Y%m%d', time.gmtime(created))}.jsonl"
        return self._day_path

    def _close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

    def _open(self, path: Path) -> None:
        self._close()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115  # kept open across writes; _close closes it
        self._path = path

    def _still_current(self) -> bool:
        assert self._file is not None and self._path is not None  # noqa: S101  # narrows the types: only called with a file open
        try:
            on_disk = os.stat(self._path)
        except OSError:
            return False
        mine = os.fstat(self._file.fileno())
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    def emit(self, record: logging.LogRecord) -> None:
        if self.accepts(record.name):
            self.write_lines(self.path_for(record.created), [encode_line(self.format(record))])

    def write_batch(self, records: Sequence[Placed], lines: list[bytes]) -> None:
        """Append the lines of the records this file accepts (the writer thread's batch)."""
        path: Path | None = None
        group: list[bytes] = []
        for record, line in zip(records, lines, strict=True):
            if not self.accepts(record.name):
                continue
            record_path = self.path_for(record.created)
            # Identity: path_for hands out one Path a day, and Path's == runs Python code per line.
            if record_path is not path:
                if path is not None and group:
                    self.write_lines(path, group)
                path, group = record_path, []
            group.append(line)
        if path is not None and group:
            self.write_lines(path, group)

    def write_lines(self, path: Path, lines: list[bytes]) -> None:
        """Append whole lines to `path` in one write; on failure each line counts as dropped."""
        now = time.monotonic()
        if self._file is None and now < self._next_check:
            for _ in lines:
                self._on_error(None)  # still failing; wait for the next retry
            return
        try:
            if self._file is None or path != self._path:
                self._next_check = now + self._interval
                self._open(path)
            elif now >= self._next_check:
                self._next_check = now + self._interval
                if not self._still_current():
                    self._open(path)
            self._write_whole_lines(b"".join(lines))
        except (OSError, ValueError) as exc:
            self._close()
            self._next_check = now + self._interval
            self.healthy = False
            self.last_error = f"{type(exc).__name__}: {exc}"
            for _ in lines:
                self._on_error(exc)
            return
        self.healthy = True

    def _write_whole_lines(self, data: bytes) -> None:
        """Append whole lines, or nothing: a disk that fills mid-line must not leave half
        a record for the next line to be glued to (every line must stay valid JSON)."""
        assert self._file is not None  # noqa: S101  # narrows the type: write_lines opened it
        fd = self._file.fileno()
        written = 0
        try:
            while written < len(data):
                written += os.write(fd, data[written:])
        except OSError:
            # Cut our partial bytes off again (they are the file's last `written`
            # bytes). Another worker appending at the very same moment could lose
            # its line too; only when the disk is already full.
            if written:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, os.fstat(fd).st_size - written)
            raise

    def close(self) -> None:
        self._close()
        super().close()
