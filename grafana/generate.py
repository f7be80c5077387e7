"""Write grafana/dashboards/*.json from the dashboard code: `python -m grafana.generate [--check]`.

The JSON is committed so Grafana's file provisioning can load it without Python;
`--check` (and the unit test) fail when it is out of date with the code.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from . import overview, resources, security, slo
from .version import GRAFANA_VERSION, minor

OUTPUT = Path(__file__).resolve().parent / "dashboards"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grafana.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed dashboard differs from the code")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="directory to write into (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        boards = rendered()
    except SdkMismatch as mismatch:
        print(mismatch, file=sys.stderr)
        return 2
    stale = []
    for name, text in boards.items():
        path = args.output / name
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            args.output.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    for name in stale:
        print(f"{args.output / name} is out of date: run python -m grafana.generate", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
