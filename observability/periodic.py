"""A `resource_usage` log line every N seconds, so `grep memory_mb` shows the trend."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from .resources import ResourceSampler


class ResourceLogger:
    """Background thread logging a resource snapshot every `interval` seconds."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float,
        *,
        sampler: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self._sample = sampler or ResourceSampler().snapshot
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start logging (no-op when the interval is 0 or already running)."""
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="resource-logger", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

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

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.log_once()
            except Exception:  # a failed sample must not end the trend; say why
                self.logger.exception("resource sampling failed")
