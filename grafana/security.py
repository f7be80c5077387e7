"""Security: rate limiting, security events, traversal attempts, input validation, limiter health."""
from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b

from .kit import SEL, dashboard, query, stat, threshold_steps, timeseries, value_text

UID = "ai-diy-security"

_EVENTS = f"ai_diy_security_events_total{{{SEL}}}"


def build() -> dash_b.Dashboard:
    """The Security dashboard."""
    board = dashboard(UID, "AI-DIY / Security", "Rate-limit refusals, security events and the state of the security components.")
    board = board.with_panel(
        stat(
            "Security components",
            query(f"min(ai_diy_security_active{{{SEL}}})"),
            unit="none",
            description="`active` when every security component works on every instance; `degraded` otherwise.",
            mappings=[value_text({"1": ("active", "green"), "0": ("degraded", "red")})],
            thresholds=threshold_steps((None, "red"), (1, "green")),
        )
    ).with_panel(
        stat(
            "Security events (1h)",
            query(f"sum(increase({_EVENTS}[1h]))"),
            unit="short",
            description="Security events in the last hour; the runbook calls more than 10 unusual.",
            thresholds=threshold_steps((None, "green"), (10, "orange"), (50, "red")),
        )
    ).with_panel(
        stat(
            "Rate-limit refusals (1h)",
            query(f"sum(increase(ai_diy_rate_limit_violations_total{{{SEL}}}[1h]))"),
            unit="short",
            description="Requests refused with 429 in the last hour.",
            thresholds=threshold_steps((None, "green"), (10, "orange"), (50, "red")),
        )
    ).with_panel(
        stat(
            "Auth failures (1h)",
            query(f"sum(increase(ai_diy_auth_failures_total{{{SEL}}}[1h]))"),
            unit="short",
            description="Failed admin authentications (401) in the last hour.",
            thresholds=threshold_steps((None, "green"), (1, "orange"), (10, "red")),
        )
    )
    board = board.with_panel(
        timeseries(
            "Rate-limit violations per hour",
            [
                query(f"sum(increase(ai_diy_rate_limit_violations_total{{{SEL}}}[1h]))", "all routes", ref="A"),
                query(
                    f"sum by (http_route) (increase(ai_diy_rate_limit_violations_total{{{SEL}}}[1h]))",
                    "{{http_route}}",
                    ref="B",
                ),
            ],
            unit="short",
            description="429 refusals over a sliding hour; lines at 10/h (warning) and 50/h (critical).",
            thresholds=threshold_steps((None, "green"), (10, "orange"), (50, "red")),
        )
    ).with_panel(
        timeseries(
            "Security events by type",
            [query(f"sum by (event, severity) (increase({_EVENTS}[1h]))", "{{event}} ({{severity}})")],
            unit="short",
            description="Security events over a sliding hour, by event type and severity (logged as SECURITY_AUDIT lines).",
            thresholds=threshold_steps((None, "green"), (10, "orange")),
        )
    )
    board = board.with_panel(
        timeseries(
            "Path traversal attempts",
            [query(f'sum(increase(ai_diy_security_events_total{{{SEL}, event="path_traversal_attempt"}}[1h]))', "attempts")],
            unit="short",
            description="Path traversal attempts over a sliding hour; the client IPs are in the logs (details.client_ip).",
            thresholds=threshold_steps((None, "green"), (1, "orange")),
        )
    ).with_panel(
        timeseries(
            "Input validation failures",
            [query(f"sum by (reason) (increase(ai_diy_input_validation_failures_total{{{SEL}}}[1h]))", "{{reason}}")],
            unit="short",
            description="Requests rejected for bad input over a sliding hour, by reason.",
        )
    )
    board = board.with_panel(
        timeseries(
            "Rate-limiter storage errors",
            [query(f"sum(rate(ai_diy_rate_limiter_errors_total{{{SEL}}}[$__rate_interval]))", "errors/s")],
            unit="ops",
            description="Failures of the rate-limit storage (e.g. Redis unreachable); limits fail open or closed per settings.",
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
