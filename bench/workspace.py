"""A throw-away service workspace (data, logs) and the request mix over its routes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from starlette.routing import BaseRoute, Route

from .driver import Probe

DOCUMENT = "guide.md"
# Not part of the load: /metrics is measured on its own (its cost grows with the series),
# and routes outside the API schema (/openapi.json) are documentation, not traffic.
EXCLUDED = frozenset({"/metrics"})


@dataclass(frozen=True)
class Workspace:
    """Directories of one benchmark run and the environment a server variant needs."""

    root: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def models_config(self) -> Path:
        return self.root / "models_config.json"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a server process: the service's settings, nothing inherited."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AI_DIY_", "OTEL_")) and k != "LOG_LEVEL"}
        env.update(
            AI_DIY_DATA_DIR=str(self.data_dir),
            AI_DIY_LOG_DIR=str(self.log_dir),
            AI_DIY_MODELS_CONFIG=str(self.models_config),
            # wrk connects from 127.0.0.1 and names the client in X-Forwarded-For.
            AI_DIY_TRUSTED_PROXIES="127.0.0.1",
            AI_DIY_RESOURCE_LOG_INTERVAL="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env


def create_workspace(root: Path | None = None) -> Workspace:
    """Make the directories and one document to read; `root` defaults to a new temp dir."""
    root = root or Path(tempfile.mkdtemp(prefix="ai-diy-bench-"))
    space = Workspace(root)
    appdocs = space.data_dir / "appdocs"
    appdocs.mkdir(parents=True, exist_ok=True)
    (appdocs / DOCUMENT).write_text("# Guide\n\nA small document served by the benchmark.\n", encoding="utf-8")
    space.log_dir.mkdir(parents=True, exist_ok=True)
    return space


def apply_env(space: Workspace) -> None:
    """Point this process's settings at the workspace (in-process runs)."""
    for key in [k for k in os.environ if k.startswith(("AI_DIY_", "OTEL_"))]:
        del os.environ[key]
    os.environ.update({k: v for k, v in space.env().items() if k.startswith("AI_DIY_")})


def request_mix(routes: Iterable[BaseRoute]) -> list[Probe]:
    """One GET per route that answers GET, path parameters filled with the sample document.

    Every probe must answer 200: under wrk any other status is counted as a failure,
    which is how a refused (429) request shows up.
    """
    probes: list[Probe] = []
    for route in routes:
        if not isinstance(route, Route) or route.path in EXCLUDED or not route.include_in_schema:
            continue
        if route.methods is not None and "GET" not in route.methods:
            continue
        path = route.path
        if "{" in path:
            if path.endswith("{path:path}") and path.count("{") == 1:
                path = path.replace("{path:path}", DOCUMENT)
            else:
                continue
        if all(p.path != path for p in probes):
            probes.append(Probe("GET", path))
    return probes
