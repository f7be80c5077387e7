"""Security: rate limiting, security events, traversal attempts, input validation, limiter health.

Every panel that draws an alert's line plots that alert's expression (same window, same
events left out) from signals/, restricted to the selected instances.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b

from signals.catalogue import AUTH_FAILURES, INPUT_VALIDATION, PATH_TRAVERSAL, RATE_LIMIT_REFUSALS, SECURITY_EVENTS

from .kit import SEL, alert_lines, dashboard, query, runbook_links, stat, threshold_steps, timeseries, value_text

UID = "ai-diy-security"

_EVENTS = f"ai_diy_security_events_total{{{SEL}}}"


def build() -> dash_b.Dashboard:
    """The Security dashboard."""
    board = dashboard(
        UID, "AI-DIY / Security", "Rate-limit refusals, security events and the state of the security components."
    )
    board = (
        board.with_panel(
            stat(
                "Security components",
                query(f"min(ai_diy_security_active{{{SEL}}})"),
                unit="none",
                description="`active` when every security component works on every instance; `degraded` otherwise.",
                mappings=[value_text({"1": ("active", "green"), "0": ("degraded", "red")})],
                thresholds=threshold_steps((None, "red"), (1, "green")),
            ).links(runbook_links("AiDiySecurityInactive"))
        )
        .with_panel(
            stat(
                "Security events (1h)",
                query(SECURITY_EVENTS.expr(SEL)),
                unit="short",
                description=(
                    "Security events in the last hour, rate-limit refusals aside (they have their own panel and alert)."
                ),
                thresholds=alert_lines(SECURITY_EVENTS),
            ).links(runbook_links(SECURITY_EVENTS.alert))
        )
        .with_panel(
            stat(
                "Rate-limit refusals (1h)",
                query(RATE_LIMIT_REFUSALS.expr(SEL)),
                unit="short",
                description="Requests refused with 429 in the last hour.",
                thresholds=alert_lines(RATE_LIMIT_REFUSALS),
            ).links(runbook_links(RATE_LIMIT_REFUSALS.alert))
        )
        .with_panel(
            stat(
                "Auth failures (15m)",
                query(AUTH_FAILURES.expr(SEL)),
                unit="short",
                description="Failed admin authentications (401) in the last 15 minutes.",
                thresholds=alert_lines(AUTH_FAILURES),
            ).links(runbook_links(AUTH_FAILURES.alert))
        )
    )
    board = board.with_panel(
        timeseries(
            "Rate-limit violations per hour",
            [
                query(RATE_LIMIT_REFUSALS.expr(SEL), "all routes", ref="A"),
                query(
                    f"sum by (http_route) (increase(ai_diy_rate_limit_violations_total{{{SEL}}}[1h]))",
                    "{{http_route}}",
                    ref="B",
                ),
            ],
            unit="short",
            description="429 refusals over a sliding hour, with the rate-limit alert's warning and critical lines.",
            thresholds=alert_lines(RATE_LIMIT_REFUSALS),
        ).links(runbook_links(RATE_LIMIT_REFUSALS.alert))
    ).with_panel(
        timeseries(
            "Security events by type",
            [query(f"sum by (event, severity) (increase({_EVENTS}[1h]))", "{{event}} ({{severity}})")],
            unit="short",
            description=(
                "Security events over a sliding hour, by event type and severity (logged as SECURITY_AUDIT lines)."
            ),
        )
    )
    board = board.with_panel(
        timeseries(
            "Path traversal attempts (15m)",
            [query(PATH_TRAVERSAL.expr(SEL), "attempts")],
            unit="short",
            description=(
                "Path traversal attempts over a sliding 15 minutes; any is alerted. The client IPs are in "
                "the logs (details.client_ip)."
            ),
            thresholds=alert_lines(PATH_TRAVERSAL),
        ).links(runbook_links(PATH_TRAVERSAL.alert))
    ).with_panel(
        timeseries(
            "Input validation failures",
            [
                query(INPUT_VALIDATION.expr(SEL), "all reasons", ref="A"),
                query(
                    f"sum by (reason) (increase(ai_diy_input_validation_failures_total{{{SEL}}}[1h]))",
                    "{{reason}}",
                    ref="B",
                ),
            ],
            unit="short",
            description=(
                "Requests rejected for bad input over a sliding hour, in all and by reason, with the alert's line."
            ),
            thresholds=alert_lines(INPUT_VALIDATION),
        ).links(runbook_links(INPUT_VALIDATION.alert))
    )
    board = board.with_panel(
        timeseries(
            "Rate-limiter storage errors",
            [query(f"sum(rate(ai_diy_rate_limiter_errors_total{{{SEL}}}[$__rate_interval]))", "errors/s")],
            unit="ops",
            description=(
                "Failures of the rate-limit storage (e.g. Redis unreachable); limits fail open or closed per settings."
            ),
            thresholds=threshold_steps((None, "green"), (0.001, "red")),
        )
    ).with_panel(
        timeseries(
            "Security active by instance",
            [query(f"ai_diy_security_active{{{SEL}}}", "{{instance}}")],
            unit="none",
            description="1 active, 0 degraded, per instance.",
            thresholds=threshold_steps((None, "red"), (1, "green")),
        )
    )
    return board
