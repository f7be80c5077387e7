"""The Grafana release the dashboards are built for: the one place that names it.

docker-compose.yml runs this image tag, docs/scaling.md asks Kubernetes for it, and the
grafana-foundation-sdk build (pyproject.toml) is the one for its minor version; tests
hold all three to it.
"""

from __future__ import annotations

GRAFANA_VERSION = "11.4.0"


def minor(version: str) -> str:
    """`11.4` of `11.4.0`, and of an SDK build `1769699520!11.4.0` (its epoch is a build stamp)."""
    release = version.rpartition("!")[2]
    return ".".join(release.split(".")[:2])
