"""A CPU burn: a thread busy for a share of every tenth of a second, until stopped or its deadline.

The CPU alert reads the process' CPU seconds per second; a burner at share 1 keeps one
core busy, as a saturated event loop would. The deadline is the fault's own, so a burner
nobody stops still ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SLICE_SECONDS = 0.1


class CpuBurn:
    """One burner thread; `stop()` ends it (and waits for it, bounded)."""

    def __init__(self, share: float, deadline: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.share = share
        self.deadline = deadline
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-cpu-burn", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        clock = self._clock
        while not self._stop.is_set() and clock() < self.deadline:
            busy_until = clock() + SLICE_SECONDS * self.share
            while clock() < busy_until:
                pass  # the burn itself
            self._stop.wait(SLICE_SECONDS * (1 - self.share))

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
