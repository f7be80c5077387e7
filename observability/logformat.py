"""One compact JSON object per log line, with secrets and personal data removed.

Fields: `timestamp` (ISO 8601 UTC), `level`, `logger`, `message`, then every
attribute passed with `extra={...}` as a top-level key. Values under secret-looking
keys (Authorization, Cookie, tokens, passwords, ...) are replaced, e-mail addresses
and phone numbers in strings are masked. `json.dumps` escapes control characters,
so a client cannot start a new line; lone surrogates (undecodable request bytes)
are written as `\\udcXX` escapes, which keeps every line valid UTF-8 JSON.
"""
from __future__ import annotations

import functools
import json
import logging
import re
import time
from typing import Any

import orjson

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(
    r"authorization|cookie|token|passw|secret|api[-_]?key|access[-_]?key|private[-_]?key|credential|session[-_]?id",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Digits with spaces, dashes or parentheses between them, optionally after + or (.
# Dots are not separators so IP addresses and versions survive; the digit count
# (checked in _mask_phone) keeps dates and short numbers. One greedy character
# class keeps the match linear.
_PHONE = re.compile(r"(?<![\w./:+-])[+(]?\d[\d ()-]{6,}\d(?![\w./:-])")
# Characters json.dumps(ensure_ascii=False) leaves raw that some readers take as line ends.
_LINE_BREAKERS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
_LINE_BREAKERS_RE = re.compile("[\u2028\u2029\x85]")
_LINE_BREAKER_BYTES = tuple((raw.encode(), escaped.encode()) for raw, escaped in _LINE_BREAKERS.items())
# Values of these keys are produced by the telemetry itself, never by a client.
_TRUSTED_KEYS = frozenset({"event", "status", "severity", "route", "method", "trace_id", "span_id", "status_code", "duration_ms"})
PREPARED_FIELDS = "prepared_fields"
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName", PREPARED_FIELDS}


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether values under this key must never be logged (cached: keys repeat)."""
    return _SECRET_KEY.search(key) is not None


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    return "[PHONE]" if 9 <= digits <= 15 else text


def scrub_text(text: str) -> str:
    """Mask e-mail addresses and phone numbers."""
    if "@" in text:
        text = _EMAIL.sub("[EMAIL]", text)
    if len(text) < 9:
        return text
    return _PHONE.sub(_mask_phone, text)


def scrub(value: Any, depth: int = 0) -> Any:
    """Copy of value with secret keys redacted and strings masked."""
    if isinstance(value, str):
        return scrub_text(value)
    if depth > 8:
        return value
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and is_secret_key(key) else scrub(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub(item, depth + 1) for item in value]
    return value


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


class JsonFormatter(logging.Formatter):
    """Formats a LogRecord as one compact JSON line (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._second = -1
        self._prefix = ""

    def _timestamp(self, created: float) -> str:
        second = int(created)
        if second != self._second:  # strftime once per second, not once per line
            self._second, self._prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        return self.format_line(record)[:-1].decode("utf-8")

    def format_line(self, record: logging.LogRecord) -> bytes:
        """The record as one UTF-8 JSON line, newline included (what the files get)."""
        entry = self._entry(record)
        try:
            line = orjson.dumps(entry, default=_default, option=orjson.OPT_NON_STR_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            # Lone surrogates, integers past 64 bits: the standard encoder takes anything.
            return encode_line(json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=_default))
        if b"\xe2\x80\xa8" in line or b"\xe2\x80\xa9" in line or b"\xc2\x85" in line:
            # Valid JSON as they are, but str.splitlines() and some log shippers break
            # lines at them: written as escapes, one record stays one line for every reader.
            for raw, escaped in _LINE_BREAKER_BYTES:
                line = line.replace(raw, escaped)
        return line + b"\n"

    def _entry(self, record: logging.LogRecord) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "timestamp": self._timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_text(record.getMessage()),
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
