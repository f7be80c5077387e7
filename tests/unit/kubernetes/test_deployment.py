"""The Deployment against the service itself: its settings, its image's user, its drain, its writable paths."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import pytest

from observability.tracing import check_tracing_config, export_endpoint
from service.settings import ENV_PREFIX, Settings, load_settings

from . import manifests as m

DOCUMENTS = m.documents()
DOCKERFILE = m.ROOT / "deploy" / "Dockerfile"
DOWNWARD = {"metadata.name": "ai-diy-7d9f-x2x4q", "metadata.namespace": "shop", "spec.nodeName": "node-1"}
PROBE_PATHS = {"livenessProbe": "/health/live", "readinessProbe": "/health/ready", "startupProbe": "/health/live"}


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings the service loads in the pod, through its own validation."""
    for name in list(os.environ):
        if name.startswith((ENV_PREFIX, "OTEL_")) or name == "LOG_LEVEL":
            monkeypatch.delenv(name)
    for name, value in m.environment(DOCUMENTS, DOWNWARD).items():
        monkeypatch.setenv(name, value)
    return load_settings(env_file=None)


def _volume_mounts() -> dict[str, str]:
    """Mount path -> volume name."""
    return {mount["mountPath"]: mount["name"] for mount in m.container(DOCUMENTS)["volumeMounts"]}


def test_deployment_environment_passes_the_service_validation(settings: Settings) -> None:
    assert settings.workers == 1
    assert settings.app_env.value == "PRODUCTION"


def test_deployment_listens_on_the_container_ports_on_every_interface(settings: Settings) -> None:
    ports = m.container_ports(DOCUMENTS)
    assert settings.port == ports["http"]
    assert settings.metrics_port == ports["metrics"]
    # Loopback would refuse the kubelet's probes and Prometheus's scrapes.
    assert not ipaddress.ip_address(settings.host).is_loopback
    assert not ipaddress.ip_address(settings.metrics_host).is_loopback


def test_deployment_shares_the_rate_limit_through_redis_sentinel(settings: Settings) -> None:
    # memory:// would give every pod its own budget: a client would get 3 x the limit.
    assert settings.rate_limit_storage.startswith("redis+sentinel://")


def test_deployment_trusted_proxies_placeholder_is_a_private_network(settings: Settings) -> None:
    assert settings.trusted_proxies
    assert all(network.is_private for network in settings.trusted_proxies)


def test_deployment_exports_traces_to_the_collector_service() -> None:
    env = m.environment(DOCUMENTS, DOWNWARD)
    check_tracing_config(env)
    assert export_endpoint(env) == "http://otel-collector:4318"
    assert env["OTEL_SERVICE_NAME"] == "ai-diy"
    assert (
        env["OTEL_RESOURCE_ATTRIBUTES"] == "k8s.pod.name=ai-diy-7d9f-x2x4q,k8s.namespace.name=shop,k8s.node.name=node-1"
    )


def test_deployment_env_references_resolve_to_variables_defined_above() -> None:
    defined: set[str] = set()
    for item in m.container(DOCUMENTS)["env"]:
        unresolved = set(m.references(str(item.get("value", "")))) - defined
        assert not unresolved, (
            f"{item['name']} refers to {unresolved}, not defined above it: the kubelet leaves it as text"
        )
        defined.add(item["name"])


def test_deployment_turns_off_service_links_that_would_set_ai_diy_port() -> None:
    # A Service named ai-diy would otherwise inject AI_DIY_PORT=tcp://<ip>:8000.
    assert m.pod_spec(DOCUMENTS)["enableServiceLinks"] is False


def test_deployment_runs_as_the_image_user_without_privileges() -> None:
    image_uid = int(re.findall(r"--uid (\d+)", DOCKERFILE.read_text(encoding="utf-8"))[0])
    pod = m.pod_spec(DOCUMENTS)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_uid == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    container = m.container(DOCUMENTS)["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["readOnlyRootFilesystem"] is True
    assert container["capabilities"] == {"drop": ["ALL"]}


def test_deployment_mounts_a_writable_volume_wherever_the_service_writes(settings: Settings) -> None:
    mounts = _volume_mounts()
    volumes = {volume["name"]: volume for volume in m.pod_spec(DOCUMENTS)["volumes"]}
    for path in (settings.log_dir, settings.data_dir, Path("/tmp")):  # noqa: S108  # the pod's /tmp must be writable
        assert str(path) in mounts, f"{path} is on the read-only root filesystem"
        volume = volumes[mounts[str(path)]]
        assert "emptyDir" in volume and volume["emptyDir"]["sizeLimit"], f"{path}: a bounded emptyDir"
    assert len(volumes) == len(mounts) == 3


def test_deployment_probes_ask_the_api_port_for_the_health_routes(settings: Settings) -> None:
    container = m.container(DOCUMENTS)
    for probe, path in PROBE_PATHS.items():
        request = container[probe]["httpGet"]
        assert request["path"] == path, probe
        assert m.container_ports(DOCUMENTS)[request["port"]] == settings.port, f"{probe} must ask the API listener"


def test_deployment_grace_period_outlasts_the_prestop_sleep_and_the_drain(settings: Settings) -> None:
    pod = m.pod_spec(DOCUMENTS)
    sleep = m.container(DOCUMENTS)["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert sleep > 0
    assert pod["terminationGracePeriodSeconds"] > sleep + settings.drain_timeout
    # Set in the manifest, not left to the default: the grace period is computed from it.
    assert "AI_DIY_DRAIN_TIMEOUT" in m.environment(DOCUMENTS, DOWNWARD)


def test_deployment_requests_fit_within_limits() -> None:
    resources = m.container(DOCUMENTS)["resources"]
    for resource in ("cpu", "memory"):
        assert m.quantity(resources["requests"][resource]) <= m.quantity(resources["limits"][resource]), resource
    # One worker measured about 63 MiB RSS under load (docs/performance.md).
    assert m.quantity(resources["requests"]["memory"]) >= 2 * 63 * 2**20


def test_deployment_spreads_its_pods_over_nodes() -> None:
    (constraint,) = m.pod_spec(DOCUMENTS)["topologySpreadConstraints"]
    pod_labels = m.one(DOCUMENTS, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert constraint["topologyKey"] == "kubernetes.io/hostname"
    assert m.labels_match(constraint["labelSelector"]["matchLabels"], pod_labels)
