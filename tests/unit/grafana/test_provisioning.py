"""Grafana provisioning: datasources with fixed uids, the exemplar -> trace link, the dashboards provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from grafana.kit import ALERTMANAGER_UID, JAEGER_UID, PROMETHEUS_UID

ROOT = Path(__file__).resolve().parents[3]
PROVISIONING = ROOT / "grafana" / "provisioning"


def _datasources() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((PROVISIONING / "datasources" / "datasources.yml").read_text())
    return {ds["uid"]: ds for ds in document["datasources"]}


def test_provisioning_datasources_have_fixed_uids_and_types() -> None:
    sources = _datasources()
    assert {uid: ds["type"] for uid, ds in sources.items()} == {
        PROMETHEUS_UID: "prometheus",
        JAEGER_UID: "jaeger",
        ALERTMANAGER_UID: "alertmanager",
    }
    assert [uid for uid, ds in sources.items() if ds.get("isDefault")] == [PROMETHEUS_UID]


def test_provisioning_prometheus_exemplars_link_to_jaeger_by_trace_id() -> None:
    destinations = _datasources()[PROMETHEUS_UID]["jsonData"]["exemplarTraceIdDestinations"]
    assert destinations == [{"name": "trace_id", "datasourceUid": JAEGER_UID, "urlDisplayLabel": "View trace"}]


def test_provisioning_datasource_urls_name_compose_services() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for ds in _datasources().values():
        host = ds["url"].split("://", 1)[1].split(":", 1)[0]
        assert host in services, f"{ds['name']} points at {host}, which is not a compose service"


def test_provisioning_dashboard_provider_reads_the_mounted_dashboards() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "dashboards.yml").read_text())["providers"][0]
    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"] if volume.startswith("./"))
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    assert provider["type"] == "file"
