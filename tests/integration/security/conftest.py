"""Real hypercorn (and Redis) processes for the security integration tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.net import free_port, port_open, wait_for
from tests.support.processes import ROOT, Process, service_env
from tests.support.security_stack import documents_root

# The server settings the service runs hypercorn with: no `Server` header.
HYPERCORN_TOML = "include_server_header = false\nworkers = 1\n"


@contextmanager
def serve_stack(tmp_path: Path, name: str = "stack", **env: str) -> Iterator[str]:
    """The security stack app under a real hypercorn on a free loopback port; yields its base URL."""
    port = free_port()
    config = tmp_path / "hypercorn.toml"
    config.write_text(HYPERCORN_TOML)
    proc = Process(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "--config",
            str(config),
            "--bind",
            f"127.0.0.1:{port}",
            "tests.support.security_stack:from_env()",
        ],
        log=tmp_path / f"{name}-{port}.out",
        env=service_env(tmp_path, **env),
        cwd=ROOT,
    )
    try:
        wait_for(lambda: port_open(port) or proc.popen.poll() is not None, timeout=20, what="hypercorn port")
        if proc.popen.poll() is not None:
            raise RuntimeError(f"hypercorn exited with {proc.popen.returncode}:\n{proc.output()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


@pytest.fixture
def docs_root(tmp_path: Path) -> Path:
    return documents_root(tmp_path)
