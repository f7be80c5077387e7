"""Is the service there and well? (the runbook's "Application down" critical alert and
its daily health check: /health and "Security systems active")."""

from __future__ import annotations

from typing import Any

from signals.catalogue import LOG_LINES_DROPPED
from signals.target import Target

from .kit import alert, signal_alerts


def groups(target: Target) -> list[dict[str, Any]]:
    """The availability group."""
    sel = target.sel
    return [
        {
            "name": "ai-diy-availability",
            "rules": [
                # for 1m: four failed scrapes at 15 s. One failed scrape is a network blip;
                # a minute of silence is an outage worth waking someone for.
                alert(
                    target,
                    "AiDiyServiceDown",
                    f"up{{{sel}}} == 0",
                    wait="1m",
                    severity="critical",
                    summary="AI-DIY is down",
                    description=(
                        "Prometheus cannot scrape {{ $labels.instance }} (up = {{ $value }}); the API is not answering."
                    ),
                ),
                # No target at all: a broken Prometheus configuration or service discovery
                # would otherwise silence AiDiyServiceDown too. for 5m: discovery refreshes
                # can briefly drop a target.
                alert(
                    target,
                    "AiDiyTargetMissing",
                    f"absent(up{{{sel}}})",
                    wait="5m",
                    severity="critical",
                    summary="Prometheus has no AI-DIY target to scrape",
                    description=(
                        f"There is no series up{{{sel}}} (absent = {{{{ $value }}}}): nothing watches the service, "
                        "so no other AI-DIY alert can fire."
                    ),
                ),
                # The target answers but the service's own metrics are gone: /metrics is served
                # by something else (wrong port) or the instrumentation failed. for 5m as above.
                alert(
                    target,
                    "AiDiyMetricsMissing",
                    f"up{{{sel}}} == 1\nunless on (job, instance) ai_diy_build_info{{{sel}}}\n",
                    wait="5m",
                    severity="warning",
                    summary="AI-DIY target is scraped but exposes no AI-DIY metrics",
                    description=(
                        "{{ $labels.instance }} answers the scrape but ai_diy_build_info is missing; "
                        "every other alert on this instance is blind."
                    ),
                ),
                # for 2m: a check can fail for one evaluation while the data directory is
                # being replaced by an import; two minutes of failure is a broken service.
                alert(
                    target,
                    "AiDiyHealthCheckFailing",
                    f"ai_diy_health_status{{{sel}}} == 0",
                    wait="2m",
                    severity="critical",
                    summary="AI-DIY health check {{ $labels.check }} is failing",
                    description=(
                        "The {{ $labels.check }} check of {{ $labels.instance }} reports {{ $value }} "
                        "(1 = passing); GET /health names it as failing (503) or degraded (200)."
                    ),
                ),
                # Security degraded (headers, rate limiter or request inspection not working)
                # leaves the API open to abuse: critical, like the runbook's daily check.
                # for 2m: a rate-limit storage reconnect can flip the gauge for a moment.
                alert(
                    target,
                    "AiDiySecurityInactive",
                    f"ai_diy_security_active{{{sel}}} == 0",
                    wait="2m",
                    severity="critical",
                    summary="AI-DIY security systems are not active",
                    description=(
                        "{{ $labels.instance }} reports ai_diy_security_active = {{ $value }}; at least one "
                        "security component (headers, rate limiting, request inspection) is degraded."
                    ),
                ),
                # Dropped log lines leave holes in the security and audit trail even while every
                # request succeeds (a full writer queue drops silently; a failing sink also fails
                # the log_sink health check). Any drop counts: the 10-minute increase keeps a
                # single burst visible for ten minutes, and for 5m lets a one-off hiccup of a few
                # lines that stops at once still be seen (it fires five minutes later, for five
                # minutes). The counter is exposed at 0 for every reason from start-up, so even
                # the first burst is an increase.
                *signal_alerts(
                    target,
                    LOG_LINES_DROPPED,
                    wait="5m",
                    summary=lambda _, __: "AI-DIY is dropping log lines",
                    description=lambda _, __: (
                        "{{ $labels.instance }} dropped {{ $value | humanize }} log lines ({{ $labels.reason }}) "
                        "in the last 10 minutes; the JSONL logs (security and audit included) have gaps."
                    ),
                ),
            ],
        }
    ]
