"""The dashboards as the JSON Grafana provisions (grafana/dashboards/*.json).

The JSON is committed so Grafana's file provisioning can load it without Python;
`make generate` (python -m generate) writes it, and its `--check` fails when it is out of
date with the code.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Callable

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from . import overview, resources, security, slo
from .version import GRAFANA_VERSION, minor

BOARDS: dict[str, Callable[[], Dashboard]] = {
    "overview": overview.build,
    "security": security.build,
    "resources": resources.build,
    "slo": slo.build,
}


def render(build: Callable[[], Dashboard]) -> str:
    """The dashboard's JSON text, stable across runs (sorted keys, trailing newline)."""
    model = build().build()
    # Stable panel ids keep panel links (`viewPanel=<id>`) valid across regenerations.
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


class SdkMismatch(RuntimeError):
    """The installed grafana-foundation-sdk is built for another Grafana than GRAFANA_VERSION."""


def check_sdk() -> None:
    """Refuse an SDK build for another Grafana: it writes that version's JSON (schemaVersion, options)."""
    installed = importlib.metadata.version("grafana-foundation-sdk")
    if minor(installed) != minor(GRAFANA_VERSION):
        raise SdkMismatch(
            f"grafana-foundation-sdk {installed} builds for Grafana {minor(installed)}, the dashboards are for"
            f" {GRAFANA_VERSION} (grafana/version.py): install the pin in pyproject.toml (pip install -e '.[test]')"
        )


def rendered() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    check_sdk()
    return {f"{name}.json": render(build) for name, build in BOARDS.items()}
