"""Real processes started by tests and stopped by their PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from .environment import is_service_setting
from .net import free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """A child process with its output captured to a file."""

    def __init__(self, argv: Sequence[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None):
        self.argv = list(argv)
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115  # the process writes to it until stop() closes it
        self.popen = subprocess.Popen(
            self.argv, stdout=self._log_file, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.kill(self.pid, signum)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after timeout; returns the exit code."""
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout)
        self._log_file.close()
        return self.popen.returncode


def service_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """Environment for a service subprocess: isolated dirs, no inherited AI_DIY_/OTEL_ settings.

    AI_DIY_MODELS_CONFIG stays unset: a set one must name an existing file, while the
    default (`models_config.json` in the working directory, tmp_path for the
    services started here) may be absent and then means the embedded default.
    """
    env = {k: v for k, v in os.environ.items() if not is_service_setting(k)}
    env.update(
        AI_DIY_LOG_DIR=str(tmp_path / "logs"),
        AI_DIY_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


@contextmanager
def running_service(
    tmp_path: Path, *, timeout: float = 20.0, env: Mapping[str, str] | None = None, **env_overrides: str
) -> Iterator[tuple[Process, str]]:
    """`ai-diy serve` on a free loopback port; yields (process, base_url).

    The service's environment: `env`, then `env_overrides`, over service_env's.
    """
    env_overrides = {**(env or {}), **env_overrides}
    port = int(env_overrides.pop("AI_DIY_PORT", free_port()))
    proc = Process(
        [sys.executable, "-m", "service.cli", "serve"],
        log=tmp_path / f"service-{port}.out",
        env=service_env(tmp_path, AI_DIY_HOST="127.0.0.1", AI_DIY_PORT=str(port), **env_overrides),
        cwd=tmp_path,
    )
    try:
        wait_for(lambda: port_open(port) or proc.popen.poll() is not None, timeout=timeout, what="service port")
        if proc.popen.poll() is not None:
            raise RuntimeError(f"service exited with {proc.popen.returncode}:\n{proc.output()}")
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.stop()
