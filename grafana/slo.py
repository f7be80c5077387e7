"""SLO: availability against the objective, error budget left over 30 days, multiwindow burn rates.

Burn rates come from the `slo:*` recording rules in alerts/ (docs/metrics.md), the same
series the burn-rate alerts use, and the objective, windows and burn factors come from
signals/, so the dashboard and the pages never disagree. SLO series are per
job, not per instance: the `instance` variable does not apply here.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b

from signals.catalogue import (
    BURN_ALERT,
    BURN_FACTORS,
    BURN_RATES,
    BURN_WINDOWS,
    OBJECTIVE,
    OBJECTIVE_WINDOW,
    slo_selector,
)

from .kit import JOB_SEL, dashboard, query, runbook_links, stat, threshold_steps, timeseries

UID = "ai-diy-slo"
_SLO = slo_selector(JOB_SEL)
_BUDGET = f"slo:error_budget:ratio{{{_SLO}}}"
_OBJECTIVE_TEXT = f"{OBJECTIVE * 100:g} %"
# Burn factors from slowest to fastest; the fastest pages.
_BURN_COLOURS = ("yellow", "orange", "red", "purple")


def _burn_pairs() -> str:
    return "; ".join(
        f"{severity}: {' or '.join(f'{r.factor:g}x ({r.short} and {r.long})' for r in rates)}"
        for severity, rates in BURN_RATES.items()
    )


def build() -> dash_b.Dashboard:
    """The SLO dashboard."""
    board = dashboard(
        UID,
        "AI-DIY / SLO",
        f"Availability SLO ({_OBJECTIVE_TEXT} of user requests not answered 5xx, 30 days) and its burn rates.",
    )
    board = board.time("now-7d", "now")
    board = (
        board.with_panel(
            stat(
                "Availability (30d)",
                query(f"1 - slo:sli_error:ratio_rate{OBJECTIVE_WINDOW}{{{_SLO}}}"),
                unit="percentunit",
                description=(
                    "Share of user requests over the last 30 days not answered with a 5xx (recording rule "
                    f"slo:sli_error:ratio_rate{OBJECTIVE_WINDOW}, the mean of the 5-minute ratios); the objective is "
                    f"{_OBJECTIVE_TEXT}."
                ),
                thresholds=threshold_steps((None, "red"), (OBJECTIVE, "green")),
                width=8,
            ).decimals(3)
        )
        .with_panel(
            stat(
                "Error budget remaining (30d)",
                query(f"slo:error_budget_remaining:ratio{{{_SLO}}}"),
                unit="percentunit",
                description=(
                    "Part of the 30-day error budget not yet spent (recording rule slo:error_budget_remaining:ratio); "
                    "negative means the SLO is missed."
                ),
                thresholds=threshold_steps((None, "red"), (0.25, "orange"), (0.5, "green")),
                width=8,
            )
        )
        .with_panel(
            stat(
                "Objective",
                query(f"slo:objective:ratio{{{_SLO}}}"),
                unit="percentunit",
                description="The availability objective (recording rule slo:objective:ratio).",
                thresholds=threshold_steps((None, "blue")),
                width=8,
            ).decimals(1)
        )
    )
    board = board.with_panel(
        timeseries(
            "Availability against objective",
            [
                query(f"1 - slo:sli_error:ratio_rate1h{{{_SLO}}}", "availability (1h)", ref="A"),
                query(f"slo:objective:ratio{{{_SLO}}}", "objective", ref="B"),
            ],
            unit="percentunit",
            description=f"Availability over a sliding hour against the {_OBJECTIVE_TEXT} objective.",
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
                f"The burn-rate alert fires when both windows of a pair are above its factor: {_burn_pairs()}."
            ),
            thresholds=threshold_steps((None, "green"), *zip(BURN_FACTORS, _BURN_COLOURS, strict=True)),
            width=24,
        ).links(runbook_links(BURN_ALERT))
    )
    return board
