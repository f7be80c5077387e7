"""The faults that act on a part of the service outside the request path: the log sink, the rate-limit storage.

Each is an `Effect` the registry starts and stops; each bounds itself by the fault's
seconds, so it ends even when nobody reads the registry again.
"""

from __future__ import annotations

from collections.abc import Callable

from observability import LogSink
from service.security.limiter import RateLimiter

from .registry import FaultError


class BlockedLogSink:
    """The log writer stops writing: `value` lines wait in its buffer, later ones are dropped and counted."""

    def __init__(self, sink: Callable[[], LogSink | None]) -> None:
        self._sink = sink

    def start(self, value: float | str, seconds: float) -> None:
        sink = self._sink()
        if sink is None:
            raise FaultError("log_sink_blocked: this process does not manage its logs (nothing to block)")
        sink.hold(int(float(value)), seconds)

    def stop(self) -> None:
        sink = self._sink()
        if sink is not None:
            sink.release()


class UnreachableStorage:
    """The rate limiter's storage stops answering; fail-open or fail-closed applies as configured."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    def start(self, value: float | str, seconds: float) -> None:
        self._limiter.cut_off(seconds)

    def stop(self) -> None:
        self._limiter.reconnect()
