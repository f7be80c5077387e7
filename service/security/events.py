"""Security events: one audit log line and one counter per event, plus last-hour counts."""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger("ai_diy.security")

# Each event and the severity the service records it with; those series exist from
# the start at 0 (so rate() and increase() see the first event). Other severities
# are accepted and get their series when first used.
EVENT_SEVERITY = {
    "path_traversal_attempt": "warning",
    # A document name the path rules refuse (bad character, too long, wrong extension):
    # usually a client's mistake, so info, and not a traversal.
    "invalid_document_name": "info",
    "suspicious_input": "warning",
    "rate_limit_exceeded": "warning",
    "request_too_large": "warning",
    "rate_limiter_storage_error": "critical",
    "auth_failure": "warning",
}
EVENTS = frozenset(EVENT_SEVERITY)
SEVERITIES = frozenset({"info", "warning", "critical"})
# Values of ai_diy_input_validation_failures_total{reason}: a closed set keeps the label bounded.
INPUT_REASONS = frozenset(
    {
        "path_traversal",
        "invalid_document_name",
        "malformed_json",
        "too_deep",
        "string_too_long",
        "too_many_items",
        "nul_byte",
        "request_too_large",
        "conflicting_framing",
        "other",
    }
)
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}
_HOUR = 3600.0
_BUCKET = 60.0  # last-hour counts are kept per minute: 60 buckets per event type, whatever the traffic


class SecurityEvents:
    """Records security events: an `ai_diy.security` log line, counters, last-hour counts.

    Every event is a log line whose message starts with `SECURITY_AUDIT` (the runbook
    greps for it) and a sample of `ai_diy_security_events_total{event,severity}`.
    Events that reject input also count in `ai_diy_input_validation_failures_total`,
    and `auth_failure` in `ai_diy_auth_failures_total`. Client IPs go to the log
    only, never to a metric label.
    """

    def __init__(self, registry: CollectorRegistry, *, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self.events_total = Counter(
            "ai_diy_security_events", "Security events by type and severity.", ["event", "severity"], registry=registry
        )
        self.rate_limit_violations = Counter(
            "ai_diy_rate_limit_violations",
            "Requests refused with 429, by route template.",
            ["http_route"],
            registry=registry,
        )
        self.input_validation_failures = Counter(
            "ai_diy_input_validation_failures",
            "Requests rejected for bad input, by reason.",
            ["reason"],
            registry=registry,
        )
        self.rate_limiter_errors = Counter(
            "ai_diy_rate_limiter_errors", "Rate-limit storage failures (unreachable, timed out).", registry=registry
        )
        self.auth_failures = Counter("ai_diy_auth_failures", "Failed admin authentications (401).", registry=registry)
        for event, severity in EVENT_SEVERITY.items():  # zeros, so rate() works from the first scrape
            self.events_total.labels(event=event, severity=severity)
        for reason in INPUT_REASONS:
            self.input_validation_failures.labels(reason=reason)
        self._recent: dict[str, deque[list[float]]] = {
            event: deque(maxlen=int(_HOUR / _BUCKET) + 1) for event in EVENTS
        }

    def record(self, event: str, severity: str, client_ip: str, **details: Any) -> None:
        """Log and count one security event; `details` land in the log line's `details`."""
        if event not in EVENTS:
            raise ValueError(f"unknown security event {event!r}")
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        self.events_total.labels(event=event, severity=severity).inc()
        if event == "auth_failure":
            self.auth_failures.inc()
        reason = _input_reason(event, details.get("reason"))
        if reason is not None:
            self.input_validation_failures.labels(reason=reason).inc()
        self._remember(event)
        log.log(
            _LEVELS[severity],
            "SECURITY_AUDIT %s",
            event,
            extra={
                "event": event,
                "severity": severity,
                "status": "error",
                "details": {"client_ip": client_ip, **details},
            },
        )

    def last_hour(self) -> dict[str, int]:
        """Events per type over the last hour (minute resolution)."""
        horizon = self._clock() - _HOUR
        return {
            event: int(sum(n for start, n in buckets if start > horizon)) for event, buckets in self._recent.items()
        }

    def _remember(self, event: str) -> None:
        now = self._clock()
        buckets = self._recent[event]
        if buckets and now - buckets[-1][0] < _BUCKET:
            buckets[-1][1] += 1
        else:
            buckets.append([now, 1])


def _input_reason(event: str, reason: Any) -> str | None:
    if event == "path_traversal_attempt":
        return "path_traversal"
    if event == "invalid_document_name":
        return "invalid_document_name"
    if event == "request_too_large":
        return "request_too_large"
    if event == "suspicious_input":
        return reason if reason in INPUT_REASONS else "other"
    return None
