"""Security response headers for a JSON API."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Names are written in canonical case on purpose: h11 (hypercorn's HTTP/1.1) sends
# header names exactly as given, and operators grep `curl -I` output case-sensitively.
#
# Every answer: the runbook's three (X-Frame-Options, X-Content-Type-Options,
# Strict-Transport-Security), the rest of OWASP's set for REST APIs (the CSP's
# frame-ancestors; Cache-Control below) and Referrer-Policy.
EVERY_ANSWER: tuple[tuple[bytes, bytes], ...] = (
    (b"X-Frame-Options", b"DENY"),
    (b"X-Content-Type-Options", b"nosniff"),
    (b"Strict-Transport-Security", b"max-age=31536000; includeSubDomains"),
    (b"Referrer-Policy", b"no-referrer"),
    (b"Content-Security-Policy", b"default-src 'none'; frame-ancestors 'none'"),
)
# Only answers a browser may render or embed as a document, script or image (the
# documents, /metrics, anything not JSON). A JSON answer is never opened as a
# document, and with `nosniff` browsers refuse JSON to cross-origin no-cors loads
# (CORB/ORB), so these two would protect nothing there, while each header sent
# costs hypercorn and h11 about as much as a rate-limit decision
# (docs/performance.md).
DOCUMENTS_ALSO: tuple[tuple[bytes, bytes], ...] = (
    (b"Cross-Origin-Opener-Policy", b"same-origin"),
    (b"Cross-Origin-Resource-Policy", b"same-origin"),
)
SECURITY_HEADERS = EVERY_ANSWER + DOCUMENTS_ALSO
_REPLACED = frozenset(name.lower() for name, _ in SECURITY_HEADERS) | {b"server", b"x-powered-by"}
_CACHE_CONTROL = (b"Cache-Control", b"no-store")


_PLAIN_JSON = frozenset({b"application/json", b"application/json; charset=utf-8"})


def is_json(content_type: bytes) -> bool:
    """True for `application/json` and any `+json` type, parameters and case aside."""
    if content_type in _PLAIN_JSON:  # what the service's own answers say: one set lookup
        return True
    media = content_type.partition(b";")[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response, errors and 429s included (see `secure_headers`).

    The policy is fixed, so any same-named header set by the app is replaced (this
    also drops a `Server` header an app might add; hypercorn's own one is turned off
    with its `include_server_header = False` setting). `Cache-Control: no-store`
    is added only when the app chose no caching policy of its own. The edge
    middleware applies `secure_headers` in its own `send` wrapper.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = secure_headers(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secure_headers(
    headers: Iterable[tuple[bytes, bytes]], extra: Iterable[tuple[bytes, bytes]] | None = None
) -> list[tuple[bytes, bytes]]:
    """The response headers with the security headers set (one pass, no re-allocation per header).

    A JSON answer gets EVERY_ANSWER; any other (no Content-Type included) gets
    DOCUMENTS_ALSO too.
    """
    result: list[tuple[bytes, bytes]] = []
    has_cache_control = False
    json_answer = False
    for name, value in headers:
        lowered = name.lower()
        if lowered in _REPLACED:
            continue
        if lowered == b"cache-control":
            has_cache_control = True
        elif lowered == b"content-type":
            json_answer = is_json(value)
        result.append((name, value))
    if extra:
        result.extend(extra)
    result.extend(EVERY_ANSWER if json_answer else SECURITY_HEADERS)
    if not has_cache_control:
        result.append(_CACHE_CONTROL)
    return result
