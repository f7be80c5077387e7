"""Real hypercorn (and Redis) processes for the security integration tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.net import free_port, port_open, wait_for
from tests.support.processes import ROOT, Process, service_env

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
            "tests.integration.security.stack:from_env()",
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
    root = tmp_path / "appdocs"
    (root / "guides").mkdir(parents=True)
    (root / "readme.md").write_text("# Read me\n")
    (root / "guides" / "setup.txt").write_text("setup steps\n")
    (root / "data.json").write_text('{"ok": true}\n')
    (root / "new file.csv").write_text("a,b\n1,2\n")
    (tmp_path / "secret.txt").write_text("TOP SECRET\n")
    (tmp_path / "secret").write_text("TOP SECRET\n")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")
    return root
