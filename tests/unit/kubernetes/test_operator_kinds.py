"""The Prometheus Operator kinds, which no Kubernetes schema covers: their required fields, by hand."""

from __future__ import annotations

import re

import pytest

from . import manifests as m

DOCUMENTS = m.documents()


@pytest.mark.parametrize("kind", sorted(m.OPERATOR_KINDS))
def test_operator_kind_is_monitoring_coreos_v1_with_a_name(kind: str) -> None:
    document = m.one(DOCUMENTS, kind)
    assert document["apiVersion"] == m.OPERATOR_API
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", document["metadata"]["name"])
    assert isinstance(document["spec"], dict)


def test_servicemonitor_has_a_selector_and_named_endpoint_ports() -> None:
    spec = m.one(DOCUMENTS, "ServiceMonitor")["spec"]
    assert spec["selector"]["matchLabels"] and all(isinstance(v, str) for v in spec["selector"]["matchLabels"].values())
    assert spec["endpoints"]
    for endpoint in spec["endpoints"]:
        assert isinstance(endpoint["port"], str) and endpoint["port"]
        assert endpoint["path"] == "/metrics"
        assert re.fullmatch(r"\d+s", endpoint["interval"]) and re.fullmatch(r"\d+s", endpoint["scrapeTimeout"])
        assert int(endpoint["scrapeTimeout"][:-1]) <= int(endpoint["interval"][:-1])


def test_prometheusrule_groups_are_named_once_and_hold_rules() -> None:
    groups = m.one(DOCUMENTS, "PrometheusRule")["spec"]["groups"]
    names = [group["name"] for group in groups]
    assert names and len(names) == len(set(names))
    for group in groups:
        assert group["rules"], f"group {group['name']} has no rules"
        for rule in group["rules"]:
            assert ("alert" in rule) != ("record" in rule), f"{group['name']}: a rule is an alert or a recording rule"
            assert str(rule["expr"]).strip()


def test_operator_kinds_carry_the_release_label_prometheus_selects_by() -> None:
    labels = [m.one(DOCUMENTS, kind)["metadata"]["labels"] for kind in sorted(m.OPERATOR_KINDS)]
    assert labels[0].get("release") and labels[0]["release"] == labels[1].get("release")


def _rule_jobs() -> set[str]:
    exprs = [
        str(rule["expr"]) for group in m.one(DOCUMENTS, "PrometheusRule")["spec"]["groups"] for rule in group["rules"]
    ]
    return {job for expr in exprs for job in re.findall(r'job="([^"]+)"', expr)}


def test_servicemonitor_job_label_gives_the_job_the_rules_select() -> None:
    # The operator names the job after the Service's value of `jobLabel`; every rule
    # selects job="ai-diy", so a different job would leave every alert silent.
    monitor = m.one(DOCUMENTS, "ServiceMonitor")["spec"]
    service_labels = m.one(DOCUMENTS, "Service")["metadata"]["labels"]
    assert _rule_jobs() == {service_labels[monitor["jobLabel"]]}
