"""deploy/Dockerfile: slim base, non-root user, urllib healthcheck on /health, `ai-diy serve`."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _last(keyword: str) -> str:
    return [args for key, args in _instructions() if key == keyword][-1]


def test_dockerfile_uses_pinned_python_311_slim() -> None:
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", _last("FROM"))


def test_dockerfile_installs_the_distribution_and_runs_as_non_root() -> None:
    runs = " ".join(args for key, args in _instructions() if key == "RUN")
    assert "pip install ." in runs
    user = _last("USER")
    assert user not in {"root", "0"}
    assert "useradd" in runs and user in runs


def test_dockerfile_healthcheck_probes_liveness_with_urllib() -> None:
    # Liveness: an orchestrator replaces an unhealthy container, which only cures a wedged process.
    healthcheck = _last("HEALTHCHECK")
    assert "urllib.request" in healthcheck and "/health/live'" in healthcheck
    assert "curl" not in healthcheck
    timeout = float(re.search(r"--timeout=(\d+)s", healthcheck).group(1))
    assert float(re.search(r"timeout=(\d+)\)", healthcheck).group(1)) < timeout


def test_dockerfile_serves_on_all_interfaces() -> None:
    assert json.loads(_last("CMD")) == ["ai-diy", "serve"]
    env = " ".join(args for key, args in _instructions() if key == "ENV")
    assert "AI_DIY_HOST=0.0.0.0" in env


def test_dockerignore_keeps_context_to_the_distribution() -> None:
    patterns = [p.rstrip("/") for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    assert patterns[0] == "*", "everything is excluded first, then the sources are let back in"
    sources = {word for key, args in _instructions() if key == "COPY" for word in args.split()[:-1]}
    assert sources == {"pyproject.toml", "README.md", "service", "observability"}
    for source in sources:
        assert f"!{source}" in patterns, source
