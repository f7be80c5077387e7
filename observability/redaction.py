"""Redaction of log and span values: secrets by key, personal data by pattern, long values cut.

Values under secret-looking keys (Authorization, Cookie, tokens, passwords, ...) are
replaced. In every string (message, paths, file names, query strings, user agents)
e-mail addresses become `[EMAIL]`, phone numbers `[PHONE]`, and the words e-mail,
phone and address with the value bound to them (`?email=...`, `address: ...`)
`[PII]`: a street address has no pattern, so the name that announces it is what is
masked; this also keeps the runbook's `grep -r "email\\|phone\\|address" logs/` a
true signal. IP addresses, versions, dates, durations, ids and plain numbers stay.
A client-supplied string is also cut to FIELD_LIMIT characters (`scrub_field`).
"""

from __future__ import annotations

import functools
import re
from typing import Any

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(
    r"authorization|cookie|token|passw|secret|api[-_]?key|access[-_]?key|private[-_]?key|credential|session[-_]?id",
    re.IGNORECASE,
)
# E-mail addresses, also with a percent-encoded `@`. A match starts only where a
# local part starts and the local part is possessive: no retry from inside a run,
# so the cost stays linear in the length of the text.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]++(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Names that announce personal data (a street address has no pattern to recognise):
# the name and the value bound to it are masked, whether bound by `=` (a query
# value), `:` (a header-like field) or `/` (the path segment after it), up to the
# next `/ & # ; , ?`. Any case at the start of a word; lower case anywhere, which is
# what the runbook's GDPR grep looks for. Free text with no such name before it
# ("12 Baker Street" alone) cannot be recognised.
_PII_NAME = re.compile(r"(?:(?<![A-Za-z\[])(?i:e-?mail|phone|address)|email|phone|address)\w*(?:[=:/] ?[^/&#;,?]*+)?")
# A run of digits and separators (space, dot, dash, parentheses), eight characters
# or more, from a digit to a digit. It starts with a digit, so the scan of a text
# without digits is one fast pass, and a run is consumed whole, so each character is
# read a bounded number of times. What surrounds the run and its shape (_is_phone)
# decide whether it is a phone number.
_DIGIT_RUN = re.compile(r"\d[\d ().-]{6,}\d")
_DIGITS = re.compile(r"\d+")
_DATE_START = re.compile(r"\(?\d{4}[-./]\d{2}[-./]\d{2}|\(?\d{2}[-./]\d{2}[-./]\d{4}")
_NATIONAL = re.compile(r"\(?0[1-9]\d{8,9}")
_AREA_CODE_END = re.compile(r"\d{1,5}\)")


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether values under this key must never be logged (cached: keys repeat)."""
    return _SECRET_KEY.search(key) is not None


def _is_phone(number: str) -> bool:
    """Whether a run of digits and separators (with its `+` or `(`) is shaped like a phone number."""
    groups: list[str] = _DIGITS.findall(number)
    digits = sum(map(len, groups))
    if number[0] in "+%":  # international form: the country code says it is a number to dial
        return digits <= 15
    if not 9 <= digits <= 15:
        return False
    if len(groups) == 1:  # a bare number is an id, a size or a timestamp, unless national (0 + area code)
        return _NATIONAL.fullmatch(number) is not None
    if _DATE_START.match(number):
        return False
    if "." in number:
        # 192.168.100.200 (IPv4), 120.0.6099.109 (a version): never phone numbers.
        if len(groups) == 4 and all(len(group) <= 3 for group in groups):
            return False
        return len(groups) >= 3 and all(len(group) > 1 for group in groups[1:])
    if number[0] == "(":
        return True
    if len(groups) == 2:  # 030 12345678 is a number; 10000-20000 is a range
        return groups[0][0] == "0"
    # One-digit groups only where a country or trunk code goes: "+33 6 12 ...", not "1 2 3 4 ...".
    return all(len(group) > 1 for group in groups[2:])


def _phone_start(text: str, start: int) -> int:
    """Where the number whose digits start at `start` begins: with its `(`, `+` or `%2B`."""
    if text[start - 1 : start] == "(" and _AREA_CODE_END.match(text, start):  # "(555) 123": not "(555-123-4567)"
        start -= 1
    if text[start - 1 : start] == "+":
        return start - 1
    if text[start - 3 : start] in ("%2B", "%2b"):
        return start - 3
    return start


def _phone_length(number: str) -> int | None:
    """How much of a candidate run is a phone number: all of it, all but a last word, or None."""
    head, _, tail = number.rpartition(" ")
    # "555-123-4567 200", "+44 20 7946 0958 404": a group after a space, shorter than
    # the one before it, is the next word (an access line's status code).
    if 0 < len(tail) <= 3 and len(tail) < len(head) - len(head.rstrip("0123456789")) and _is_phone(head):
        return len(head)
    return len(number) if _is_phone(number) else None


def _mask_phones(text: str, begin: int) -> str:
    pieces: list[str] = []
    done = 0
    for match in _DIGIT_RUN.finditer(text, begin):
        start, end = _phone_start(text, match.start()), match.end()
        before, after = text[start - 1 : start], text[end : end + 1]
        if start < done or before.isalnum() or after.isalnum():
            continue  # glued to a word or an id: not a number on its own
        length = _phone_length(text[start:end])
        if length is None:
            continue
        end = start + length
        pieces += (text[done:start], "[PHONE]")
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def scrub_text(text: str) -> str:
    """Mask e-mail addresses, phone numbers and values named as personal data."""
    if len(text) > _CACHED_CHARS:
        return _scrub_text(text)
    return _scrub_cached(text)


def _scrub_text(text: str) -> str:
    # The common case (no `@`, no such name, no run of eight digits) costs a few
    # substring tests and one regex scan that finds nothing.
    if "@" in text or "%40" in text:
        text = _EMAIL.sub("[EMAIL]", text)
    lowered = text.lower()
    if "mail" in lowered or "phone" in lowered or "address" in lowered:
        text = _PII_NAME.sub("[PII]", text)
    first = _DIGIT_RUN.search(text)
    return text if first is None else _mask_phones(text, first.start())


# The same paths, user agents and client addresses come back on line after line: a
# small cache turns a browser's user agent (several microseconds of scanning) into
# one dictionary lookup. Long values are not kept (memory stays bounded).
_CACHED_CHARS = 512
_scrub_cached = functools.lru_cache(maxsize=1024)(_scrub_text)


# A client-supplied string in a log line keeps at most this many characters: a 60 KiB
# User-Agent or Cookie must not make a 60 KiB line (log shippers cut or drop lines
# past 16 KiB, and one such line costs every reader). The cut is marked.
FIELD_LIMIT = 1024
CUT_MARK = "…[cut]"


def scrub_field(text: str) -> str:
    """A client-supplied string as a log line shows it: masked (scrub_text) and cut to FIELD_LIMIT.

    Masked before the cut, so a cut cannot leave half an e-mail address unmasked;
    only the first 4 × FIELD_LIMIT characters are scanned, so a huge value costs no
    more than a long one (a match that ends past the scan ends past the cut too).
    """
    if len(text) <= _CACHED_CHARS:
        return _scrub_cached(text)  # what scrub_text does, one call less on the request path
    if len(text) <= FIELD_LIMIT:
        return _scrub_text(text)
    masked = _scrub_text(text[: 4 * FIELD_LIMIT])
    return masked if len(masked) <= FIELD_LIMIT else masked[:FIELD_LIMIT] + CUT_MARK


def scrub(value: Any, depth: int = 0) -> Any:
    """Copy of value with secret keys redacted and strings masked and cut (scrub_field)."""
    if isinstance(value, str):
        return scrub_field(value)
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
