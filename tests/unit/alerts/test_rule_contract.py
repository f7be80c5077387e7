"""The alert rules keep the project's contract: labels, annotations, runbook, metric names, tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from signals.catalogue import GRAFANA_BASE_URL
from tests.support import alert_rules as r

ALERTS = r.alerts()
DASHBOARDS = r.ROOT / "grafana" / "dashboards"
ALERT_IDS = [f"{rule.alert}-{rule.body['labels']['severity']}" for rule in ALERTS]


def test_rules_define_the_expected_concerns() -> None:
    names = {path.name for path in r.rule_files()}
    assert names == {f"{c}.rules.yml" for c in ("availability", "errors", "latency", "resources", "security", "slo")}


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_labels_have_a_known_severity(rule: r.Rule) -> None:
    labels = rule.body["labels"]
    assert labels["severity"] in {"warning", "critical"}
    assert labels["service"] == "ai-diy"


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_annotations_carry_summary_value_runbook_and_dashboard(rule: r.Rule) -> None:
    annotations = rule.body["annotations"]
    assert set(annotations) == {"summary", "description", "runbook_url", "dashboard_url"}
    assert annotations["summary"].strip()
    assert "$value" in annotations["description"] or "$labels" in annotations["description"]
    assert annotations["runbook_url"] == r.RUNBOOK_URL_PREFIX + rule.alert_name.lower()


def _dashboards() -> dict[str, dict[str, Any]]:
    return {board["uid"]: board for board in map(json.loads, map(Path.read_text, DASHBOARDS.glob("*.json")))}


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_dashboard_url_names_an_existing_dashboard_panel_showing_the_alert(rule: r.Rule) -> None:
    url = urlsplit(rule.body["annotations"]["dashboard_url"])
    assert f"{url.scheme}://{url.netloc}" == GRAFANA_BASE_URL
    uid = url.path.removeprefix("/d/")
    (panel_id,) = parse_qs(url.query, strict_parsing=True)["viewPanel"]
    boards = _dashboards()
    assert uid in boards, f"no dashboard with uid {uid}"
    panels = {str(panel["id"]): panel for panel in boards[uid]["panels"]}
    assert panel_id in panels, f"{uid} has no panel {panel_id}"
    links = {link["title"] for link in panels[panel_id].get("links", [])}
    assert f"Runbook: {rule.alert}" in links, f"{uid} panel {panel_id} does not show {rule.alert}"


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_runbook_url_resolves_to_a_runbook_heading(rule: r.Rule) -> None:
    anchors = {r.github_slug(heading) for heading in r.runbook_headings()}
    anchor = rule.body["annotations"]["runbook_url"].split("#", 1)[1]
    assert anchor in anchors, f"docs/runbook.md has no heading for #{anchor}"


def test_runbook_has_one_section_per_alert_and_no_orphans() -> None:
    headings = r.runbook_headings()
    assert len(headings) == len(set(headings))
    assert set(headings) == {rule.alert for rule in ALERTS}


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_has_a_for_duration_and_selects_the_ai_diy_job(rule: r.Rule) -> None:
    assert re.fullmatch(r"\d+[smh]", str(rule.body.get("for", ""))), "every alert waits before firing"
    assert 'job="ai-diy"' in rule.expr


def test_rule_metric_names_are_documented_or_recorded_here() -> None:
    doc = r.documented_metric_names()
    recorded = r.recorded_names()
    used = set().union(*(r.metric_names(rule.expr) for rule in r.rules()))
    # Histograms are documented by family name; rules select its _bucket/_sum/_count series.
    family = {name: re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    unknown = sorted(
        name
        for name in used
        if name not in recorded and name != "up" and f"`{name}`" not in doc and f"`{family[name]}`" not in doc
    )
    assert unknown == []


def test_recording_rules_are_listed_in_the_metrics_reference() -> None:
    doc = r.documented_metric_names()
    missing = []
    for name in sorted(r.recorded_names()):
        window = re.fullmatch(r"slo:sli_error:ratio(_rate\w+)", name)
        if f"`{name}`" not in doc and not (
            (window and f"`{window.group(1)}`" in doc) or (window and f"`ratio{window.group(1)}`" in doc)
        ):
            missing.append(name)
    assert missing == []


def test_slo_recording_rules_cover_every_window() -> None:
    recorded = r.recorded_names()
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d"):
        assert f"slo:sli_error:ratio_rate{window}" in recorded
    assert {"slo:objective:ratio", "slo:error_budget:ratio"} <= recorded


def test_metric_name_extraction_ignores_labels_functions_and_grouping() -> None:
    expr = 'sum by (job) (rate(a_total{job="ai-diy", x=~"5.."}[5m])) / on (job) group_left () b > 0.5 and c:d:e'
    assert r.metric_names(expr) == {"a_total", "b", "c:d:e"}


def test_github_slug_follows_github_rules() -> None:
    assert r.github_slug("AiDiyServiceDown") == "aidiyservicedown"
    assert r.github_slug("Rate limits: what & why") == "rate-limits-what--why"


def _alert_cases() -> dict[str, list[dict[str, Any]]]:
    cases: dict[str, list[dict[str, Any]]] = {}
    for path in r.test_files():
        for group in r.load(path)["tests"]:
            for case in group.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], []).append(case)
    return cases


@pytest.mark.parametrize("rule", ALERTS, ids=ALERT_IDS)
def test_alert_has_firing_silent_and_pending_promtool_cases(rule: r.Rule) -> None:
    cases = _alert_cases().get(rule.alert_name, [])
    severity = rule.body["labels"]["severity"]
    firing = [
        alert for case in cases for alert in case["exp_alerts"] if alert["exp_labels"].get("severity") == severity
    ]
    assert firing, f"no promtool case shows {rule.alert} ({severity}) firing"
    for alert in firing:
        assert alert["exp_labels"]["service"] == "ai-diy"
        assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url", "dashboard_url"}
        assert alert["exp_annotations"]["runbook_url"] == rule.body["annotations"]["runbook_url"]
        assert alert["exp_annotations"]["dashboard_url"] == rule.body["annotations"]["dashboard_url"]
    silent = [case for case in cases if case["exp_alerts"] == []]
    assert len(silent) >= 2, f"{rule.alert} needs a just-below case and a before-`for` case"


def test_every_rules_file_has_a_promtool_test_beside_it() -> None:
    tests = {path.name.removesuffix(".test.yml") for path in r.test_files()}
    assert tests == {path.name.removesuffix(".rules.yml") for path in r.rule_files()}
