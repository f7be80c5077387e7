"""The dashboards as the JSON Grafana provisions (grafana/dashboards/*.json).

The JSON is committed so Grafana's file provisioning can load it without Python;
`make generate` (python -m generate) writes it, and its `--check` fails when it is out of
date with the code.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
from collections.abc import Callable

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard as DashboardModel

from . import overview, resources, security, slo
from .version import GRAFANA_VERSION, minor

BOARDS: dict[str, Callable[[], Dashboard]] = {
    "overview": overview.build,
    "security": security.build,
    "resources": resources.build,
    "slo": slo.build,
}


def model(build: Callable[[], Dashboard]) -> DashboardModel:
    """The dashboard with its panels numbered in order."""
    built = build().build()
    # Stable panel ids keep panel links (`viewPanel=<id>`, the alerts' dashboard_url) valid across regenerations.
    for number, panel in enumerate(built.panels or [], start=1):
        panel.id_val = number
    return built


def render(build: Callable[[], Dashboard]) -> str:
    """The dashboard's JSON text, stable across runs (sorted keys, trailing newline)."""
    return json.dumps(model(build), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


_RUNBOOK_LINK = "Runbook: "


@functools.cache
def alert_panels() -> dict[str, tuple[str, int]]:
    """Alert -> (dashboard uid, panel id) of the first panel showing its signal (the one linking its runbook)."""
    found: dict[str, tuple[str, int]] = {}
    for build in BOARDS.values():
        board = model(build)
        for panel in board.panels or []:
            for link in getattr(panel, "links", None) or []:
                if link.title.startswith(_RUNBOOK_LINK):
                    found.setdefault(link.title.removeprefix(_RUNBOOK_LINK), (board.uid or "", panel.id_val or 0))
    return found


def alert_panel(alert: str) -> tuple[str, int]:
    """(dashboard uid, panel id) showing the alert's signal; KeyError naming the alert when no panel does."""
    try:
        return alert_panels()[alert]
    except KeyError:
        raise KeyError(
            f"no dashboard panel links the runbook of {alert}: add runbook_links({alert!r}) to one"
        ) from None


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
