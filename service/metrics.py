"""The service's own state as metrics: build info, health checks, security state, dropped log lines.

The HTTP metrics are observability's (`observability.metrics.HttpMetrics`); these
belong to this service. The security gauge is set by `service.security.status`.
"""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Counter, Gauge

from observability.logging import QUEUE_FULL, WRITE_ERROR


class ServiceMetrics:
    """Service state: build info, health checks, security state, dropped log lines."""

    DROP_REASONS = (QUEUE_FULL, WRITE_ERROR)

    def __init__(self, registry: CollectorRegistry, *, namespace: str, version: str) -> None:
        self.build_info = Gauge(
            f"{namespace}_build_info",
            "Build information (always 1).",
            ["version", "python"],
            multiprocess_mode="max",
            registry=registry,
        )
        self.build_info.labels(version, platform.python_version()).set(1)
        # Worst worker wins: one failing worker makes the check fail.
        self.health_status = Gauge(
            f"{namespace}_health_status",
            "1 when the health check passes, 0 when it fails.",
            ["check"],
            multiprocess_mode="livemin",
            registry=registry,
        )
        self.security_active = Gauge(
            f"{namespace}_security_active",
            "1 when every security component works, 0 when degraded.",
            multiprocess_mode="livemin",
            registry=registry,
        )
        self.log_lines_dropped = Counter(
            f"{namespace}_log_lines_dropped",
            "Log lines that could not be written (queue full, sink failing).",
            ["reason"],
            registry=registry,
        )
        # Every reason's series exists at 0 from the first scrape: otherwise the first
        # burst of drops is the series' first sample and increase() cannot see it.
        for reason in self.DROP_REASONS:
            self.log_lines_dropped.labels(reason)

    def set_health(self, check: str, ok: bool) -> None:
        """Record the outcome of one health check."""
        self.health_status.labels(check).set(1 if ok else 0)

    def log_line_dropped(self, reason: str) -> None:
        """`on_drop` callback for `configure_logging`."""
        self.log_lines_dropped.labels(reason).inc()
