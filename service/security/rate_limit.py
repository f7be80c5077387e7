"""Rate limiting of `/api/*`: one limit per client IP across every API route."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from limits import RateLimitItem
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability import RouteResolver
from service.errors import error_response
from service.security.limiter import Decision, RateLimiter

Headers = list[tuple[bytes, bytes]]


class RateLimit:
    """One limit per client IP across `/api/*`: a hit's verdict, as response headers or as the answer.

    Requests under `prefix` are counted per client IP (`scope["client"][0]`, as set by
    ClientIP); `exempt` paths and everything else are not `covered`. An allowed hit
    gets the `RateLimit` and `RateLimit-Policy` headers (`RateHeaders`); one over the
    limit the JSON 429 (with `Retry-After` and the same two). When the storage cannot
    answer, the request is allowed (or refused with 503 when `fail_closed`). The
    limiter is shared with the status report.
    """

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        fail_closed: bool = False,
        prefix: str = "/api/",
        exempt: Iterable[str] = ("/health", "/metrics"),
        route_resolver: RouteResolver | None = None,
    ) -> None:
        self.limiter = limiter
        self.rate_headers = RateHeaders(limiter.items)
        self.fail_closed = fail_closed
        self.events = limiter.events
        self.prefix = prefix
        self.exempt = frozenset(exempt)
        # The telemetry's resolver: a refusal is labelled with the route the router would pick.
        self.resolve_route = route_resolver or RouteResolver()

    def covers(self, path: str) -> bool:
        """Whether requests for `path` are counted."""
        return path.startswith(self.prefix) and path not in self.exempt

    def verdict(self, scope: Scope, client_ip: str, decision: Decision | None) -> Response | Headers | None:
        """The answer instead of the app's (429, 503), or the headers to add to the app's (None: none)."""
        if decision is None:
            if not self.fail_closed:
                return None
            return error_response(
                503,
                "rate_limiter_unavailable",
                "rate limiting is unavailable; try again shortly",
                headers={"Retry-After": str(max(int(self.limiter.retry_interval), 1))},
            )
        if decision.allowed:
            return self.rate_headers.of(decision)
        return self._refusal(scope, decision, client_ip)

    def _refusal(self, scope: Scope, decision: Decision, client_ip: str) -> Response:
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
        response.raw_headers.extend(self.rate_headers.of(decision))
        return response


async def hit(limiter: RateLimiter, client_ip: str) -> Decision | None:
    """One hit of `client_ip`: the in-process storage answers in one synchronous call (it cannot fail or wait)."""
    return limiter.hit_local(client_ip) if limiter.local else await limiter.check(client_ip, client_ip)


class RateLimitMiddleware:
    """`RateLimit` as a middleware of its own (the edge middleware applies it in one frame with the rest)."""

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
        self.rate_limit = RateLimit(
            limiter, fail_closed=fail_closed, prefix=prefix, exempt=exempt, route_resolver=route_resolver
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rate_limit = self.rate_limit
        if scope["type"] != "http" or not rate_limit.covers(scope["path"]):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        client_ip = client[0] if client else "unknown"
        verdict = rate_limit.verdict(scope, client_ip, await hit(rate_limit.limiter, client_ip))
        if verdict is None:
            await self.app(scope, receive, send)
        elif isinstance(verdict, Response):
            await verdict(scope, receive, send)
        else:
            extra = verdict

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), *extra]
                await send(message)

            await self.app(scope, receive, send_with_headers)


# The numbers of the headers as bytes, made once: formatting them per request costs more.
_NUMBERS = tuple(b"%d" % n for n in range(4096))


def _number(n: int) -> bytes:
    return _NUMBERS[n] if 0 <= n < 4096 else b"%d" % n


class RateHeaders:
    """The IETF draft's two structured fields (draft-ietf-httpapi-ratelimit-headers):

    `RateLimit-Policy: "default";q=100;w=60` (each limit: its quota and window in
    seconds; the same on every answer, so made once) and `RateLimit: "default";r=99;t=60`
    (the tightest limit of this hit: what remains and the seconds until a slot frees).
    A single limit is named `default`; several are named after their windows
    (`"per-1s"`, `"per-60s"`), and a hit is reported under the first of the same quota.
    """

    def __init__(self, items: Sequence[RateLimitItem]) -> None:
        windows = [int(item.get_expiry()) for item in items]
        names = ["default"] if len(items) == 1 else [_window_name(w, i, windows) for i, w in enumerate(windows)]
        policy = ", ".join(f'"{n}";q={item.amount};w={w}' for n, item, w in zip(names, items, windows, strict=True))
        self.policy = (b"RateLimit-Policy", policy.encode("ascii"))
        self._prefixes: dict[int, bytes] = {}
        for name, item in zip(names, items, strict=True):
            self._prefixes.setdefault(item.amount, f'"{name}";r='.encode("ascii"))

    def of(self, decision: Decision) -> Headers:
        """The two headers of an answered hit."""
        prefix = self._prefixes.get(decision.limit) or b'"default";r='
        value = prefix + _number(decision.remaining) + b";t=" + _number(decision.reset_after)
        return [(b"RateLimit", value), self.policy]


def _window_name(window: int, index: int, windows: list[int]) -> str:
    return f"per-{window}s" if windows.count(window) == 1 else f"per-{window}s-{index}"
