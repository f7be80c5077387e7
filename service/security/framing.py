"""How a request says where its body ends, and the combinations that must be refused.

A request carrying both `Content-Length` and `Transfer-Encoding`, or several
different `Content-Length` values, can be read two ways: a proxy in front may
take one boundary and this server the other, and the bytes between them become a
second, hidden request (request smuggling). RFC 9112 §6.1 and §6.3: such a
request is refused and its connection closed. h11, hypercorn's HTTP/1.1 parser,
refuses differing lengths itself but reads `Transfer-Encoding` over
`Content-Length`, so the application has to refuse that pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

CONFLICTING_FRAMING = "conflicting_framing"
HEADERS_TOO_LARGE = "request_headers_too_large"
# The one limit on a request's header block, however its bytes arrive: counted as
# on the wire (`name: value` and CRLF per header). The server's own buffer for an
# incomplete request head (service/server.py) is HEAD_BUFFER_BYTES, one full read,
# so a block that arrives in pieces reaches this check as surely as one sent in a
# single write; only a head larger than any single read is refused by the server
# itself (a bodiless 431, docs/reliability.md).
MAX_HEADER_BYTES = 16 * 1024
HEAD_BUFFER_BYTES = 4 * MAX_HEADER_BYTES
_PER_HEADER = 4  # ": " and CRLF


class Framing(NamedTuple):
    """What the request headers say about the body, and how large they are."""

    declared: int | None  # Content-Length, when it is the only framing
    chunked: bool
    conflicting: bool
    header_bytes: int


def body_framing(headers: Iterable[tuple[bytes, bytes]]) -> Framing:
    """The body's framing and the header block's size (names in lower case, as ASGI has them).

    When `conflicting` is false, a declared length is the only framing there is,
    so it can be trusted: the server holds the body to it. One pass over the
    headers serves both checks.
    """
    lengths: set[bytes] = set()
    chunked = False
    size = 0
    for name, value in headers:
        size += len(name) + len(value)
        if name == b"content-length":
            lengths.add(value.strip())
        elif name == b"transfer-encoding":
            chunked = True
    conflicting = len(lengths) > 1 or (chunked and bool(lengths))
    declared: int | None = None
    if len(lengths) == 1 and not chunked:
        try:  # noqa: SIM105  # per request: cheaper than contextlib.suppress
            declared = int(lengths.pop())
        except ValueError:
            pass  # the server rejects a malformed length before the app runs
    return Framing(declared, chunked, conflicting, size)


def header_block_bytes(framing: Framing, count: int) -> int:
    """The header block's size on the wire, from `body_framing`'s sum and the number of headers."""
    return framing.header_bytes + _PER_HEADER * count
