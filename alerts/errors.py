"""Error rate: share of user requests answered 5xx (the runbook's "Error Rate: > 1 %
warning, > 5 % critical").

Window: the 5-minute SLI (slo.rules.yml) with `for: 5m`, so an alert means ten minutes
of sustained errors. Shorter windows turn a single restart into a page; longer ones let
a real outage run for a quarter of an hour unnoticed, and the error-budget burn alerts
already cover the slow, long-window failures.

Minimum traffic: 1/3 request/s, i.e. 100 requests in 5 minutes. Below that a single
failed request is already more than 1 %, which is noise, not a rate.
"""

from __future__ import annotations

from typing import Any

from signals.catalogue import ERROR_RATIO, ERROR_RATIO_MIN_RATE
from signals.target import Target

from .kit import percent, signal_alerts


def groups(target: Target) -> list[dict[str, Any]]:
    """The error-rate group: one alert per severity."""
    rules = signal_alerts(
        target,
        ERROR_RATIO,
        wait="5m",
        guard=f"job:http_server_requests:rate5m >= {ERROR_RATIO_MIN_RATE}",
        summary=lambda _, line: f"AI-DIY answers more than {percent(line)} of requests with a server error",
        description=lambda severity, line: (
            "{{ $value | humanizePercentage }} of requests to {{ $labels.job }} were answered 5xx "
            f"over the last 5 minutes ({severity} above {percent(line)})."
        ),
    )
    return [{"name": "ai-diy-errors", "rules": rules}]
