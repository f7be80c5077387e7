"""The `/api/security/status` report and the `ai_diy_security_active` gauge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import Gauge

from service.security.events import SecurityEvents
from service.security.limiter import RateLimiter


class SecurityStatus:
    """Builds the security status report and keeps `ai_diy_security_active` in step with it.

    The only component that can break at run time is the rate-limit storage; the
    gauge follows its health as it changes (not only when the report is asked for),
    so an alert sees a Redis outage even when nobody calls the endpoint.
    """

    def __init__(
        self,
        *,
        limiter: RateLimiter,
        events: SecurityEvents,
        gauge: Gauge,
        trusted_proxies: int = 0,
        max_request_bytes: int,
        fail_closed: bool = False,
        json_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.gauge = gauge
        self.limiter = limiter
        self.events = events
        self.trusted_proxies = trusted_proxies
        self.max_request_bytes = max_request_bytes
        self.fail_closed = fail_closed
        self.json_limits = dict(json_limits or {"max_depth": 20, "max_string": 10_000, "max_items": 1_000})
        self.gauge.set(1 if limiter.storage_healthy else 0)
        limiter.add_listener(lambda healthy: self.gauge.set(1 if healthy else 0))

    @property
    def active(self) -> bool:
        return self.limiter.storage_healthy

    async def report(self, resource_usage: Any = None) -> dict[str, Any]:
        """The status body; asks a remote rate-limit storage first so the answer is current."""
        if self.limiter.scheme != "memory":
            await self.limiter.probe()
        healthy = self.limiter.storage_healthy
        state = "active"
        return {
            "security_status": "active" if healthy else "degraded",
            "report": {
                "components": {
                    "headers": {"state": state},
                    "rate_limiter": {
                        "state": state if healthy else "degraded",
                        "storage": self.limiter.scheme,
                        "healthy": healthy,
                    },
                    "client_ip": {"state": state, "trusted_proxies": self.trusted_proxies},
                    "request_size_limit": {"state": state},
                    "path_inspection": {"state": state},
                    "input_inspection": {"state": state},
                },
                "rate_limit": {
                    "limit": self.limiter.limit,
                    "storage": self.limiter.scheme,
                    "healthy": healthy,
                    "fail_closed": self.fail_closed,
                },
                "limits": {"max_request_bytes": self.max_request_bytes, "json": dict(self.json_limits)},
                "events_last_hour": self.events.last_hour(),
                "resource_usage": resource_usage,
            },
        }
