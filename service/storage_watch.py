"""The rate-limit storage asked in the background, so its health shows without traffic.

The limiter learns of an outage (and of the recovery) from the hits of `/api`
requests; an idle instance would keep saying healthy, and `ai_diy_security_active`
would stay 1, for as long as nobody calls it. The watch asks the storage every
`interval` seconds instead (each probe bounded by the limiter's own timeout), and
the limiter's listeners (the gauge, /health) hear every change.
"""

from __future__ import annotations

import asyncio
import contextlib

from service.security.limiter import RateLimiter

PROBE_INTERVAL = 1.0


class StorageWatch:
    """Probes a remote rate-limit storage every `interval` seconds while started; the in-process one never fails."""

    def __init__(self, limiter: RateLimiter, *, interval: float = PROBE_INTERVAL) -> None:
        self.limiter = limiter
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """Start probing on the running event loop (no-op for the in-process storage)."""
        if self.limiter.local or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="rate-limit-storage-watch")

    async def stop(self) -> None:
        """Stop probing and wait for the probe in flight to end (it is bounded)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while True:
            # probe() never raises: a failure marks the storage unhealthy, and is counted and logged there.
            await self.limiter.probe()
            await asyncio.sleep(self.interval)
