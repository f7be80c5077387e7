"""An exact moving-window counter per key, in this process (the `memory://` storage).

`limits`' own in-memory moving window answers a hit and the window statistics in
two storage calls, keeps an `asyncio.Lock` per key and expires idle keys with a
background task that hops to a worker thread once per key; with many distinct
clients that task alone costs more than the requests. Here one synchronous call
answers both (nothing awaits, so the event loop makes it atomic), and idle keys
go away in bulk: keys live in two generations that rotate every window length,
and a key untouched for a whole generation can only hold expired hits.
"""
from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class MovingWindow:
    """At most `amount` hits per key in any `expiry`-second window (a sliding log of hit times)."""

    def __init__(self, amount: int, expiry: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.amount = amount
        self.expiry = expiry
        self._clock = clock
        self._current: dict[str, deque[float]] = {}
        self._previous: dict[str, deque[float]] = {}
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
        hits = self._current.get(key)
        if hits is None:
            hits = self._previous.pop(key, None)
            if hits is None:
                hits = deque(maxlen=self.amount)
            self._current[key] = hits
        horizon = now - self.expiry
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.amount:
            if not hits:  # a limit of 0 refuses everything
                return False, 0, max(math.ceil(self.expiry), 1)
            return False, 0, max(math.ceil(hits[0] + self.expiry - now), 1)
        hits.append(now)
        return True, self.amount - len(hits), max(math.ceil(hits[0] + self.expiry - now), 0)
