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

CONFLICTING_FRAMING = "conflicting_framing"


def body_framing(headers: Iterable[tuple[bytes, bytes]]) -> tuple[int | None, bool, bool]:
    """(declared Content-Length, chunked, conflicting) from the request headers (names in lower case, as ASGI has them).

    When `conflicting` is false, a declared length is the only framing there is,
    so it can be trusted: the server holds the body to it.
    """
    lengths: set[bytes] = set()
    chunked = False
    for name, value in headers:
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
    return declared, chunked, conflicting
