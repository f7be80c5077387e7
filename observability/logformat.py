"""One compact JSON object per log line, with secrets and personal data removed.

Fields: `timestamp` (ISO 8601 UTC), `level`, `logger`, `message`, then every
attribute passed with `extra={...}` as a top-level key. Values under secret-looking
keys are replaced, and every other value the telemetry did not produce itself is
masked and cut (observability.redaction). `json.dumps` escapes control characters,
so a client cannot start a new line; lone surrogates (undecodable request bytes)
are written as `\\udcXX` escapes, which keeps every line valid UTF-8 JSON.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

import orjson

from .redaction import REDACTED, is_secret_key, scrub, scrub_field, scrub_text

# Characters json.dumps(ensure_ascii=False) leaves raw that some readers take as line ends.
_LINE_BREAKERS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
_LINE_BREAKERS_RE = re.compile("[\u2028\u2029\x85]")
_LINE_BREAKER_BYTES = tuple((raw.encode(), escaped.encode()) for raw, escaped in _LINE_BREAKERS.items())
# Values of these keys are produced by the telemetry itself, never by a client.
_TRUSTED_KEYS = frozenset(
    {"event", "status", "severity", "route", "method", "trace_id", "span_id", "status_code", "duration_ms"}
)
PREPARED_FIELDS = "prepared_fields"
# The newline comes from orjson itself: no copy of the line to append it.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    PREPARED_FIELDS,
}


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


class Timestamps:
    """ISO 8601 UTC timestamps with milliseconds; strftime once per second, not once per line."""

    def __init__(self) -> None:
        # One tuple, replaced whole: readers on another thread never see a mixed pair.
        self._cached = (-1, "")

    def format(self, created: float) -> str:
        """`2026-12-07T16:00:00.123Z` for a `time.time()` value."""
        second = int(created)
        cached_second, prefix = self._cached
        if second != cached_second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._cached = (second, prefix)
        return prefix + _MILLIS[int((created - second) * 1000)]


def dump_line(entry: dict[str, Any]) -> bytes:
    """One log entry as one UTF-8 JSON line, newline included (what the files get)."""
    try:
        line = orjson.dumps(entry, default=_default, option=_ORJSON_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        # Lone surrogates, integers past 64 bits: the standard encoder takes anything.
        return encode_line(json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=_default))
    # isascii() first: an ASCII line (nearly every line) cannot hold them, and a
    # bytes `in` test costs about as much as the encoding (it first tries the
    # operand as an integer and formats the error it then discards).
    if not line.isascii() and (b"\xe2\x80\xa8" in line or b"\xe2\x80\xa9" in line or b"\xc2\x85" in line):
        # Valid JSON as they are, but str.splitlines() and some log shippers break
        # lines at them: written as escapes, one record stays one line for every reader.
        for raw, escaped in _LINE_BREAKER_BYTES:
            line = line.replace(raw, escaped)
    return line


class JsonFormatter(logging.Formatter):
    """Formats a LogRecord as one compact JSON line (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._timestamp = Timestamps().format

    def format(self, record: logging.LogRecord) -> str:
        return self.format_line(record)[:-1].decode("utf-8")

    def format_line(self, record: logging.LogRecord) -> bytes:
        """The record as one UTF-8 JSON line, newline included (what the files get)."""
        return dump_line(self._entry(record))

    def _entry(self, record: logging.LogRecord) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "timestamp": self._timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_field(record.getMessage()),
        }
        # A prepared record (the access line) names its own fields: no scan of the standard attributes.
        fields = record.__dict__.get(PREPARED_FIELDS)
        for key, value in (record.__dict__ if fields is None else fields).items():
            if key in _STANDARD_ATTRS or key in entry:
                continue
            if key in _TRUSTED_KEYS:
                entry[key] = value
            else:
                entry[key] = REDACTED if is_secret_key(key) else scrub(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = scrub_text(record.exc_text)
        return entry


def encode_line(line: str) -> bytes:
    """UTF-8 bytes of a formatted line; surrogates become JSON `\\uXXXX` escapes."""
    line = _LINE_BREAKERS_RE.sub(lambda match: _LINE_BREAKERS[match.group(0)], line)
    return line.encode("utf-8", "backslashreplace") + b"\n"
