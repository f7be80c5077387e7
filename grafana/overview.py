"""Overview: the RED view (rate, errors, duration), in-flight requests, health and firing alerts."""
from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b

from .kit import DURATION, JOB_SEL, SEL, dashboard, query, stat, table, threshold_steps, timeseries, value_text

UID = "ai-diy-overview"

_ALL = f"{DURATION}_count{{{SEL}}}"
_5XX = f'{DURATION}_count{{{SEL}, http_response_status_code=~"5.."}}'
_4XX = f'{DURATION}_count{{{SEL}, http_response_status_code=~"4.."}}'


def _ratio(numerator: str) -> str:
    # `or vector(0)`: a healthy service has no 5xx series at all, and the ratio must read 0, not "no data".
    return f"(sum(rate({numerator}[$__rate_interval])) or vector(0)) / sum(rate({_ALL}[$__rate_interval]))"


def _quantile(q: float) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({DURATION}_bucket{{{SEL}}}[$__rate_interval])))"


def build() -> dash_b.Dashboard:
    """The Overview dashboard."""
    board = dashboard(UID, "AI-DIY / Overview", "Request rate, error ratio, latency and in-flight requests of the AI-DIY API.")
    board = board.with_panel(
        table(
            "Firing alerts",
            query(f'ALERTS{{{JOB_SEL}, alertstate="firing"}}', instant=True),
            description="Alerts of the service firing right now (Prometheus ALERTS series); empty when all is well.",
            height=5,
        )
    )
    board = board.with_panel(
        stat(
            "Request rate",
            query(f"sum(rate({_ALL}[$__rate_interval]))"),
            unit="reqps",
            description="Requests per second over all routes.",
            thresholds=threshold_steps((None, "blue")),
        )
    ).with_panel(
        stat(
            "Error ratio (5xx)",
            query(_ratio(_5XX)),
            unit="percentunit",
            description="Share of responses with a 5xx status. The runbook warns above 1 % and pages above 5 %.",
            thresholds=threshold_steps((None, "green"), (0.01, "orange"), (0.05, "red")),
        )
    ).with_panel(
        stat(
            "p95 latency",
            query(_quantile(0.95)),
            unit="s",
            description="95th percentile of request duration. The runbook's average target is 1 s; 2 s warns.",
            thresholds=threshold_steps((None, "green"), (1, "orange"), (2, "red")),
        )
    ).with_panel(
        stat(
            "Health checks passing",
            query(f"min(ai_diy_health_status{{{SEL}}})"),
            unit="none",
            description="1 when every health check (config, data store, security, log sink) passes on every instance.",
            mappings=[value_text({"1": ("healthy", "green"), "0": ("failing", "red")})],
            thresholds=threshold_steps((None, "red"), (1, "green")),
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
            [
                query(_ratio(_5XX), "5xx", ref="A"),
                query(_ratio(_4XX), "4xx", ref="B"),
            ],
            unit="percentunit",
            description="Share of responses with 5xx (server) and 4xx (client) statuses; lines at 1 % and 5 %.",
            thresholds=threshold_steps((None, "green"), (0.01, "orange"), (0.05, "red")),
        )
    )
    board = board.with_panel(
        timeseries(
            "Latency",
            [
                query(_quantile(0.5), "p50", ref="A", exemplar=True),
                query(_quantile(0.95), "p95", ref="B", exemplar=True),
                query(_quantile(0.99), "p99", ref="C", exemplar=True),
                query(
                    f"sum(rate({DURATION}_sum{{{SEL}}}[$__rate_interval])) / sum(rate({_ALL}[$__rate_interval]))",
                    "average",
                    ref="D",
                ),
            ],
            unit="s",
            description=(
                "Request duration percentiles and average; lines at 1 s, 2 s and 5 s (histogram bucket bounds). "
                "Exemplar dots link to the request's trace in Jaeger."
            ),
            thresholds=threshold_steps((None, "green"), (1, "yellow"), (2, "orange"), (5, "red")),
            width=24,
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
            description="Responses per second by route template and status code.",
        )
    )
    return board
