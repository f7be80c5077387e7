"""Rate limiting of `/api/*`: one limit per client IP across every API route."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability import RouteResolver
from service.errors import error_response
from service.security.headers import EXTRA_HEADERS
from service.security.limiter import Decision, RateLimiter


class RateLimitMiddleware:
    """Answers 429 (JSON, `Retry-After`, `RateLimit-*`) to a client over its limit.

    Requests under `prefix` are counted per client IP (`scope["client"][0]`, as set by
    ClientIPMiddleware); `exempt` paths and everything else pass untouched. Allowed
    responses carry `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
    When the storage cannot answer the request is allowed (or refused with 503 when
    `fail_closed`). The limiter is shared with the status report.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limiter: RateLimiter,
        fail_closed: bool = False,
        prefix: str = "/api/",
        exempt: Iterable[str] = ("/health", "/metrics"),
        route_resolver: RouteResolver | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.fail_closed = fail_closed
        self.events = limiter.events
        self.prefix = prefix
        self.exempt = frozenset(exempt)
        # The telemetry's resolver: a refusal is labelled with the route the router would pick.
        self.resolve_route = route_resolver or RouteResolver()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix) or path in self.exempt:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        client_ip = client[0] if client else "unknown"
        limiter = self.limiter
        # The in-process storage cannot fail or wait: no coroutine for it.
        decision = limiter.hit_local(client_ip) if limiter.local else await limiter.check(client_ip, client_ip)
        if decision is None:
            if self.fail_closed:
                response = error_response(
                    503,
                    "rate_limiter_unavailable",
                    "rate limiting is unavailable; try again shortly",
                    headers={"Retry-After": str(max(int(self.limiter.retry_interval), 1))},
                )
                await response(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        if not decision.allowed:
            await self._refuse(scope, receive, send, decision, client_ip)
            return
        extra = rate_headers(decision)
        outer = scope.get(EXTRA_HEADERS)
        if isinstance(outer, list):
            # SecurityHeadersMiddleware outside adds them with its own headers.
            outer.extend(extra)
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, decision: Decision, client_ip: str) -> None:
        route = self.resolve_route.match(scope)
        self.events.rate_limit_violations.labels(http_route=route).inc()
        self.events.record(
            "rate_limit_exceeded",
            "warning",
            client_ip,
            method=scope.get("method"),
            path=scope.get("path"),
            http_route=route,
            limit=self.limiter.limit,
        )
        response = error_response(
            429,
            "rate_limit_exceeded",
            f"rate limit of {self.limiter.limit} exceeded; retry in {decision.reset_after} s",
            headers={"Retry-After": str(decision.reset_after)},
        )
        # Appended raw so the names keep their canonical case on the wire.
        response.raw_headers.extend(rate_headers(decision))
        await response(scope, receive, send)


# The numbers of the headers as bytes, made once: formatting three per request costs more.
_NUMBERS = tuple(b"%d" % n for n in range(4096))


def _number(n: int) -> bytes:
    return _NUMBERS[n] if 0 <= n < 4096 else b"%d" % n


def rate_headers(decision: Decision) -> list[tuple[bytes, bytes]]:
    """The RateLimit response headers of an answered hit."""
    return [
        (b"RateLimit-Limit", _number(decision.limit)),
        (b"RateLimit-Remaining", _number(decision.remaining)),
        (b"RateLimit-Reset", _number(decision.reset_after)),
    ]
