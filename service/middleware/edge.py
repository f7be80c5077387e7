"""EdgeMiddleware: every per-request policy of the service in one coroutine frame and one `send` wrapper.

Each policy is a plain object the edge calls (service.security and
observability.middleware); their order is the stack's: client IP -> telemetry ->
security headers -> request size -> rate limit -> error boundary -> route. A chain
of one pure-ASGI middleware per policy would cost each request a coroutine frame and
a `send` wrapper per layer before any of them does its work.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability import RequestTelemetry
from service.errors import ErrorBoundary, ErrorBoundaryMiddleware
from service.security.body_limit import RequestSize
from service.security.client_ip import ClientIP
from service.security.headers import secure_headers
from service.security.rate_limit import Headers, RateLimit


class EdgeMiddleware:
    """Applies the given policies to every HTTP request; any of them can be left out (None).

    Every answer gets the security headers (service.security.headers), and an
    answer the rate limit counted gets its two headers too.

    - `client_ip` puts the real client in the scope before anything records it;
    - `telemetry` records every answer, refusals and errors included;
    - `request_size` refuses oversized or ambiguously framed requests, and counts a
      body of undeclared length as the app reads it;
    - `rate_limit` answers 429 to a client over its limit;
    - `boundary` turns an exception of the app into the JSON 500 (or 499).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        client_ip: ClientIP | None = None,
        telemetry: RequestTelemetry | None = None,
        request_size: RequestSize | None = None,
        rate_limit: RateLimit | None = None,
        boundary: ErrorBoundary | None = None,
    ) -> None:
        self.app = app
        self.client_ip = client_ip
        self.telemetry = telemetry
        self.request_size = request_size
        self.rate_limit = rate_limit
        self.boundary = boundary
        # A body counted as it is read (rare: chunked, or HTTP/2 without a length) keeps
        # the error boundary inside the count, as in a chain of separate layers.
        self._counted_app: ASGIApp = ErrorBoundaryMiddleware(app) if boundary is not None else app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket" and self.client_ip is not None:
                self.client_ip.apply(scope)
            await self.app(scope, receive, send)
            return
        if self.client_ip is not None:
            self.client_ip.apply(scope)
        telemetry = self.telemetry
        recorder = telemetry.start(scope, receive, send) if telemetry is not None else None
        started = False
        extra: Headers | None = None

        async def edge_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = secure_headers(message.get("headers", ()), extra)
            if recorder is not None and recorder.sending(message):
                await send(message)
                recorder.sent()
            else:
                await send(message)

        try:
            if recorder is not None and recorder.counts_body:
                receive = recorder.receive
            refusal: Response | None = None
            counts_body = False
            if self.request_size is not None:
                refusal, counts_body = self.request_size.screen(scope)
            rate_limit = self.rate_limit
            if refusal is None and rate_limit is not None and rate_limit.covers(scope["path"]):
                client = scope.get("client")
                client_ip = client[0] if client else "unknown"
                limiter = rate_limit.limiter
                # The in-process storage cannot fail or wait: no coroutine for it.
                decision = limiter.hit_local(client_ip) if limiter.local else await limiter.check(client_ip, client_ip)
                verdict = rate_limit.verdict(scope, client_ip, decision)
                if isinstance(verdict, Response):
                    refusal = verdict
                else:
                    extra = verdict
            if refusal is not None:
                await refusal(scope, receive, edge_send)
            elif counts_body:
                assert self.request_size is not None  # noqa: S101  # narrows the type: only it asks for counting
                await self.request_size.counted(self._counted_app, scope, receive, edge_send)
            else:
                try:
                    await self.app(scope, receive, edge_send)
                except Exception as exc:
                    if started or self.boundary is None:
                        raise
                    await self.boundary.answer(exc, scope, receive, edge_send)
        except BaseException as exc:
            if recorder is not None:
                recorder.finish(exc)
            raise
        if recorder is not None:
            recorder.finish(None)
