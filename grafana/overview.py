"""Overview: the RED view (rate, errors, duration), in-flight requests, health and firing alerts.

The error ratio and latency panels plot the series the alerts fire on (per job, probes
left out) with the alerts' own lines; the percentiles panel follows the instance
selection and carries the exemplars.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b

from signals.catalogue import DURATION, ERROR_RATIO, MEAN_LATENCY, P95_LATENCY

from .kit import (
    JOB_SEL,
    SEL,
    USERS,
    alert_lines,
    dashboard,
    query,
    runbook_links,
    stat,
    table,
    threshold_steps,
    timeseries,
    value_text,
)

UID = "ai-diy-overview"

_ALL = f"{DURATION}_count{{{SEL}}}"


def _quantile(q: float) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({DURATION}_bucket{{{USERS}}}[$__rate_interval])))"


def build() -> dash_b.Dashboard:
    """The Overview dashboard."""
    board = dashboard(
        UID, "AI-DIY / Overview", "Request rate, error ratio, latency and in-flight requests of the AI-DIY API."
    )
    board = board.with_panel(
        table(
            "Firing alerts",
            query(f'ALERTS{{{JOB_SEL}, alertstate="firing"}}', instant=True),
            description="Alerts of the service firing right now (Prometheus ALERTS series); empty when all is well.",
            height=5,
        )
    )
    board = (
        board.with_panel(
            stat(
                "Request rate",
                query(f"sum(rate({_ALL}[$__rate_interval]))"),
                unit="reqps",
                description="Requests per second over all routes, probes included.",
                thresholds=threshold_steps((None, "blue")),
                width=4,
            )
        )
        .with_panel(
            stat(
                "Error ratio (5xx)",
                query(ERROR_RATIO.expr(JOB_SEL)),
                unit="percentunit",
                description=(
                    "Share of user requests (probes left out) answered 5xx over 5 minutes: the series the "
                    "error-rate alert fires on."
                ),
                thresholds=alert_lines(ERROR_RATIO),
                width=5,
            ).links(runbook_links(ERROR_RATIO.alert))
        )
        .with_panel(
            stat(
                "Average latency",
                query(MEAN_LATENCY.expr(JOB_SEL)),
                unit="s",
                description=(
                    "Average duration of user requests over 5 minutes: the series the response-time alert fires on."
                ),
                thresholds=alert_lines(MEAN_LATENCY),
                width=5,
            ).links(runbook_links(MEAN_LATENCY.alert))
        )
        .with_panel(
            stat(
                "p95 latency",
                query(P95_LATENCY.expr(JOB_SEL)),
                unit="s",
                description="95th percentile duration of user requests over 5 minutes, against the latency objective.",
                thresholds=alert_lines(P95_LATENCY),
                width=5,
            ).links(runbook_links(P95_LATENCY.alert))
        )
        .with_panel(
            stat(
                "Health checks passing",
                query(f"min(ai_diy_health_status{{{SEL}}})"),
                unit="none",
                description=(
                    "1 when every health check (config, data store, security, log sink) passes on every instance."
                ),
                mappings=[value_text({"1": ("healthy", "green"), "0": ("failing", "red")})],
                thresholds=threshold_steps((None, "red"), (1, "green")),
                width=5,
            ).links(runbook_links("AiDiyHealthCheckFailing"))
        )
    )
    board = board.with_panel(
        timeseries(
            "Request rate by route",
            [query(f"sum by (http_route) (rate({_ALL}[$__rate_interval]))", "{{http_route}}")],
            unit="reqps",
            description="Requests per second by route template; unmatched paths share `_unmatched`.",
        )
    ).with_panel(
        timeseries(
            "Error ratio",
            [query(ERROR_RATIO.expr(JOB_SEL), "5xx (5m)")],
            unit="percentunit",
            description=(
                "Share of user requests answered 5xx over 5 minutes, with the error-rate alert's warning and "
                "critical lines."
            ),
            thresholds=alert_lines(ERROR_RATIO),
        ).links(runbook_links(ERROR_RATIO.alert))
    )
    board = board.with_panel(
        timeseries(
            "Latency as alerted",
            [
                query(MEAN_LATENCY.expr(JOB_SEL), "average (5m)", ref="A"),
                query(P95_LATENCY.expr(JOB_SEL), "p95 (5m)", ref="B"),
            ],
            unit="s",
            description=(
                "Average and 95th percentile of user requests over 5 minutes, the series the latency alerts fire on, "
                "with their lines: the p95 objective, and the average's warning and critical thresholds."
            ),
            thresholds=alert_lines(MEAN_LATENCY, P95_LATENCY),
        ).links(runbook_links(MEAN_LATENCY.alert, P95_LATENCY.alert))
    ).with_panel(
        timeseries(
            "Latency percentiles",
            [
                query(_quantile(0.5), "p50", ref="A", exemplar=True),
                query(_quantile(0.95), "p95", ref="B", exemplar=True),
                query(_quantile(0.99), "p99", ref="C", exemplar=True),
            ],
            unit="s",
            description=(
                "Percentiles of user requests to the selected instances. "
                "Exemplar dots link to the request's trace in Jaeger."
            ),
        )
    )
    board = board.with_panel(
        timeseries(
            "In-flight requests",
            [query(f"sum by (http_request_method) (http_server_active_requests{{{SEL}}})", "{{http_request_method}}")],
            unit="short",
            description="Requests being served right now, by method.",
        )
    ).with_panel(
        timeseries(
            "Status codes by route",
            [
                query(
                    f"sum by (http_route, http_response_status_code) (rate({_ALL}[$__rate_interval]))",
                    "{{http_route}} {{http_response_status_code}}",
                )
            ],
            unit="reqps",
            description="Responses per second by route template and status code (4xx client errors included).",
        )
    )
    board = board.with_panel(
        timeseries(
            "Scrape targets",
            [
                query(f"up{{{SEL}}}", "{{instance}} up", ref="A"),
                query(
                    f"count by (instance) (ai_diy_build_info{{{SEL}}})", "{{instance}} exposes ai_diy metrics", ref="B"
                ),
            ],
            unit="none",
            description=(
                "Each instance Prometheus scrapes: up (1 answered, 0 did not) and whether its /metrics carries the "
                "service's own metrics. No line at all means Prometheus has no target for the job."
            ),
            width=24,
        ).links(runbook_links("AiDiyServiceDown", "AiDiyTargetMissing", "AiDiyMetricsMissing"))
    )
    return board
