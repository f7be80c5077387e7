"""A real redis-server on a free loopback port, killed and restarted by PID."""
from __future__ import annotations

from pathlib import Path

from tests.support.binaries import require
from tests.support.net import free_port, port_open, wait_for
from tests.support.processes import Process


class RedisServer:
    """redis-server without persistence; `kill()` and `start()` on the same port."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.binary = require("redis-server")
        self.workdir = workdir
        self.port = port or free_port()
        self.process: Process | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.starts += 1
        self.process = Process(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            log=self.workdir / f"redis-{self.starts}.out",
            cwd=self.workdir,
        )
        wait_for(lambda: port_open(self.port), timeout=10, what="redis-server port")

    def kill(self) -> None:
        """SIGKILL: the outage a crash or an OOM kill causes."""
        assert self.process is not None
        self.process.popen.kill()
        self.process.popen.wait(10)
        self.process.stop()
        wait_for(lambda: not port_open(self.port), timeout=10, what="redis-server gone")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
