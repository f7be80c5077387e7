"""Security signals (the runbook's "Rate Limit Violations: > 10/hour warning, > 50/hour
critical", "Security events detected: > 10", path traversal, input validation and
authentication failures).

Counts are `increase()` over the window the threshold is stated in, summed over
routes/reasons per job. `for: 1m` everywhere: increase() extrapolates to the window
edges, so right after a restart or a missed scrape a count can overshoot the line for
one evaluation; a minute confirms it. The windows themselves are sliding sums, so these
alerts do not flap on a single burst. Every counter is exposed at 0 from start-up (for
each known label value), so the first event is an increase, not a series' first sample.
"""

from __future__ import annotations

from typing import Any

from signals.catalogue import AUTH_FAILURES, INPUT_VALIDATION, PATH_TRAVERSAL, RATE_LIMIT_REFUSALS, SECURITY_EVENTS
from signals.target import Target

from .kit import number, signal_alerts


def groups(target: Target) -> list[dict[str, Any]]:
    """The security group."""
    rules = signal_alerts(
        target,
        RATE_LIMIT_REFUSALS,
        wait="1m",
        summary=lambda _, line: f"AI-DIY refused more than {number(line)} requests in an hour for rate limiting",
        description=lambda severity, line: (
            "{{ $labels.job }} answered {{ $value | humanize }} requests with 429 over the last "
            f"hour ({severity} above {number(line)}/hour)."
        ),
    )
    # The runbook counts SECURITY_AUDIT lines. Rate-limit refusals are left out here
    # because they have their own alert and thresholds above; counting them twice would
    # make every rate-limit warning also an "unusual frequency" one.
    rules += signal_alerts(
        target,
        SECURITY_EVENTS,
        wait="1m",
        summary=lambda _, __: "Unusual security event frequency on AI-DIY",
        description=lambda severity, line: (
            "{{ $labels.job }} recorded {{ $value | humanize }} security events (rate limiting aside) "
            f"over the last hour ({severity} above {number(line)}/hour)."
        ),
    )
    # Any attempt is worth a look: legitimate clients never send `..` paths. The
    # 15-minute window keeps the alert up long enough to be seen and groups a scan into
    # one notification.
    rules += signal_alerts(
        target,
        PATH_TRAVERSAL,
        wait="1m",
        summary=lambda _, __: "Path traversal attempted against AI-DIY",
        description=lambda _, __: (
            "{{ $labels.job }} rejected {{ $value | humanize }} path traversal attempts over the last 15 minutes."
        ),
    )
    # Validation failures include honest mistakes (a malformed JSON body, an oversized
    # upload), so the line sits above the security-event one: 30 per hour is one every
    # two minutes for a whole hour, a broken client or a fuzzer, not a typo.
    rules += signal_alerts(
        target,
        INPUT_VALIDATION,
        wait="1m",
        summary=lambda _, __: "Many requests to AI-DIY fail input validation",
        description=lambda severity, line: (
            "{{ $labels.job }} rejected {{ $value | humanize }} requests for bad input over the last "
            f"hour ({severity} above {number(line)}/hour)."
        ),
    )
    # Only operators hold the admin token (appdocs writes). A couple of typos are
    # normal; more than 5 failures in 15 minutes is someone guessing, more than 20 is a
    # brute-force run and worth a page.
    summaries = {
        "critical": "Brute-force authentication against AI-DIY",
        "warning": "Repeated failed authentications against AI-DIY",
    }
    rules += signal_alerts(
        target,
        AUTH_FAILURES,
        wait="1m",
        summary=lambda severity, _: summaries[severity],
        description=lambda severity, line: (
            "{{ $labels.job }} refused {{ $value | humanize }} admin authentications over the last "
            f"15 minutes ({severity} above {number(line)})."
        ),
    )
    return [{"name": "ai-diy-security", "rules": rules}]
