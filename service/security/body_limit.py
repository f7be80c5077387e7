"""Request size: 431 for a header block over the limit; 400 for conflicting framing; 413
before reading a body announced too large, or as soon as one grows too large."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response
from service.security.events import SecurityEvents
from service.security.framing import (
    CONFLICTING_FRAMING,
    HEADERS_TOO_LARGE,
    MAX_HEADER_BYTES,
    body_framing,
    header_block_bytes,
)


class RequestTooLarge(HTTPException):
    """Raised from `receive` when the body passes the limit.

    It is an HTTPException so an app that does not catch it answers a plain 413
    instead of logging an unhandled error; the middleware replaces that answer
    with its own anyway.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body larger than {max_bytes} bytes")


class RequestSizeMiddleware:
    """`RequestSize` as a middleware of its own (the edge middleware applies it in one frame with the rest)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, events: SecurityEvents, max_header_bytes: int = MAX_HEADER_BYTES
    ) -> None:
        self.app = app
        self.request_size = RequestSize(max_bytes=max_bytes, events=events, max_header_bytes=max_header_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal, counts_body = self.request_size.screen(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
        elif counts_body:
            await self.request_size.counted(self.app, scope, receive, send)
        else:
            await self.app(scope, receive, send)


class RequestSize:
    """Refuses header blocks over `max_header_bytes` (JSON 431), request bodies framed two ways
    (JSON 400) or over `max_bytes` (JSON 413).

    The header block is measured from the header list the server parsed, so the
    limit is the same whether its bytes came in one write or in many (event
    `request_too_large`, reason `request_headers_too_large`).

    A body framed by both `Transfer-Encoding` and `Content-Length`, or by differing lengths (see
    service.security.framing), is refused before any body byte is read, with
    `Connection: close` so nothing that follows on the connection is served
    (event `suspicious_input`, reason `conflicting_framing`). One check with the
    size limit: both read the same two headers, in one pass.

    A `Content-Length` over the limit is refused before any body byte is read
    (event `request_too_large`). A chunked body (never trusted for a length: one
    declared beside it was refused above) is counted as the app reads it (`counted`);
    when it passes the limit the app's `receive` raises and whatever the app answers
    is replaced by the 413, with the same event. If the app had
    already started its response there is no status left to change, so the
    exception propagates and the server aborts the connection.
    """

    def __init__(self, *, max_bytes: int, events: SecurityEvents, max_header_bytes: int = MAX_HEADER_BYTES) -> None:
        self.max_bytes = max_bytes
        self.events = events
        self.max_header_bytes = max_header_bytes

    def screen(self, scope: Scope) -> tuple[Response | None, bool]:
        """(the refusal to answer instead of the app, or None; whether the body must be `counted`)."""
        headers = scope["headers"]
        framing = body_framing(headers)
        declared, chunked, conflicting, _ = framing
        header_bytes = header_block_bytes(framing, len(headers))
        if header_bytes > self.max_header_bytes:
            return self._refuse_headers(scope, header_bytes), False
        if conflicting:
            return self._refuse_framing(scope), False
        if declared is not None and declared > self.max_bytes:
            return self._refuse(scope, declared=declared), False
        # The server holds the body to its Content-Length, and an HTTP/1 request
        # with neither length nor chunked encoding has no body: nothing to count.
        counts = declared is None and (chunked or scope.get("http_version") not in ("1.0", "1.1"))
        return None, counts

    async def counted(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Run `app` with its body counted as it reads it, answering 413 once it passes the limit."""
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise RequestTooLarge(self.max_bytes)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to the oversized body is replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._refuse(scope, declared=None, received=received)(scope, receive, send)
        elif exceeded:
            raise RequestTooLarge(self.max_bytes)

    def _refuse_headers(self, scope: Scope, header_bytes: int) -> Response:
        client = scope.get("client")
        self.events.record(
            "request_too_large",
            "warning",
            client[0] if client else "unknown",
            reason=HEADERS_TOO_LARGE,
            method=scope.get("method"),
            path=scope.get("path"),
            header_bytes=header_bytes,
            max_header_bytes=self.max_header_bytes,
        )
        return error_response(
            431,
            HEADERS_TOO_LARGE,
            f"request headers larger than the limit of {self.max_header_bytes} bytes",
            headers={"Connection": "close"},
        )

    def _refuse_framing(self, scope: Scope) -> Response:
        client = scope.get("client")
        self.events.record(
            "suspicious_input",
            "warning",
            client[0] if client else "unknown",
            reason=CONFLICTING_FRAMING,
            method=scope.get("method"),
            path=scope.get("path"),
        )
        return error_response(
            400,
            CONFLICTING_FRAMING,
            "a request must not carry both Content-Length and Transfer-Encoding, nor different Content-Length values",
            headers={"Connection": "close"},
        )

    def _refuse(self, scope: Scope, **details: int | None) -> Response:
        client = scope.get("client")
        self.events.record(
            "request_too_large",
            "warning",
            client[0] if client else "unknown",
            method=scope.get("method"),
            path=scope.get("path"),
            max_bytes=self.max_bytes,
            **{key: value for key, value in details.items() if value is not None},
        )
        return error_response(
            413,
            "request_too_large",
            f"request body larger than the limit of {self.max_bytes} bytes",
            headers={"Connection": "close"},
        )
