"""How the base's objects refer to each other: selectors, port names and numbers.

Each check raises AssertionError naming what is miswired. The unit tests run them on the
files as written; the kustomize build test runs them again on kustomize's output.
"""

from __future__ import annotations

from .manifests import Document, container_ports, labels_match, one


def _pod_labels(docs: list[Document]) -> dict[str, str]:
    answer: dict[str, str] = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    return answer


def check_deployment_selects_its_pods(docs: list[Document]) -> None:
    deployment = one(docs, "Deployment")
    assert labels_match(deployment["spec"]["selector"]["matchLabels"], _pod_labels(docs)), "Deployment selector"


def check_service_selects_the_pods_on_their_named_ports(docs: list[Document]) -> None:
    service = one(docs, "Service")
    assert labels_match(service["spec"]["selector"], _pod_labels(docs)), "Service selector misses the pods"
    ports = container_ports(docs)
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in ports, (
            f"Service port {port['name']} targets {port['targetPort']}, no container port"
        )
        # Same name, same number: `ai-diy:8000` in the cluster is the pod's 8000.
        assert ports.get(port["name"]) == port["port"], f"Service port {port['name']} differs from the container's"
    assert {port["name"] for port in service["spec"]["ports"]} >= {"http", "metrics"}


def check_servicemonitor_scrapes_the_service_metrics_port(docs: list[Document]) -> None:
    monitor = one(docs, "ServiceMonitor")
    service = one(docs, "Service")
    assert labels_match(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]), (
        "ServiceMonitor selector does not select the Service"
    )
    service_ports = {port["name"] for port in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in service_ports, f"ServiceMonitor port {endpoint['port']!r} is not a Service port"
    assert [endpoint["port"] for endpoint in monitor["spec"]["endpoints"]] == ["metrics"]


def check_networkpolicy_ports_are_container_ports(docs: list[Document]) -> None:
    policy = one(docs, "NetworkPolicy")
    assert labels_match(policy["spec"]["podSelector"]["matchLabels"], _pod_labels(docs)), "NetworkPolicy podSelector"
    ports = container_ports(docs)
    for rule in policy["spec"]["ingress"]:
        for port in rule["ports"]:
            assert port["port"] in ports, f"NetworkPolicy admits port {port['port']!r}, which the pod does not name"


def check_disruption_budget_and_autoscaler_target_the_deployment(docs: list[Document]) -> None:
    deployment = one(docs, "Deployment")
    budget = one(docs, "PodDisruptionBudget")
    assert labels_match(budget["spec"]["selector"]["matchLabels"], _pod_labels(docs)), "PodDisruptionBudget selector"
    target = one(docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


ALL_CHECKS = (
    check_deployment_selects_its_pods,
    check_service_selects_the_pods_on_their_named_ports,
    check_servicemonitor_scrapes_the_service_metrics_port,
    check_networkpolicy_ports_are_container_ports,
    check_disruption_budget_and_autoscaler_target_the_deployment,
)


def check_all(docs: list[Document]) -> None:
    for check in ALL_CHECKS:
        check(docs)
