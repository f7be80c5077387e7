"""docker-compose.yml: valid against the compose spec, pinned, bounded, and every mounted config checks out."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.settings import load_settings
from tests.support.binaries import require
from tests.support.environment import is_service_setting

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
UI_PORTS = {"3000", "9090", "9093", "9095", "16686"}
ALERTMANAGERS = ("alertmanager", "alertmanager-2")


def _compose() -> dict[str, Any]:
    answer: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return answer


def _services() -> dict[str, dict[str, Any]]:
    answer: dict[str, dict[str, Any]] = _compose()["services"]
    return answer


def _bind_mounts() -> list[tuple[str, str, str]]:
    """(service, host path, container path) of every bind mount."""
    mounts = []
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            host, container = volume.split(":")[:2]
            if host.startswith((".", "/")):
                mounts.append((name, host, container))
    return mounts


def _mount_source(service: str, container_path: str) -> Path:
    for name, host, container in _bind_mounts():
        if name == service and container == container_path:
            return ROOT / host
    raise AssertionError(f"{service} mounts nothing at {container_path}")


@pytest.mark.integration
def test_compose_file_matches_compose_spec() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_bind_mounts_exist_in_repository() -> None:
    mounts = _bind_mounts()
    assert mounts
    missing = [f"{service}: {host}" for service, host, _ in mounts if not (ROOT / host).exists()]
    assert missing == []


def test_compose_images_are_pinned() -> None:
    for name, service in _services().items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        assert re.fullmatch(r"v?\d+\.\d+\.\d+(-[a-z0-9.]+)?", tag), f"{name}: {image} is not pinned to a release"


def test_compose_publishes_only_the_uis() -> None:
    published = {str(port).split(":")[0] for service in _services().values() for port in service.get("ports", [])}
    assert published == UI_PORTS
    assert "ports" not in _services()["ai-diy"], "replicas cannot share a published port (--scale)"
    assert "container_name" not in _services()["ai-diy"], "a fixed container name forbids --scale"


def test_compose_services_have_memory_limits_and_shared_logging() -> None:
    anchor = _compose()["x-logging"]
    for name, service in _services().items():
        assert service["deploy"]["resources"]["limits"]["memory"], name
        assert service["logging"] == anchor, name


def test_compose_depends_on_uses_conditions() -> None:
    for name, service in _services().items():
        for dependency, spec in service.get("depends_on", {}).items():
            assert spec["condition"] in {"service_healthy", "service_started"}, f"{name} -> {dependency}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in _services()[dependency], f"{name} waits for {dependency}'s missing healthcheck"
    assert _services()["ai-diy"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_service_environment_accepted_by_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {k: str(v) for k, v in _services()["ai-diy"]["environment"].items()}
    for key in list(os.environ):
        if is_service_setting(key):
            monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(env_file=None)
    assert settings.host == "0.0.0.0"  # noqa: S104  # in its container the service listens on every interface
    assert settings.rate_limit_storage == "redis://redis:6379/0"
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"


def test_compose_prometheus_has_exemplar_storage_and_mounts_rules() -> None:
    prometheus = _services()["prometheus"]
    assert "--enable-feature=exemplar-storage" in prometheus["command"]
    assert _mount_source("prometheus", "/etc/prometheus/alerts") == ROOT / "alerts"


def test_compose_prometheus_discovers_replicas_by_dns() -> None:
    config = yaml.safe_load(_mount_source("prometheus", "/etc/prometheus/prometheus.yml").read_text())
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "ai-diy")
    port = int(_services()["ai-diy"]["environment"]["AI_DIY_PORT"])
    assert job["dns_sd_configs"] == [{"names": ["ai-diy"], "type": "A", "port": port, "refresh_interval": "15s"}]
    assert config["rule_files"] == ["/etc/prometheus/alerts/*.rules.yml"]


@pytest.mark.integration
def test_compose_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require("promtool")
    config = yaml.safe_load(_mount_source("prometheus", "/etc/prometheus/prometheus.yml").read_text())
    # The container path of the rules does not exist here: point at the repository's copy so the rules are checked too.
    config["rule_files"] = [str(ROOT / "alerts" / "*.rules.yml")]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [promtool, "check", "config", str(local)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


@pytest.mark.integration
@pytest.mark.parametrize("name", ALERTMANAGERS)
def test_compose_alertmanager_config_passes_amtool(name: str) -> None:
    amtool = require("amtool")
    source = _mount_source(name, "/etc/alertmanager/alertmanager.yml")
    result = subprocess.run(
        [amtool, "check-config", str(source)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _flag(command: list[str], name: str) -> list[str]:
    return [arg.split("=", 1)[1] for arg in command if arg.startswith(f"--{name}=")]


def test_compose_alertmanagers_form_a_cluster_of_two() -> None:
    services = _services()
    for name in ALERTMANAGERS:
        command = services[name]["command"]
        [listen] = _flag(command, "cluster.listen-address")
        gossip_port = listen.rsplit(":", 1)[1]
        [other] = [peer for peer in ALERTMANAGERS if peer != name]
        assert _flag(command, "cluster.peer") == [f"{other}:{gossip_port}"], name
        assert _flag(command, "config.file") == _flag(services[other]["command"], "config.file")
    sources = {_mount_source(name, "/etc/alertmanager/alertmanager.yml") for name in ALERTMANAGERS}
    assert sources == {ROOT / "alerts" / "alertmanager.yml"}, "both members must route alike to deduplicate"
    data = [next(v for v in services[name]["volumes"] if v.endswith(":/alertmanager")) for name in ALERTMANAGERS]
    assert data[0] != data[1], "each member keeps its own notification log and silences"


def test_compose_prometheus_alerts_and_scrapes_both_alertmanagers() -> None:
    config = yaml.safe_load(_mount_source("prometheus", "/etc/prometheus/prometheus.yml").read_text())
    both = {f"{name}:9093" for name in ALERTMANAGERS}
    [alerting] = config["alerting"]["alertmanagers"]
    assert {t for static in alerting["static_configs"] for t in static["targets"]} == both
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "alertmanager")
    assert {t for static in job["static_configs"] for t in static["targets"]} == both
    for name in ALERTMANAGERS:
        assert _services()["prometheus"]["depends_on"][name]["condition"] == "service_healthy"


def test_compose_otel_collector_pipelines_reference_defined_components() -> None:
    config = yaml.safe_load(_mount_source("otel-collector", "/etc/otelcol/config.yml").read_text())
    pipelines = config["service"]["pipelines"]
    assert "traces" in pipelines
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in config[kind], f"pipeline {name} uses undefined {kind[:-1]} {component}"
    for extension in config["service"].get("extensions", []):
        assert extension in config["extensions"]


def test_compose_otel_collector_bridges_service_to_jaeger() -> None:
    config = yaml.safe_load(_mount_source("otel-collector", "/etc/otelcol/config.yml").read_text())
    endpoint = _services()["ai-diy"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
    port = endpoint.rsplit(":", 1)[1]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(f":{port}")
    exporters = config["service"]["pipelines"]["traces"]["exporters"]
    hosts = {config["exporters"][e]["endpoint"].split(":")[0] for e in exporters}
    assert hosts == {"jaeger"}


def test_compose_api_healthcheck_is_readiness() -> None:
    # Degraded (full log disk, Redis lost under fail-open) stays healthy; not ready does not.
    healthcheck = _services()["ai-diy"]["healthcheck"]
    probe = " ".join(healthcheck["test"])
    assert "/health/ready'" in probe and "urllib.request" in probe
