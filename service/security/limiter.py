"""Per-client rate limiting on `limits` (moving window), with a bounded, self-healing storage."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import NamedTuple

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from service.security.events import SecurityEvents
from service.security.window import MovingWindow


class Decision(NamedTuple):
    """The outcome of one hit: allowed or not, and the numbers for the RateLimit headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window frees a slot


def async_storage_uri(uri: str) -> str:
    """`redis://h:p/0` -> `async+redis://h:p/0`: the settings speak the sync schemes, the limiter is async."""
    return uri if uri.startswith("async+") else f"async+{uri}"


def storage_scheme(uri: str) -> str:
    """The scheme alone (`redis`), never host, user or password."""
    return uri.split("://", 1)[0].removeprefix("async+")


class RateLimiter:
    """Counts hits per key in a `limits` storage; survives that storage going away.

    Storage calls are bounded by `timeout`, so a black-holed Redis costs a request at
    most that long. After a failure the storage is marked unhealthy and skipped
    (`check` returns None, the caller decides fail-open or fail-closed) until
    `retry_interval` has passed; then one request probes it again. Failures count
    in `ai_diy_rate_limiter_errors_total`; the `rate_limiter_storage_error` event is
    logged at most once per `log_interval`, not once per request. Listeners hear
    every change of `storage_healthy`.
    """

    def __init__(
        self,
        limit: str,
        storage_uri: str,
        *,
        events: SecurityEvents,
        timeout: float = 0.5,
        retry_interval: float = 1.0,
        log_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.items: list[RateLimitItem] = parse_many(limit)
        self.scheme = storage_scheme(storage_uri)
        storage = storage_from_string(async_storage_uri(storage_uri), wrap_exceptions=True)
        if not isinstance(storage, Storage):
            raise ValueError(f"{storage_uri!r} is not an async rate-limit storage")
        self.storage: Storage = storage
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.events = events
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.log_interval = log_interval
        self._clock = clock
        # The in-process storage cannot hang or fail: no timeout around it, and its
        # windows are counted here in one synchronous call (see MovingWindow).
        self._bounded = not isinstance(self.storage, MemoryStorage)
        self._local: list[MovingWindow] | None = None
        if not self._bounded:
            self._local = [MovingWindow(item.amount, item.get_expiry(), clock=clock) for item in self.items]
        self.storage_healthy = True
        self._retry_at = 0.0
        self._probing = False
        self._logged_at = -math.inf
        self._listeners: list[Callable[[bool], None]] = []
        # Fault injection's "unreachable storage": until this clock time every hit and probe fails.
        self._cut_until = 0.0
        self._cut_local: list[MovingWindow] | None = None

    def add_listener(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(healthy)` whenever the storage health changes."""
        self._listeners.append(listener)

    async def check(self, key: str, client_ip: str) -> Decision | None:
        """Consume one hit for `key`; None when the storage cannot answer."""
        if not self.storage_healthy:
            if self._probing or self._clock() < self._retry_at:
                return None
            self._probing = True
        try:
            if self._bounded:
                async with asyncio.timeout(self.timeout):
                    decision = await self._consume(key)
            else:
                decision = await self._consume(key)
        except Exception as exc:  # any storage failure degrades the limiter; it is counted and logged
            self._failed(exc, client_ip)
            return None
        finally:
            self._probing = False
        if not self.storage_healthy:
            self._set_healthy(True)
        return decision

    async def probe(self) -> bool:
        """Ask the storage whether it answers (bounded); updates `storage_healthy`."""
        if self._cut_until and self._still_cut():
            self._failed(ConnectionError("rate-limit storage unreachable (fault injection)"), "internal")
            return False
        try:
            async with asyncio.timeout(self.timeout):
                ok = await self.storage.check()
        except Exception as exc:  # same handling as a failed hit
            self._failed(exc, "internal")
            return False
        if ok and not self.storage_healthy:
            self._set_healthy(True)
        elif not ok:
            self._failed(ConnectionError("storage check failed"), "internal")
        return ok

    def cut_off(self, seconds: float) -> None:
        """Make the storage unreachable for `seconds` (fault injection): every hit and probe fails meanwhile.

        The in-process windows are set aside, so requests take the same path a remote
        storage's do (`local` is False) and fail-open or fail-closed applies as configured.
        """
        if not self._cut_until:
            self._cut_local = self._local
        self._local = None
        self._cut_until = self._clock() + seconds
        self._failed(ConnectionError("rate-limit storage unreachable (fault injection)"), "internal")

    def reconnect(self) -> None:
        """End `cut_off` early; the storage is asked again on the next hit or probe."""
        if not self._cut_until:
            return
        self._cut_until = 0.0
        self._local, self._cut_local = self._cut_local, None
        self._retry_at = 0.0
        if self._local is not None:  # in-process windows cannot fail: healthy again at once
            self._set_healthy(True)

    def _still_cut(self) -> bool:
        if self._cut_until and self._clock() >= self._cut_until:
            self.reconnect()
        return bool(self._cut_until)

    async def _consume(self, key: str) -> Decision:
        if self._cut_until and self._still_cut():
            raise ConnectionError("rate-limit storage unreachable (fault injection)")
        if self._local is not None:
            return self._consume_local(key)
        tightest: Decision | None = None
        for item in self.items:
            allowed = await self.strategy.hit(item, key)
            reset_at, remaining = await self.strategy.get_window_stats(item, key)
            decision = Decision(
                allowed=allowed,
                limit=item.amount,
                remaining=max(remaining, 0),
                reset_after=max(math.ceil(reset_at - time.time()), 0 if allowed else 1),
            )
            if not allowed:
                return decision
            if tightest is None or decision.remaining < tightest.remaining:
                tightest = decision
        assert tightest is not None  # noqa: S101  # parse_many never returns an empty list
        return tightest

    @property
    def local(self) -> bool:
        """Whether hits are counted in this process (`hit_local` answers without awaiting)."""
        return self._local is not None

    def hit_local(self, key: str) -> Decision:
        """Consume one hit for `key` in the in-process windows; only when `local`."""
        return self._consume_local(key)

    def _consume_local(self, key: str) -> Decision:
        assert self._local is not None  # noqa: S101  # narrows the type: only called when `local`
        tightest: Decision | None = None
        for window in self._local:
            allowed, remaining, reset_after = window.hit(key)
            decision = Decision(allowed=allowed, limit=window.amount, remaining=remaining, reset_after=reset_after)
            if not allowed:
                return decision
            if tightest is None or decision.remaining < tightest.remaining:
                tightest = decision
        assert tightest is not None  # noqa: S101  # parse_many never returns an empty list
        return tightest

    def _failed(self, exc: BaseException, client_ip: str) -> None:
        self.events.rate_limiter_errors.inc()
        now = self._clock()
        self._retry_at = now + self.retry_interval
        if now - self._logged_at >= self.log_interval:
            self._logged_at = now
            self.events.record(
                "rate_limiter_storage_error",
                "critical",
                client_ip,
                storage=self.scheme,
                error=type(exc).__name__,
                message=str(exc)[:200],
            )
        if self.storage_healthy:
            self._set_healthy(False)

    def _set_healthy(self, healthy: bool) -> None:
        self.storage_healthy = healthy
        for listener in self._listeners:
            listener(healthy)
