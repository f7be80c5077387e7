"""Work repeated on a background thread: the resource log line, health refreshes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .resources import ResourceSampler


class Periodic:
    """Runs `action` every `interval` seconds on a daemon thread until stopped.

    A failing action is logged with its traceback on `logger` and tried again next
    round: one bad sample must not end the series.
    """

    def __init__(self, name: str, interval: float, action: Callable[[], object], logger: logging.Logger) -> None:
        self.name = name
        self.interval = interval
        self.action = action
        self.logger = logger
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Start the thread (no-op when the interval is 0 or already running)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def run_once(self) -> None:
        """Run the action now, logging instead of raising when it fails."""
        try:
            self.action()
        except Exception:
            self.logger.exception("%s failed", self.name, extra={"event": f"{self.name}_failed", "status": "error"})

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()


class ResourceLogger(Periodic):
    """A `resource_usage` log line every `interval` seconds, so `grep memory_mb` shows the trend."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float,
        *,
        sampler: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        super().__init__("resource-logger", interval, self.log_once, logger)
        self._sample = sampler or ResourceSampler().snapshot

    def log_once(self) -> None:
        """Write one `resource_usage` line now."""
        usage = self._sample()
        self.logger.info(
            "resource usage: %.1f MB (%.1f%%), cpu %.1f%%",
            usage["memory_mb"],
            usage["memory_percent"],
            usage["cpu_percent"],
            extra={"event": "resource_usage", **usage},
        )
