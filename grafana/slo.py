"""SLO: availability against 99.9 %, error budget left over 30 days, multiwindow burn rates.

Burn rates come from the `slo:*` recording rules in alerts/ (docs/metrics.md), the same
series the burn-rate alerts use, so the dashboard and the pages never disagree. SLO
series are per job, not per instance: the `instance` variable does not apply here.
"""
from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b

from .kit import DURATION, JOB_SEL, dashboard, query, stat, threshold_steps, timeseries

UID = "ai-diy-slo"
OBJECTIVE = 0.999
BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
_SLO = f'{JOB_SEL}, slo="availability"'
# Probe traffic (/health, /metrics) is left out, as in the recording rules.
_USERS = f'{JOB_SEL}, http_route!~"/health|/metrics"'
_ALL = f"{DURATION}_count{{{_USERS}}}"
_5XX = f'{DURATION}_count{{{_USERS}, http_response_status_code=~"5.."}}'
# `or ... * 0` keeps the `job` label when there has been no 5xx at all (the ratio reads 0, not "no data").
_ERRORS_30D = f"(sum by (job) (increase({_5XX}[30d])) or sum by (job) (increase({_ALL}[30d])) * 0)"
_ERROR_RATIO_30D = f"{_ERRORS_30D} / sum by (job) (increase({_ALL}[30d]))"
_BUDGET = f"slo:error_budget:ratio{{{_SLO}}}"


def build() -> dash_b.Dashboard:
    """The SLO dashboard."""
    board = dashboard(UID, "AI-DIY / SLO", "Availability SLO (99.9 % of requests not answered 5xx, 30 days) and its burn rates.")
    board = board.time("now-7d", "now")
    board = board.with_panel(
        stat(
            "Availability (30d)",
            query(f"1 - ({_ERROR_RATIO_30D})"),
            unit="percentunit",
            description="Share of requests over the last 30 days not answered with a 5xx; the objective is 99.9 %.",
            thresholds=threshold_steps((None, "red"), (OBJECTIVE, "green")),
            width=8,
        ).decimals(3)
    ).with_panel(
        stat(
            "Error budget remaining (30d)",
            query(f"1 - ({_ERROR_RATIO_30D}) / on (job) group_left () {_BUDGET}"),
            unit="percentunit",
            description="Part of the 30-day error budget (0.1 % of requests) not yet spent; negative means the SLO is missed.",
            thresholds=threshold_steps((None, "red"), (0.25, "orange"), (0.5, "green")),
            width=8,
        )
    ).with_panel(
        stat(
            "Objective",
            query(f"slo:objective:ratio{{{_SLO}}}"),
            unit="percentunit",
            description="The availability objective (recording rule slo:objective:ratio).",
            thresholds=threshold_steps((None, "blue")),
            width=8,
        ).decimals(1)
    )
    board = board.with_panel(
        timeseries(
            "Availability against objective",
            [
                query(f"1 - slo:sli_error:ratio_rate1h{{{_SLO}}}", "availability (1h)", ref="A"),
                query(f"slo:objective:ratio{{{_SLO}}}", "objective", ref="B"),
            ],
            unit="percentunit",
            description="Availability over a sliding hour against the 99.9 % objective.",
            thresholds=threshold_steps((None, "red"), (OBJECTIVE, "green")),
            width=24,
            minimum=None,
        )
    )
    board = board.with_panel(
        timeseries(
            "Burn rate by window",
            [
                query(
                    f"slo:sli_error:ratio_rate{window}{{{_SLO}}} / on (job, slo) group_left () {_BUDGET}",
                    window,
                    ref=chr(ord("A") + i),
                )
                for i, window in enumerate(BURN_WINDOWS)
            ],
            unit="x",
            description=(
                "Error ratio over each window divided by the error budget (1 = spending exactly the budget). "
                "Pages at 14.4x (5m and 1h) or 6x (30m and 6h); tickets at 3x (2h and 1d) or 1x (6h and 3d)."
            ),
            thresholds=threshold_steps((None, "green"), (1, "yellow"), (3, "orange"), (6, "red"), (14.4, "purple")),
            width=24,
        )
    )
    return board
