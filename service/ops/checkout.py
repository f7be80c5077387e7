"""Where the local stacks find what they run: the monitoring binaries and the checkout holding their configs.

`ai-diy stack` and `ai-diy drill` both start Prometheus and Alertmanager from the
system's packages with the configs of a source checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PROMETHEUS_NAMES = ("prometheus",)
ALERTMANAGER_NAMES = ("prometheus-alertmanager", "alertmanager")  # Debian renames the binary


def find_binary(names: tuple[str, ...]) -> str | None:
    """Path of the first program found in PATH or the system bin dirs."""
    for name in names:
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if path:
            return path
    return None


def find_source(start: Path | None = None) -> Path | None:
    """The checkout that holds deploy/compose/prometheus.yml: the given dir, the cwd, or this package's."""
    candidates = [start] if start else [Path.cwd(), Path(__file__).resolve().parents[2]]
    for candidate in candidates:
        if (candidate / "deploy" / "compose" / "prometheus.yml").is_file():
            return candidate.resolve()
    return None
