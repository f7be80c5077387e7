"""Panels that draw an alert's lines plot the alert's own expression with the alert's own numbers.

Compared against the generated rules Prometheus loads (alerts/*.rules.yml), not against
the Python they come from, so a drift on either side shows.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from signals.catalogue import BURN_ALERT, OBJECTIVE
from tests.support import alert_rules as r

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "grafana" / "dashboards"
INSTANCE_FILTER = ', instance=~"$instance"'
# Panels with threshold steps that are not an alert's: (dashboard uid, title) -> why.
NOT_ALERT_LINES = {
    ("ai-diy-overview", "Health checks passing"): "state colours: 1 healthy, 0 failing",
    ("ai-diy-security", "Security components"): "state colours: 1 active, 0 degraded",
    ("ai-diy-security", "Security active by instance"): "state colours: 1 active, 0 degraded",
    (
        "ai-diy-security",
        "Rate-limiter storage errors",
    ): "any storage error shows red; the alert is on the security state",
    ("ai-diy-resources", "Uptime (min)"): "a restart in the last five minutes; no alert",
    ("ai-diy-resources", "Restarts (1h)"): "restarts; no alert",
    ("ai-diy-resources", "Open file descriptors (max)"): "file descriptors; no alert",
    ("ai-diy-slo", "Availability (30d)"): "the objective",
    ("ai-diy-slo", "Availability against objective"): "the objective",
    ("ai-diy-slo", "Error budget remaining (30d)"): "quarters of the budget left; no alert",
}
OBJECTIVE_PANELS = {("ai-diy-slo", "Availability (30d)"), ("ai-diy-slo", "Availability against objective")}
_COMPARISON = re.compile(r"^(?P<measure>.+) > (?P<line>-?[0-9.]+)$")
_BURN_FACTOR = re.compile(r"\(([0-9.]+) \* slo:error_budget:ratio\)")


def _boards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))]


def _lines(panel: dict[str, Any]) -> list[float]:
    steps = panel.get("fieldConfig", {}).get("defaults", {}).get("thresholds", {}).get("steps", [])
    return [step["value"] for step in steps if step["value"] is not None]


def _linked_alerts(panel: dict[str, Any]) -> dict[str, str]:
    """Alert name -> runbook URL of the panel's `Runbook: <alert>` links."""
    return {
        link["title"].removeprefix("Runbook: "): link["url"]
        for link in panel.get("links", [])
        if link["title"].startswith("Runbook: ")
    }


def _alert_rules() -> dict[str, list[r.Rule]]:
    by_name: dict[str, list[r.Rule]] = {}
    for rule in r.alerts():
        by_name.setdefault(rule.alert_name, []).append(rule)
    return by_name


def _is_state(rules: list[r.Rule]) -> bool:
    """An alert on a state (`== 0`, `absent`, `unless`), not on a quantity above a line."""
    return not any(_COMPARISON.match(rule.expr.strip().splitlines()[0]) for rule in rules)


def _state_problems(where: str, name: str, rules: list[r.Rule], expressions: list[str]) -> list[str]:
    """A state alert's panel plots every series the alert reads."""
    metrics = {metric for rule in rules for metric in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", rule.expr)}
    return [
        f"{where}: no query plots {metric}, which {name} reads"
        for metric in sorted(metrics)
        if not any(f"{metric}{{" in expr for expr in expressions)
    ]


def _measures(rules: list[r.Rule]) -> tuple[set[str], set[float]]:
    """What the alert compares (first line, left of `>`) and the lines it compares with."""
    measures, lines = set(), set()
    for rule in rules:
        match = _COMPARISON.match(rule.expr.strip().splitlines()[0])
        assert match, f"{rule.alert}: no `<expr> > <line>` on its first line"
        measures.add(match["measure"])
        lines.add(float(match["line"]))
    return measures, lines


def _burn_problems(where: str, panel: dict[str, Any], rules: list[r.Rule]) -> list[str]:
    factors = {float(f) for rule in rules for f in _BURN_FACTOR.findall(rule.expr)}
    windows = {w for rule in rules for w in re.findall(r"slo:sli_error:ratio_rate(\w+)", rule.expr)}
    problems = []
    plotted = set()
    for target in panel["targets"]:
        match = re.fullmatch(
            r'slo:sli_error:ratio_rate(\w+)\{job="ai-diy", slo="availability"\} / on \(job, slo\) group_left \(\) '
            r'slo:error_budget:ratio\{job="ai-diy", slo="availability"\}',
            target["expr"],
        )
        if not match:
            problems.append(f"{where}: {target['expr']} is not an alerted error ratio over the budget")
            continue
        plotted.add(match[1])
    if not windows <= plotted:
        problems.append(f"{where}: windows {sorted(windows - plotted)} of the alert are not plotted")
    if sorted(_lines(panel)) != sorted(factors):
        problems.append(f"{where}: lines {_lines(panel)} are not the burn factors {sorted(factors)}")
    return problems


def alert_panel_problems(board: dict[str, Any]) -> list[str]:
    """Every way a board's alert panels disagree with the alert rules (empty when they agree)."""
    rules = _alert_rules()
    problems = []
    for panel in board["panels"]:
        where = f"{board['uid']} / {panel['title']}"
        linked = _linked_alerts(panel)
        if not linked:
            if len(_lines(panel)) > 0 and (board["uid"], panel["title"]) not in NOT_ALERT_LINES:
                problems.append(f"{where}: draws lines {_lines(panel)} but links no alert")
            continue
        for name, url in linked.items():
            if name not in rules:
                problems.append(f"{where}: links unknown alert {name}")
                continue
            if {url} != {rule.body["annotations"]["runbook_url"] for rule in rules[name]}:
                problems.append(f"{where}: runbook link {url} is not {name}'s runbook_url")
        if set(linked) == {BURN_ALERT}:
            problems.extend(_burn_problems(where, panel, rules[BURN_ALERT]))
            continue
        expressions = [target["expr"].replace(INSTANCE_FILTER, "") for target in panel["targets"]]
        expected_lines: set[float] = set()
        states = {name for name in linked.keys() & rules.keys() if _is_state(rules[name])}
        for name in sorted(states):
            problems.extend(_state_problems(where, name, rules[name], expressions))
        if states and states == linked.keys():
            continue  # colours of a state (NOT_ALERT_LINES), not an alert's lines
        for name in linked.keys() & rules.keys() - states:
            measures, lines = _measures(rules[name])
            expected_lines |= lines
            if not any(measure in expr for measure in measures for expr in expressions):
                problems.append(f"{where}: no query plots {name}'s expression {sorted(measures)}")
        if sorted(_lines(panel)) != sorted(expected_lines):
            problems.append(f"{where}: lines {_lines(panel)} are not the alerts' {sorted(expected_lines)}")
    return problems


@pytest.mark.parametrize("board", _boards(), ids=lambda b: b["uid"])
def test_alert_panels_plot_the_alert_expression_with_its_lines(board: dict[str, Any]) -> None:
    assert alert_panel_problems(board) == []


def test_alert_panels_show_every_alert_somewhere() -> None:
    linked = {name for board in _boards() for panel in board["panels"] for name in _linked_alerts(panel)}
    assert linked == set(_alert_rules())


def test_objective_panels_draw_the_definitions_objective() -> None:
    boards = {board["uid"]: board for board in _boards()}
    for uid, title in OBJECTIVE_PANELS:
        (panel,) = [p for p in boards[uid]["panels"] if p["title"] == title]
        assert _lines(panel) == [OBJECTIVE]


def _board(uid: str) -> dict[str, Any]:
    return copy.deepcopy(next(board for board in _boards() if board["uid"] == uid))


def _find(board: dict[str, Any], title: str) -> dict[str, Any]:
    return next(panel for panel in board["panels"] if panel["title"] == title)


def test_alert_panel_check_detects_a_moved_line() -> None:
    board = _board("ai-diy-overview")
    steps = _find(board, "Error ratio")["fieldConfig"]["defaults"]["thresholds"]["steps"]
    steps[-1]["value"] = 0.06
    assert alert_panel_problems(board) == [
        "ai-diy-overview / Error ratio: lines [0.01, 0.06] are not the alerts' [0.01, 0.05]"
    ]


def test_alert_panel_check_detects_a_different_window() -> None:
    board = _board("ai-diy-security")
    target = _find(board, "Path traversal attempts (15m)")["targets"][0]
    target["expr"] = target["expr"].replace("[15m]", "[1h]")
    (problem,) = alert_panel_problems(board)
    assert problem.startswith(
        "ai-diy-security / Path traversal attempts (15m): no query plots AiDiyPathTraversalAttempt's expression"
    )


def test_alert_panel_check_detects_unlinked_lines_and_missing_burn_windows() -> None:
    board = _board("ai-diy-slo")
    burn = _find(board, "Burn rate by window")
    burn["targets"] = [t for t in burn["targets"] if t["legendFormat"] != "6h"]
    board["panels"].append(
        {
            "title": "Stray",
            "targets": [],
            "fieldConfig": {"defaults": {"thresholds": {"steps": [{"value": None}, {"value": 3}]}}},
        }
    )
    assert alert_panel_problems(board) == [
        "ai-diy-slo / Burn rate by window: windows ['6h'] of the alert are not plotted",
        "ai-diy-slo / Stray: draws lines [3] but links no alert",
    ]


def test_alert_panel_check_detects_a_state_alert_series_not_plotted() -> None:
    board = _board("ai-diy-overview")
    scrape = _find(board, "Scrape targets")
    scrape["targets"] = [t for t in scrape["targets"] if "ai_diy_build_info" not in t["expr"]]
    assert alert_panel_problems(board) == [
        "ai-diy-overview / Scrape targets: no query plots ai_diy_build_info, which AiDiyMetricsMissing reads"
    ]
