"""JSONL log files and stderr, written off the event loop in batches.

`configure_logging` puts one handler on the root logger. It never formats and
never waits: it appends the record to a bounded buffer (a deque: no lock, no
thread wake-up per line) and returns. A writer thread wakes every `_LINGER`
seconds, or as soon as a batch is full, takes everything buffered, formats each
record once (observability.logformat) and writes each file's share with one
system call: the daily file `<log dir>/<prefix>_YYYYMMDD.jsonl` (UTC date),
stderr, and, for the loggers named in `extra_files`, their own daily file too.

When the buffer is full (the writer is stalled on a slow or blocked file) or a
file cannot be written, the line is dropped and counted (`on_drop(reason)`) and
the request carries on; the file is reopened periodically, so writing resumes by
itself once the directory or the disk is back.
"""

from __future__ import annotations

import collections
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from opentelemetry import trace

from .logfiles import DailyJsonlHandler
from .logformat import PREPARED_FIELDS, JsonFormatter

QUEUE_FULL = "queue_full"
WRITE_ERROR = "write_error"
OnDrop = Callable[[str], None]
_BATCH = 512
_LINGER = 0.05  # seconds; a line reaches its file at most about this much later


class PreparedRecord(logging.LogRecord):
    """A LogRecord for a line whose message and fields are already known (the access line).

    `Logger.log` looks up the calling frame and probes thread, process and module
    names for every record; the access line needs none of it. This record is handed
    to `Logger.handle`, so levels, filters and every handler (files, stderr, test
    capture) see it like any other record. The standard attributes it does not
    compute get fixed values (a %-style formatter reads them from `__dict__`).
    """

    def __init__(self, name: str, level: int, message: str, fields: Mapping[str, Any]) -> None:
        # No super().__init__(): this is the work it would repeat. One dict built in
        # one expression costs a third of setting the attributes one by one.
        created = time.time()
        self.__dict__ = {
            **_UNKNOWN,
            "name": name,
            "msg": message,
            "levelname": _LEVEL_NAMES.get(level) or logging.getLevelName(level),
            "levelno": level,
            "created": created,
            "msecs": (created - int(created)) * 1000.0,
            "relativeCreated": (created - _START) * 1000.0,
            **fields,
            PREPARED_FIELDS: fields,
        }


_UNKNOWN: dict[str, Any] = {
    "args": None,
    "pathname": "",
    "filename": "",
    "module": "",
    "funcName": "",
    "lineno": 0,
    "exc_info": None,
    "exc_text": None,
    "stack_info": None,
    "thread": None,
    "threadName": None,
    "process": None,
    "processName": None,
    "taskName": None,
}
_START = time.time()
_LEVEL_NAMES = {
    level: logging.getLevelName(level)
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
}


class EncodedLine:
    """A line already encoded on the logging thread (the access line): the writer only writes it.

    Carries what the files need to place it: the logger name (which files take it)
    and the creation time (which day's file).
    """

    __slots__ = ("created", "line", "name")

    def __init__(self, name: str, created: float, line: bytes) -> None:
        self.name = name
        self.created = created
        self.line = line


class _StderrHandler(logging.StreamHandler[TextIO]):
    def handleError(self, record: logging.LogRecord) -> None:
        pass  # a closed stderr must not print tracebacks into itself

    def write_lines(self, data: bytes) -> None:
        """Write already formatted lines (the writer thread's batch) in one call."""
        try:
            binary = getattr(self.stream, "buffer", None)
            if binary is not None:
                self.stream.flush()  # whatever was written as text goes first
                binary.write(data)
                binary.flush()
            else:
                self.stream.write(data.decode("utf-8"))
                self.stream.flush()
        except Exception:  # noqa: S110  # same as handleError: a closed stderr loses the lines
            pass


def _prepare(record: logging.LogRecord) -> None:
    """Resolve on the logging thread what can change before the writer formats the record:
    the message arguments, the exception, and the current span (contextvars do not
    reach the writer thread)."""
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


class _BufferHandler(logging.Handler):
    """The root logger's handler: hands each record to the writer without a lock or a format."""

    def __init__(self, writer: _Writer) -> None:
        super().__init__()
        self.writer = writer

    def handle(self, record: logging.LogRecord) -> bool:
        # No handler lock: the writer's buffer is a deque, safe to append to from any thread.
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if type(record) is not PreparedRecord:
            _prepare(record)
        self.writer.put(record)


class _Writer(threading.Thread):
    """Formats and writes buffered records in batches (see the module docstring)."""

    def __init__(
        self,
        handlers: list[logging.Handler],
        formatter: JsonFormatter,
        *,
        limit: int,
        on_full: Callable[[], None],
        on_error: Callable[[BaseException | None], None],
    ) -> None:
        super().__init__(name="log-writer", daemon=True)
        self.handlers = handlers
        self.formatter = formatter
        self._buffer: collections.deque[logging.LogRecord | EncodedLine] = collections.deque()
        self._limit = limit
        self._on_full = on_full
        self._on_error = on_error
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._stopping = False
        # A blocked sink (fault injection): nothing is written before this monotonic time,
        # and the buffer holds `_limit` lines meanwhile (`_capacity` again after).
        self._capacity = limit
        self._held_until = 0.0
        self._release = threading.Event()

    def hold(self, room: int, seconds: float) -> None:
        """Write nothing for `seconds`, as a stalled disk would; `room` lines wait, the rest are dropped."""
        self._release.clear()
        self._limit = min(room, self._capacity)
        self._held_until = time.monotonic() + seconds

    def release(self) -> None:
        """End `hold` early; what waited is written."""
        self._held_until = 0.0
        self._limit = self._capacity
        self._release.set()

    def put(self, record: logging.LogRecord | EncodedLine) -> None:
        """Buffer a record, or drop and count it when the buffer is full; never blocks."""
        buffer = self._buffer
        size = len(buffer)
        if size >= self._limit:
            self._on_full()
            return
        buffer.append(record)
        if size + 1 == _BATCH:
            self._wake.set()

    def pending(self) -> int:
        """Records buffered and not yet taken by the writer."""
        return len(self._buffer)

    def flush(self, timeout: float) -> bool:
        """Wait until everything buffered before this call is written; False on timeout."""
        self._idle.clear()
        self._wake.set()
        return self._idle.wait(timeout)

    def stop(self, timeout: float) -> bool:
        """Write what is buffered and end the thread; False when a stalled file holds it past `timeout`."""
        self._stopping = True
        self._release.set()
        self._wake.set()
        self.join(timeout)
        return not self.is_alive()

    def run(self) -> None:
        buffer = self._buffer
        while True:
            self._wake.wait(_LINGER)
            self._wake.clear()
            stopping = self._stopping
            if self._held_until:
                while not self._stopping and (left := self._held_until - time.monotonic()) > 0:
                    self._release.wait(left)
                self.release()
            while buffer:
                batch: list[logging.LogRecord | EncodedLine] = []
                while buffer and len(batch) < _BATCH:
                    batch.append(buffer.popleft())
                self._write(batch)
            self._idle.set()
            if stopping:
                return

    def _write(self, records: list[logging.LogRecord | EncodedLine]) -> None:
        kept: list[logging.LogRecord | EncodedLine] = []
        lines: list[bytes] = []
        for record in records:
            if type(record) is EncodedLine:
                lines.append(record.line)
                kept.append(record)
                continue
            try:
                lines.append(self.formatter.format_line(record))  # type: ignore[arg-type]  # a LogRecord here
            except Exception as exc:  # an unformattable record is a dropped line, not a dead writer
                self._on_error(exc)
                continue
            kept.append(record)
        for handler in self.handlers:
            if isinstance(handler, DailyJsonlHandler):
                handler.write_batch(kept, lines)
            elif isinstance(handler, _StderrHandler):
                handler.write_lines(b"".join(lines))
            else:
                for record in kept:
                    if isinstance(record, logging.LogRecord):
                        handler.handle(record)


class LogSink:
    """The running log pipeline: health, drop counts, `flush()` and `stop()`."""

    def __init__(self, handlers: list[DailyJsonlHandler], buffer_handler: _BufferHandler, writer: _Writer) -> None:
        self.handlers = handlers
        self.dropped: dict[str, int] = {QUEUE_FULL: 0, WRITE_ERROR: 0}
        self._buffer_handler = buffer_handler
        self._writer = writer
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def healthy(self) -> bool:
        """False while any log file cannot be written."""
        return all(handler.healthy for handler in self.handlers)

    @property
    def last_error(self) -> str | None:
        """The most recent write error of a file that is still failing (else the last one)."""
        errors = [h.last_error for h in self.handlers if not h.healthy] or [
            h.last_error for h in self.handlers if h.last_error
        ]
        return errors[0] if errors else None

    def pending(self) -> int:
        """Lines waiting for the writer."""
        return self._writer.pending()

    def serves_alone(self, logger: logging.Logger) -> bool:
        """Whether this sink is the only destination of `logger`'s records (no filter, no other handler).

        Then a line may be encoded by the caller and handed over with `put_line`,
        without a LogRecord: nothing else would have seen the record. A test's
        capture handler or any handler added later makes this False again.
        """
        node: logging.Logger | None = logger
        while node is not None:
            if node.filters or node.disabled:
                return False
            if node.handlers:
                handler = self._buffer_handler
                return node.parent is None and node.handlers == [handler] and not handler.filters
            if not node.propagate:
                return False
            node = node.parent
        return False

    def put_line(self, name: str, created: float, line: bytes) -> None:
        """Hand an encoded line of logger `name` to the writer (see `serves_alone`)."""
        self._writer.put(EncodedLine(name, created, line))

    def hold(self, room: int, seconds: float) -> None:
        """Stop writing for `seconds` (fault injection's blocked sink); beyond `room` lines are dropped and counted."""
        self._writer.hold(room, seconds)

    def release(self) -> None:
        """End `hold`; the lines that waited are written."""
        self._writer.release()

    def count_drop(self, reason: str) -> None:
        with self._lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every line logged so far is written; False when that takes over `timeout`."""
        return self._writer.flush(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Detach from the root logger, write what is buffered and close the files.

        A file whose writes block (a stalled disk or pipe) holds the writer: after
        `timeout` the sink gives up on it rather than hold up the process's exit.
        """
        global _active  # noqa: PLW0603  # one sink per process: configure_logging replaces it
        if self._stopped:
            return
        self._stopped = True
        if _active is self:
            _active = None
        logging.getLogger().removeHandler(self._buffer_handler)
        if self._writer.stop(timeout):
            for handler in self.handlers:
                handler.close()


_active: LogSink | None = None


def active_sink() -> LogSink | None:
    """The sink `configure_logging` set up last, while it runs."""
    return _active


def configure_logging(
    log_dir: str | Path,
    level: str | int | None = None,
    *,
    file_prefix: str,
    extra_files: Mapping[str, str] | None = None,
    stderr: bool = True,
    on_drop: OnDrop | None = None,
    queue_size: int = 10_000,
    check_interval: float = 1.0,
) -> LogSink:
    """Route every log record to the daily JSONL file(s) and stderr; returns the sink.

    `level` defaults to the `LOG_LEVEL` environment variable, then INFO. At most
    `queue_size` lines wait for the writer; more are dropped and counted. Calling it
    again stops the previous sink first.
    """
    global _active  # noqa: PLW0603  # one sink per process: configure_logging replaces it
    if _active is not None:
        _active.stop()
    directory = Path(log_dir)
    extra_files = {} if extra_files is None else extra_files
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
    writer = _Writer(handlers, formatter, limit=queue_size, on_full=lambda: dropped(QUEUE_FULL), on_error=on_error)
    buffer_handler = _BufferHandler(writer)
    sink = LogSink(files, buffer_handler, writer)
    sink_ref.append(sink)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # reported through `healthy`; writing retries later
        for handler in files:
            handler.healthy, handler.last_error = False, f"{type(exc).__name__}: {exc}"
    root = logging.getLogger()
    root.setLevel(_level(level))
    root.addHandler(buffer_handler)
    writer.start()
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
