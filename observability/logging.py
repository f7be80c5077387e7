"""JSONL log files and stderr, written off the event loop.

`configure_logging` puts one bounded-queue handler on the root logger; a writer
thread formats (observability.logformat) and writes each record to the daily file
`<log dir>/<prefix>_YYYYMMDD.jsonl` (UTC date), to stderr, and, for the loggers
named in `extra_files`, to their own daily file too. When the queue is full or a
file cannot be written, the line is dropped and counted (`on_drop(reason)`) and the
request carries on; the file is reopened periodically, so writing resumes by
itself once the directory or the disk is back.
"""
from __future__ import annotations

import contextlib

import logging
import logging.handlers
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from opentelemetry import trace

from .logformat import JsonFormatter, encode_line

DEFAULT_EXTRA_FILES = {"ai_diy.security": "ai_diy_security", "ai_diy.audit": "ai_diy_audit"}
QUEUE_FULL = "queue_full"
WRITE_ERROR = "write_error"
OnDrop = Callable[[str], None]


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
        self._day = ""
        self._next_check = 0.0

    def accepts(self, name: str) -> bool:
        """Whether records of this logger belong in this file."""
        return self._only is None or name == self._only or name.startswith(self._only + ".")

    def path_for(self, created: float) -> Path:
        return self.directory / f"{self.prefix}_{time.strftime('%Y%m%d', time.gmtime(created))}.jsonl"

    def _close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None

    def _open(self, path: Path) -> None:
        self._close()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab", buffering=0)  # every write goes straight to the file
        self._path = path

    def _still_current(self) -> bool:
        assert self._file is not None and self._path is not None
        try:
            on_disk = os.stat(self._path)
        except OSError:
            return False
        mine = os.fstat(self._file.fileno())
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    def emit(self, record: logging.LogRecord) -> None:
        if not self.accepts(record.name):
            return
        now = time.monotonic()
        path = self.path_for(record.created)
        if self._file is None and now < self._next_check:
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
            assert self._file is not None
            self._write_whole_line(encode_line(self.format(record)))
        except (OSError, ValueError) as exc:
            self._close()
            self._next_check = now + self._interval
            self.healthy = False
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._on_error(exc)
            return
        self.healthy = True

    def _write_whole_line(self, line: bytes) -> None:
        """Append one line, or nothing: a disk that fills mid-line must not leave half
        a record for the next line to be glued to (every line must stay valid JSON)."""
        assert self._file is not None
        fd = self._file.fileno()
        before = os.fstat(fd).st_size
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
        except OSError:
            # Cut our partial bytes off again. Another worker appending at the very
            # same moment could lose its line too; only when the disk is already full.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, before)
            raise

    def close(self) -> None:
        self._close()
        super().close()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802
        pass  # a closed stderr must not print tracebacks into itself


class _QueueHandler(logging.handlers.QueueHandler):
    """Enqueues records without formatting them (formatting is the writer's job)."""

    def __init__(self, q: queue.Queue[Any], on_full: Callable[[], None]) -> None:
        super().__init__(q)
        self._on_full = on_full

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # Resolve what can change after this call returns: the message arguments,
        # the exception, and the current span (contextvars do not reach the thread).
        record.msg = record.getMessage()
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if "trace_id" not in record.__dict__:
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                record.trace_id = format(context.trace_id, "032x")
                record.span_id = format(context.span_id, "016x")
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self._on_full()


class _Listener(logging.handlers.QueueListener):
    def enqueue_sentinel(self) -> None:
        # The queue may be full: wait for room rather than lose the stop signal.
        self.queue.put(self._sentinel, timeout=10)


class LogSink:
    """The running log pipeline: health, drop counts, and `stop()` (flushes)."""

    def __init__(self, handlers: list[DailyJsonlHandler], queue_handler: _QueueHandler, listener: _Listener) -> None:
        self.handlers = handlers
        self.dropped: dict[str, int] = {QUEUE_FULL: 0, WRITE_ERROR: 0}
        self._queue_handler = queue_handler
        self._listener = listener
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def healthy(self) -> bool:
        """False while any log file cannot be written."""
        return all(handler.healthy for handler in self.handlers)

    @property
    def last_error(self) -> str | None:
        """The most recent write error of a file that is still failing (else the last one)."""
        errors = [h.last_error for h in self.handlers if not h.healthy] or [h.last_error for h in self.handlers if h.last_error]
        return errors[0] if errors else None

    def count_drop(self, reason: str) -> None:
        with self._lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def stop(self) -> None:
        """Write everything queued, close the files and detach from the root logger."""
        global _active
        if self._stopped:
            return
        self._stopped = True
        if _active is self:
            _active = None
        logging.getLogger().removeHandler(self._queue_handler)
        self._listener.stop()
        for handler in self.handlers:
            handler.close()


_active: LogSink | None = None


def configure_logging(
    log_dir: str | Path,
    level: str | int | None = None,
    *,
    file_prefix: str = "ai_diy_api",
    extra_files: Mapping[str, str] | None = None,
    stderr: bool = True,
    on_drop: OnDrop | None = None,
    queue_size: int = 10_000,
    check_interval: float = 1.0,
) -> LogSink:
    """Route every log record to the daily JSONL file(s) and stderr; returns the sink.

    `level` defaults to the `LOG_LEVEL` environment variable, then INFO. Calling it
    again stops the previous sink first.
    """
    global _active
    if _active is not None:
        _active.stop()
    directory = Path(log_dir)
    extra_files = DEFAULT_EXTRA_FILES if extra_files is None else extra_files
    formatter = JsonFormatter()
    sink_ref: list[LogSink] = []

    def dropped(reason: str) -> None:
        sink_ref[0].count_drop(reason)
        if on_drop is not None:
            on_drop(reason)

    def on_error(_: BaseException | None) -> None:
        dropped(WRITE_ERROR)

    files = [DailyJsonlHandler(directory, file_prefix, on_error=on_error, check_interval=check_interval)]
    files += [
        DailyJsonlHandler(directory, prefix, on_error=on_error, only=name, check_interval=check_interval)
        for name, prefix in extra_files.items()
    ]
    handlers: list[logging.Handler] = list(files)
    if stderr:
        handlers.append(_StderrHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
    records: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
    queue_handler = _QueueHandler(records, lambda: dropped(QUEUE_FULL))
    listener = _Listener(records, *handlers, respect_handler_level=False)
    sink = LogSink(files, queue_handler, listener)
    sink_ref.append(sink)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # reported through `healthy`; writing retries later
        for handler in files:
            handler.healthy, handler.last_error = False, f"{type(exc).__name__}: {exc}"
    root = logging.getLogger()
    root.setLevel(_level(level))
    root.addHandler(queue_handler)
    listener.start()
    _active = sink
    return sink


def _level(level: str | int | None) -> int:
    if level is None:
        level = os.environ.get("LOG_LEVEL", "INFO")
    if isinstance(level, int):
        return level
    value = logging.getLevelName(str(level).strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}")
    return value
