"""Real redis-server and redis-sentinel processes on free loopback ports, killed and restarted by PID."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.binaries import require
from tests.support.net import free_port, port_open, wait_for
from tests.support.processes import Process


def redis_cli(port: int, *command: str) -> str:
    """One redis-cli command against 127.0.0.1:port; its raw output (bounded in time)."""
    result = subprocess.run(
        [require("redis-cli"), "-h", "127.0.0.1", "-p", str(port), "--raw", *command],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return result.stdout.strip()


class RedisServer:
    """redis-server without persistence; `kill()` and `start()` on the same port.

    `replica_of`: the port of a master on 127.0.0.1 this server replicates.
    """

    def __init__(
        self, workdir: Path, port: int | None = None, *, replica_of: int | None = None, name: str = "redis"
    ) -> None:
        self.binary = require("redis-server")
        self.workdir = workdir
        self.port = port or free_port()
        self.replica_of = replica_of
        self.name = name
        self.process: Process | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.starts += 1
        replication = ["--replicaof", "127.0.0.1", str(self.replica_of)] if self.replica_of else []
        self.process = Process(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                *replication,
            ],
            log=self.workdir / f"{self.name}-{self.starts}.out",
            cwd=self.workdir,
        )
        wait_for(lambda: port_open(self.port), timeout=10, what=f"{self.name} port")

    def kill(self) -> None:
        """SIGKILL: the outage a crash or an OOM kill causes."""
        assert self.process is not None
        self.process.popen.kill()
        self.process.popen.wait(10)
        self.process.stop()
        wait_for(lambda: not port_open(self.port), timeout=10, what=f"{self.name} gone")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def info(self, section: str) -> dict[str, str]:
        """`INFO <section>` as a dict."""
        lines = redis_cli(self.port, "INFO", section).splitlines()
        return dict(line.split(":", 1) for line in lines if ":" in line and not line.startswith("#"))


class RedisSentinel:
    """redis-sentinel watching one master on loopback, with fail-over timings short enough for a test.

    Sentinel rewrites its configuration file as it learns the replicas and the other
    sentinels, so each gets its own file in `workdir`.
    """

    def __init__(
        self,
        workdir: Path,
        master_port: int,
        *,
        master_name: str = "mymaster",
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
    ) -> None:
        self.binary = require("redis-sentinel")
        self.workdir = workdir
        self.port = free_port()
        self.master_port = master_port
        self.master_name = master_name
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.process: Process | None = None

    def start(self) -> None:
        config = self.workdir / f"sentinel-{self.port}.conf"
        name = self.master_name
        config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.workdir}\n"
            f"sentinel monitor {name} 127.0.0.1 {self.master_port} {self.quorum}\n"
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}\n"
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}\n"
            f"sentinel parallel-syncs {name} 1\n"
        )
        self.process = Process(
            [self.binary, str(config)], log=self.workdir / f"sentinel-{self.port}.out", cwd=self.workdir
        )
        wait_for(lambda: port_open(self.port), timeout=10, what="redis-sentinel port")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def master_port_now(self) -> int | None:
        """The port this sentinel currently names as the master (None when it cannot say)."""
        answer = redis_cli(self.port, "SENTINEL", "get-master-addr-by-name", self.master_name).splitlines()
        return int(answer[1]) if len(answer) == 2 and answer[1].isdigit() else None

    def sees(self, *, replicas: int, other_sentinels: int) -> bool:
        """True once this sentinel knows that many replicas and fellow sentinels of its master."""
        fields = redis_cli(self.port, "SENTINEL", "master", self.master_name).splitlines()
        master = dict(zip(fields[::2], fields[1::2], strict=True))
        return master.get("num-slaves") == str(replicas) and master.get("num-other-sentinels") == str(other_sentinels)


def sentinel_uri(sentinels: list[RedisSentinel]) -> str:
    """The rate-limit storage URI that follows these sentinels' master."""
    locations = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in sentinels)
    return f"redis+sentinel://{locations}/{sentinels[0].master_name}"
