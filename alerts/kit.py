"""Building blocks of the rule files: alert and recording rules for a target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grafana.render import alert_panel
from signals.catalogue import SERVICE, Signal
from signals.target import Target


def record(name: str, expr: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A recording rule."""
    rule: dict[str, Any] = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


def alert(
    target: Target, name: str, expr: str, *, wait: str, severity: str, summary: str, description: str
) -> dict[str, Any]:
    """An alerting rule with the labels and annotations every alert carries.

    The description ends with the command that prints the runbook section offline, so
    whoever is paged can read it when the runbook link cannot be reached; dashboard_url
    opens the panel that shows the alert's signal (the one linking its runbook).
    """
    return {
        "alert": name,
        "expr": expr,
        "for": wait,
        "labels": {"severity": severity, "service": SERVICE},
        "annotations": {
            "summary": summary,
            "description": f"{description} Runbook offline: ai-diy runbook {name}",
            "runbook_url": target.runbook_url(name),
            "dashboard_url": target.dashboard_url(*alert_panel(name)),
        },
    }


Text = Callable[[str, float], str]
"""(severity, threshold) -> a summary or description."""


def signal_alerts(
    target: Target, signal: Signal, *, wait: str, summary: Text, description: Text, guard: str = ""
) -> list[dict[str, Any]]:
    """One alert per threshold of the signal, critical first: `<signal> > <line>`, worded for that line."""
    return [
        alert(
            target,
            signal.alert,
            above(signal, target, severity, guard=guard),
            wait=wait,
            severity=severity,
            summary=summary(severity, line),
            description=description(severity, line),
        )
        for severity, line in signal.thresholds.items()
    ]


def above(signal: Signal, target: Target, severity: str, *, guard: str = "") -> str:
    """`<signal> > <line>` for one severity, then the optional guard on its own line."""
    expr = f"{signal.expr(target.sel)} > {number(signal.thresholds[severity])}"
    return f"{expr}\nand on (job) {guard}\n" if guard else expr


def number(value: float) -> str:
    """A threshold as PromQL writes it: 0.05, 5, 14.4."""
    return format(value, "g")


def percent(value: float) -> str:
    """0.05 -> `5 %`."""
    return f"{value * 100:g} %"
