"""Real hypercorn servers running the tiny instrumented app."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port, port_open, wait_for
from tests.support.processes import ROOT, Process


@contextmanager
def hypercorn_server(
    tmp_path: Path, *, workers: int = 1, multiproc_dir: Path | None = None, **env: str
) -> Iterator[tuple[Process, str]]:
    """telemetry_app on a free loopback port; yields (process, base_url); stopped by PID."""
    port = free_port()
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OBS_TEST_", "PROMETHEUS_MULTIPROC"))
    }
    environment.update(PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **env)
    argv = [sys.executable, "-m", "tests.integration.observability.serve", str(port), str(workers)]
    if multiproc_dir is not None:
        argv.append(str(multiproc_dir))
    proc = Process(argv, log=tmp_path / f"hypercorn-{port}.out", env=environment, cwd=ROOT)
    try:
        wait_for(lambda: port_open(port) or proc.popen.poll() is not None, timeout=30, what="hypercorn port")
        if proc.popen.poll() is not None:
            raise RuntimeError(f"hypercorn exited with {proc.popen.returncode}:\n{proc.output()}")
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.stop()
