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


class PreparedRecord(logging.LogRecord):
    """A LogRecord for a line whose message and fields are already known (the access line).

    `Logger.log` looks up the calling frame and probes thread, process and module
    names for every record; the access line needs none of it. This record is handed
    to `Logger.handle`, so levels, filters and every handler (files, stderr, test
    capture) see it like any other record. The standard attributes it does not
    compute get fixed values (a %-style formatter reads them from `__dict__`).
    """

    def __init__(self, name: str, level: int, message: str, fields: Mapping[str, Any]) -> None:  # noqa: D107
        # No super().__init__(): this is the work it would repeat.
        created = time.time()
        attributes = self.__dict__
        attributes.update(_UNKNOWN)
        self.name = name
        self.msg = message
        self.levelname = logging.getLevelName(level)
        self.levelno = level
        self.created = created
        self.msecs = (created - int(created)) * 1000.0
        self.relativeCreated = (created - _START) * 1000.0
        attributes.update(fields)


_UNKNOWN: dict[str, Any] = {
    "args": None, "pathname": "", "filename": "", "module": "", "funcName": "", "lineno": 0,
    "exc_info": None, "exc_text": None, "stack_info": None, "thread": None, "threadName": None,
    "process": None, "processName": None, "taskName": None,
}
_START = time.time()


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
        if self.accepts(record.name):
            self.write_lines(self.path_for(record.created), [encode_line(self.format(record))])

    def write_batch(self, records: list[logging.LogRecord], lines: list[bytes]) -> None:
        """Append the lines of the records this file accepts (the writer thread's batch)."""
        path: Path | None = None
        group: list[bytes] = []
        for record, line in zip(records, lines):
            if not self.accepts(record.name):
                continue
            record_path = self.path_for(record.created)
            if record_path != path:
                if group:
                    self.write_lines(path, group)  # type: ignore[arg-type]
                path, group = record_path, []
            group.append(line)
        if group:
            self.write_lines(path, group)  # type: ignore[arg-type]

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
        assert self._file is not None
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


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802
        pass  # a closed stderr must not print tracebacks into itself

    def write_text(self, text: str) -> None:
        """Write already formatted lines (the writer thread's batch) in one call."""
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # noqa: BLE001 - same as handleError: a closed stderr loses the lines
            pass


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
    """The writer thread: takes whatever is queued as one batch, formats each record
    once and writes each file's share with one system call.

    Batching is what keeps the writer cheap under load: one wake-up, one
    formatting per record (not one per handler) and one write per file per batch,
    instead of all of it per record. After the first record of a batch the writer
    waits `_LINGER` for more, so it wakes at most 1/_LINGER times a second.
    """

    def __init__(self, q: queue.Queue[Any], *handlers: logging.Handler, formatter: logging.Formatter,
                 on_error: Callable[[BaseException | None], None]) -> None:
        super().__init__(q, *handlers, respect_handler_level=False)
        self.formatter = formatter
        self._on_error = on_error

    def enqueue_sentinel(self) -> None:
        # The queue may be full: wait for room rather than lose the stop signal.
        self.queue.put(self._sentinel, timeout=10)

    def _monitor(self) -> None:
        q = self.queue
        while True:
            batch = [q.get()]
            if batch[0] is not self._sentinel:
                # Let the batch fill: the writer then wakes (and takes the GIL) a
                # bounded number of times per second instead of once per line.
                time.sleep(_LINGER)
            while len(batch) < _BATCH:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            stop = batch[-1] is self._sentinel
            records = batch[:-1] if stop else batch
            try:
                if records:
                    self._write(records)
            finally:
                for _ in batch:
                    q.task_done()
            if stop:
                return

    def _write(self, records: list[logging.LogRecord]) -> None:
        kept: list[logging.LogRecord] = []
        texts: list[str] = []
        for record in records:
            try:
                texts.append(self.formatter.format(record))
            except Exception as exc:  # noqa: BLE001 - an unformattable record is a dropped line, not a dead writer
                self._on_error(exc)
                continue
            kept.append(record)
        lines = [encode_line(text) for text in texts]
        for handler in self.handlers:
            if isinstance(handler, DailyJsonlHandler):
                handler.write_batch(kept, lines)
            elif isinstance(handler, _StderrHandler):
                handler.write_text("".join(text + "\n" for text in texts))
            else:
                for record in kept:
                    handler.handle(record)


_BATCH = 512
_LINGER = 0.01  # seconds; a line reaches its file at most this much later


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
    listener = _Listener(records, *handlers, formatter=formatter, on_error=on_error)
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
