"""The access line of each request, encoded once on the event loop.

In production the log sink (observability.logging) is the only destination of the
access logger's records. Then the line is built here as the JSON bytes the files
get and handed to the sink's writer, which only writes it: no `logging` dispatch,
no LogRecord, no formatting on the writer thread. Whenever anything else listens
(a test's capture handler, a filter, another handler), the same fields go through
`Logger.handle` as a `PreparedRecord`, and the line comes out the same.

Only the fields a client controls are masked and cut (logformat.scrub_field): the
path, the user agent and the message that repeats them. The client address is the
socket peer or an address the client-IP layer parsed, the rest is the telemetry's own.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from .logformat import Timestamps, dump_line
from .logging import PreparedRecord, active_sink
from .redaction import scrub_field

_timestamp = Timestamps().format
_LEVEL_NAMES = {logging.INFO: "INFO", logging.ERROR: "ERROR"}


class AccessLog:
    """Writes one `http_request` line per request to `logger` (fields as docs/operations.md lists them)."""

    __slots__ = ("logger", "name")

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.name = logger.name

    def write(
        self,
        method: str,
        path: str,
        status: int,
        route: str,
        duration: float,
        client_ip: str | None,
        user_agent: str | None,
        trace_id: str | None,
        span_id: str | None,
    ) -> None:
        """Log the line of one finished request (ERROR for a 5xx, else INFO)."""
        logger = self.logger
        level = logging.ERROR if status >= 500 else logging.INFO
        if not logger.isEnabledFor(level):
            return
        message = f"{method} {path} {status}"
        outcome = "success" if status < 400 else "error"
        # Whole microseconds over 1000: the same 3 decimals as round(), a third of its cost.
        duration_ms = int(duration * 1_000_000.0 + 0.5) / 1000
        sink = active_sink()
        if sink is None or not sink.serves_alone(logger):
            fields: dict[str, Any] = {
                "event": "http_request",
                "status": outcome,
                "duration_ms": duration_ms,
                "method": method,
                "path": path,
                "route": route,
                "status_code": status,
                "details": {"client_ip": client_ip, "user_agent": user_agent},
                "trace_id": trace_id,
                "span_id": span_id,
            }
            logger.handle(PreparedRecord(self.name, level, message, fields))
            return
        created = time.time()
        # One literal, in the order JsonFormatter writes a prepared record's fields.
        entry = {
            "timestamp": _timestamp(created),
            "level": _LEVEL_NAMES[level],
            "logger": self.name,
            "message": scrub_field(message),
            "event": "http_request",
            "status": outcome,
            "duration_ms": duration_ms,
            "method": method,
            "path": scrub_field(path),
            "route": route,
            "status_code": status,
            "details": {
                "client_ip": client_ip,
                "user_agent": None if user_agent is None else scrub_field(user_agent),
            },
            "trace_id": trace_id,
            "span_id": span_id,
        }
        sink.put_line(self.name, created, dump_line(entry))
