"""Selectors, port names and numbers agree across Deployment, Service, ServiceMonitor, NetworkPolicy, PDB, HPA."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from . import manifests as m
from . import wiring

DOCUMENTS = m.documents()


@pytest.mark.parametrize("check", wiring.ALL_CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
def test_base_is_wired(check: Callable[[list[m.Document]], None]) -> None:
    check(DOCUMENTS)


def _renamed_service_port(docs: list[m.Document]) -> None:
    port = m.one(docs, "Service")["spec"]["ports"][1]
    port["name"] = "prometheus"


def _relabelled_pods(docs: list[m.Document]) -> None:
    m.one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] = "worker"


def _renamed_container_port(docs: list[m.Document]) -> None:
    m.container(docs)["ports"][1]["name"] = "prom"


@pytest.mark.parametrize(
    ("break_it", "check"),
    [
        (_renamed_service_port, wiring.check_servicemonitor_scrapes_the_service_metrics_port),
        (_relabelled_pods, wiring.check_service_selects_the_pods_on_their_named_ports),
        (_renamed_container_port, wiring.check_networkpolicy_ports_are_container_ports),
    ],
    ids=["servicemonitor-port", "service-selector", "networkpolicy-port"],
)
def test_wiring_check_catches_a_broken_reference(
    break_it: Callable[[list[m.Document]], None], check: Callable[[list[m.Document]], None]
) -> None:
    docs = copy.deepcopy(DOCUMENTS)
    break_it(docs)
    with pytest.raises(AssertionError):
        check(docs)


def _ingress_rules() -> dict[str, list[dict[str, Any]]]:
    """Port name -> the `from` peers admitted to it (an empty list: any source)."""
    rules: dict[str, list[dict[str, Any]]] = {}
    for rule in m.one(DOCUMENTS, "NetworkPolicy")["spec"]["ingress"]:
        for port in rule["ports"]:
            rules.setdefault(port["port"], []).extend(rule.get("from", []))
    return rules


def test_networkpolicy_admits_metrics_from_the_monitoring_namespace_only() -> None:
    assert _ingress_rules()["metrics"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]


def test_networkpolicy_admits_the_api_from_any_source() -> None:
    # The API's clients come through an ingress controller the base cannot name.
    rules = m.one(DOCUMENTS, "NetworkPolicy")["spec"]["ingress"]
    api_rules = [rule for rule in rules if any(port["port"] == "http" for port in rule["ports"])]
    assert [rule.get("from") for rule in api_rules] == [None]


def test_networkpolicy_restricts_ingress_and_leaves_egress_open() -> None:
    policy = m.one(DOCUMENTS, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    assert "egress" not in policy


def test_autoscaler_never_goes_below_what_the_disruption_budget_needs() -> None:
    replicas = m.one(DOCUMENTS, "Deployment")["spec"]["replicas"]
    autoscaler = m.one(DOCUMENTS, "HorizontalPodAutoscaler")["spec"]
    budget = m.one(DOCUMENTS, "PodDisruptionBudget")["spec"]
    assert replicas == autoscaler["minReplicas"] == 3
    assert autoscaler["maxReplicas"] > autoscaler["minReplicas"]
    # One pod evicted at a time, and at least two still serving while it is.
    assert budget["maxUnavailable"] == 1 and autoscaler["minReplicas"] - budget["maxUnavailable"] >= 2
    (metric,) = autoscaler["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
