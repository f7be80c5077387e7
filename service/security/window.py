"""An exact moving-window counter per key, in this process (the `memory://` storage).

`limits`' own in-memory moving window answers a hit and the window statistics in
two storage calls, keeps an `asyncio.Lock` per key and expires idle keys with a
background task that hops to a worker thread once per key; with many distinct
clients that task alone costs more than the requests. Here one synchronous call
answers both (nothing awaits, so the event loop makes it atomic), and idle keys
go away in bulk: keys live in two generations that rotate every window length,
and a key untouched for a whole generation can only hold expired hits. A key's
hits are one float while it has one (24 bytes), then a plain list (a deque would
take 760): most clients of a busy service send a handful of requests a minute, and
120,000 of them a minute cost about 9 MiB less than with a list each.
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable


class MovingWindow:
    """At most `amount` hits per key in any `expiry`-second window (a sliding log of hit times).

    A key's list never holds more than `amount` hits: a refused hit is not recorded.
    """

    def __init__(self, amount: int, expiry: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.amount = amount
        self.expiry = expiry
        self._clock = clock
        # A key's hits: one float for a single hit, else a list in time order.
        self._current: dict[str, float | list[float]] = {}
        self._previous: dict[str, float | list[float]] = {}
        self._rotate_at = clock() + expiry

    def __len__(self) -> int:
        """Keys currently remembered (idle ones linger for at most two window lengths)."""
        return len(self._current) + len(self._previous)

    def hit(self, key: str) -> tuple[bool, int, int]:
        """Consume one hit: (allowed, remaining, whole seconds until a slot frees)."""
        now = self._clock()
        if now >= self._rotate_at:
            # Keys not touched since the last rotation hold only expired hits.
            self._previous, self._current = self._current, {}
            self._rotate_at = now + self.expiry
        current = self._current
        held = current.get(key)
        if held is None:
            held = self._previous.pop(key, None)
        expiry = self.expiry
        hits: list[float]
        if isinstance(held, list):
            hits = held
        elif held is None or held <= now - expiry:
            # A client's first hit in the window: one float, no list (see the module docstring).
            if self.amount < 1:
                return False, 0, max(math.ceil(expiry), 1)
            current[key] = now
            return True, self.amount - 1, max(math.ceil(expiry), 0)
        else:
            hits = [held]
        current[key] = hits
        horizon = now - expiry
        if hits and hits[0] <= horizon:
            del hits[: bisect.bisect_right(hits, horizon)]  # hits are in time order
        if len(hits) >= self.amount:
            if not hits:  # a limit of 0 refuses everything
                return False, 0, max(math.ceil(expiry), 1)
            return False, 0, max(math.ceil(hits[0] + expiry - now), 1)
        hits.append(now)
        return True, self.amount - len(hits), max(math.ceil(hits[0] + expiry - now), 0)
