"""The generated dashboards: fixed uids, variables, thresholds, documented metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from grafana.kit import PROMETHEUS_UID
from signals.catalogue import ERROR_RATIO, MEAN_LATENCY, P95_LATENCY, user_traffic

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "grafana" / "dashboards"
USER_TRAFFIC = user_traffic('job="ai-diy", instance=~"$instance"')
EXPECTED_UIDS = {
    "overview": "ai-diy-overview",
    "security": "ai-diy-security",
    "resources": "ai-diy-resources",
    "slo": "ai-diy-slo",
}


def _load(name: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads((DASHBOARDS / f"{name}.json").read_text())
    return answer


def _panel(board: dict[str, Any], title: str) -> dict[str, Any]:
    matches = [p for p in board["panels"] if p["title"] == title]
    assert len(matches) == 1, f"{board['uid']}: expected one panel titled {title!r}"
    answer: dict[str, Any] = matches[0]
    return answer


def _threshold_values(panel: dict[str, Any]) -> list[float]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [s["value"] for s in steps if s["value"] is not None]


def _exprs(board: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


def test_dashboards_have_fixed_unique_uids() -> None:
    assert {name: _load(name)["uid"] for name in EXPECTED_UIDS} == EXPECTED_UIDS


@pytest.mark.parametrize("name", sorted(EXPECTED_UIDS))
def test_dashboard_has_datasource_and_instance_variables(name: str) -> None:
    board = _load(name)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["datasource"]["current"]["value"] == PROMETHEUS_UID
    instance = variables["instance"]
    assert instance["type"] == "query" and instance["includeAll"] and instance["allValue"] == ".*"
    assert board["refresh"] and board["time"]["from"].startswith("now-")


@pytest.mark.parametrize("name", sorted(EXPECTED_UIDS))
def test_dashboard_queries_use_datasource_variable(name: str) -> None:
    board = _load(name)
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize("name", ["overview", "security", "resources"])
def test_dashboard_queries_filter_on_job_and_instance(name: str) -> None:
    for expr in _exprs(_load(name)):
        if expr.startswith("ALERTS"):
            continue
        for metric, selector in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr):
            assert 'job="ai-diy"' in selector, expr
            # Series recorded per job (the SLO ratios, the latency the alerts read) have no instance.
            if not metric.startswith(("job:", "slo:")):
                assert 'instance=~"$instance"' in selector, expr


def _documented_windows() -> list[str]:
    """Burn-rate windows of the docs' recording-rules row (`ratio_rate5m` ... `_rate3d`)."""
    row = next(
        line for line in (ROOT / "docs" / "metrics.md").read_text().splitlines() if "slo:sli_error:ratio_rate" in line
    )
    return list(dict.fromkeys(re.findall(r"rate(\d+[mhd])`", row)))


def _documented_metrics() -> set[str]:
    text = (ROOT / "docs" / "metrics.md").read_text()
    names = set(re.findall(r"^\| `([a-z0-9_:]+)`", text, flags=re.MULTILINE))
    names |= set(re.findall(r"`([a-z0-9_:]+:[a-z0-9_]+)`", text))  # recording rules listed two to a row
    names |= {f"slo:sli_error:ratio_rate{w}" for w in _documented_windows()}
    return names


@pytest.mark.parametrize("name", sorted(EXPECTED_UIDS))
def test_dashboard_metrics_are_documented(name: str) -> None:
    documented = _documented_metrics() | {"ALERTS", "up"}  # Prometheus' own series
    for expr in _exprs(_load(name)):
        for metric in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", expr):
            base = re.sub(r"_(bucket|count|sum)$", "", metric)
            assert metric in documented or base in documented, f"{metric} (in {expr}) is not in docs/metrics.md"


def test_overview_latency_percentiles_carry_exemplars_of_user_requests() -> None:
    panel = _panel(_load("overview"), "Latency percentiles")
    targets = {t["legendFormat"]: t for t in panel["targets"]}
    assert set(targets) == {"p50", "p95", "p99"}
    for legend, quantile in (("p50", "0.5"), ("p95", "0.95"), ("p99", "0.99")):
        assert targets[legend]["exemplar"] is True
        assert targets[legend]["expr"].startswith(f"histogram_quantile({quantile},")
        assert USER_TRAFFIC in targets[legend]["expr"]


def test_overview_latency_as_alerted_draws_the_alert_lines() -> None:
    panel = _panel(_load("overview"), "Latency as alerted")
    assert _threshold_values(panel) == sorted([*MEAN_LATENCY.lines, *P95_LATENCY.lines]) == [1, 2, 5]
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"


def test_overview_error_ratio_reads_the_alerted_ratio_with_its_lines() -> None:
    panel = _panel(_load("overview"), "Error ratio")
    assert _threshold_values(panel) == ERROR_RATIO.lines == [0.01, 0.05]
    assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert [t["expr"] for t in panel["targets"]] == ['slo:sli_error:ratio_rate5m{job="ai-diy", slo="availability"}']


@pytest.mark.parametrize(
    "title",
    ["Error ratio (5xx)", "Average latency", "p95 latency", "Error ratio", "Latency as alerted", "Latency percentiles"],
)
def test_overview_error_and_latency_panels_leave_probe_traffic_out(title: str) -> None:
    recorded_from_user_traffic = ("slo:sli_error:", "job:http_server_request_duration_seconds:")
    for target in _panel(_load("overview"), title)["targets"]:
        expr = target["expr"]
        assert expr.startswith(recorded_from_user_traffic) or USER_TRAFFIC in expr, expr


def test_overview_has_red_panels_and_firing_alerts() -> None:
    titles = {p["title"] for p in _load("overview")["panels"]}
    assert {
        "Request rate by route",
        "Error ratio",
        "Latency as alerted",
        "Latency percentiles",
        "In-flight requests",
        "Status codes by route",
        "Firing alerts",
    } <= titles
    alerts = _panel(_load("overview"), "Firing alerts")
    assert alerts["targets"][0]["expr"] == 'ALERTS{job="ai-diy", alertstate="firing"}'


def test_security_rate_limit_panel_has_hourly_lines() -> None:
    panel = _panel(_load("security"), "Rate-limit violations per hour")
    assert _threshold_values(panel) == [10, 50]
    assert all("[1h]" in t["expr"] for t in panel["targets"])


def test_security_dashboard_covers_runbook_signals() -> None:
    exprs = " ".join(_exprs(_load("security")))
    for needle in (
        "ai_diy_security_events_total",
        'event="path_traversal_attempt"',
        "ai_diy_input_validation_failures_total",
        "ai_diy_rate_limiter_errors_total",
        "ai_diy_security_active",
        "ai_diy_auth_failures_total",
    ):
        assert needle in exprs


def test_resources_memory_panel_reads_the_alerted_ratio_with_lines() -> None:
    panel = _panel(_load("resources"), "Memory percent of limit")
    assert panel["targets"][0]["expr"] == 'instance:ai_diy_memory_usage:ratio{job="ai-diy", instance=~"$instance"}'
    assert _threshold_values(panel) == [0.8, 0.95]


def test_slo_burn_rate_panel_has_every_recording_rule_window() -> None:
    panel = _panel(_load("slo"), "Burn rate by window")
    legends = [t["legendFormat"] for t in panel["targets"]]
    assert legends == _documented_windows() == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    assert _threshold_values(panel) == [1, 3, 6, 14.4]
    refs = [t["refId"] for t in panel["targets"]]
    assert len(set(refs)) == len(refs)


def test_dashboard_panel_ids_are_unique() -> None:
    for name in EXPECTED_UIDS:
        ids = [p["id"] for p in _load(name)["panels"]]
        assert len(set(ids)) == len(ids) and None not in ids
