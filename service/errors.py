"""The one error shape every 4xx/5xx answer uses: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability import CLIENT_CLOSED_REQUEST, EXCEPTION_SCOPE_KEY

log = logging.getLogger("ai_diy.errors")


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSON error body with the given HTTP status."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette's HTTPException (404, 405, ...) as a JSON error."""
    assert isinstance(exc, HTTPException)  # noqa: S101  # narrows the type: registered for HTTPException only
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route for {request.url.path}"
    return error_response(exc.status_code, _code_for(exc.status_code), message, exc.headers)


class ErrorBoundaryMiddleware:
    """`ErrorBoundary` as a middleware of its own (the edge middleware applies it in one frame with the rest)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.boundary = ErrorBoundary()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            if started:
                raise
            await self.boundary.answer(exc, scope, receive, send)


class ErrorBoundary:
    """Turns an unhandled exception into the JSON 500, inside the middleware stack.

    Starlette's own ServerErrorMiddleware sits outside every user middleware, so the
    500 it sends would carry no security headers and no metrics; catching here keeps
    the error an ordinary response for everything outside. The traceback goes to the
    server log only. If the response had already started there is nothing to answer:
    the caller lets the exception propagate so the connection is aborted (and counted
    as such).
    """

    async def answer(self, exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer for `exc`, raised by the app before its response started."""
        if isinstance(exc, ClientDisconnect):
            # The client left mid-request: nobody to answer and nothing wrong here.
            # 499 (as nginx names it) keeps it out of the 5xx error rate and the SLO,
            # while the access line and metrics still show it happened.
            log.info(
                "client disconnected during %s %s",
                scope.get("method"),
                scope.get("path"),
                extra={"event": "client_disconnected", "status": "error"},
            )
            await error_response(CLIENT_CLOSED_REQUEST, "client_closed_request", "client closed the request")(
                scope, receive, send
            )
            return
        log.error(
            "unhandled error on %s %s",
            scope.get("method"),
            scope.get("path"),
            exc_info=exc,
            extra={"event": "unhandled_exception", "status": "error"},
        )
        # The telemetry outside records it on the request's span, if the trace is kept.
        scope[EXCEPTION_SCOPE_KEY] = exc
        response = error_response(500, "internal_error", "internal server error")
        await response(scope, receive, send)
