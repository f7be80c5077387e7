"""Each variant under hypercorn (1 process, uvloop) on 127.0.0.1, loaded by wrk.

`python -m bench.server` is the server process itself: the service's own hypercorn
configuration (`service.server.hypercorn_config`, which selects the uvloop worker),
with the application swapped for the benchmark variant.

With two CPUs or more the server process is pinned to one CPU and wrk to the others
(`cpu_plan`). Unpinned, the scheduler moves wrk's threads onto the server's CPU at
random, and the rounds of one server varied so much that a middleware burning 60 µs
a request measured faster than one burning 20 µs; pinned, the same burns cost what
they burn. A single-process Python server runs its Python code on one CPU at a time
anyway (the GIL), so one CPU is nearly all it can use.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .driver import Probe
from .workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("wrk.lua")
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_TOTAL = re.compile(r"(\d+) requests in")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class CpuPlan:
    """Which CPUs the server process and wrk may run on (None: wherever the scheduler likes)."""

    server: frozenset[int] | None = None
    wrk: frozenset[int] | None = None

    def describe(self) -> str:
        if self.server is None or self.wrk is None:
            return "not pinned"
        return f"server on CPU {_cpu_list(self.server)}, wrk on CPU {_cpu_list(self.wrk)}"


def _cpu_list(cpus: frozenset[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def cpu_plan(pin: bool, allowed: Iterable[int] | None = None) -> CpuPlan:
    """The server on the first allowed CPU, wrk on the rest; unpinned with fewer than two.

    `allowed` defaults to the CPUs this process may run on.
    """
    cpus = sorted(os.sched_getaffinity(0) if allowed is None else allowed)
    if not pin or len(cpus) < 2:
        return CpuPlan()
    return CpuPlan(server=frozenset(cpus[:1]), wrk=frozenset(cpus[1:]))


def _parse_cpus(value: str) -> set[int]:
    return {int(part) for part in value.split(",") if part}


class Server:
    """One variant's hypercorn process, started here and stopped by its PID."""

    def __init__(
        self,
        variant: str,
        space: Workspace,
        *,
        cpus: frozenset[int] | None = None,
        timeout: float = 60.0,
        wrapper: Sequence[str] = (),
    ) -> None:
        self.variant = variant
        self.port = free_port()
        self.log = space.root / f"server-{variant}.out"
        env = space.env(
            BENCH_VARIANT=variant,
            BENCH_ROOT=str(space.root),
            AI_DIY_HOST="127.0.0.1",
            AI_DIY_PORT=str(self.port),
            PYTHONPATH=str(ROOT),
        )
        if cpus is not None:
            env["BENCH_CPUS"] = _cpu_list(cpus)
        with open(self.log, "wb") as out:
            self.popen = subprocess.Popen(  # noqa: S603  # this interpreter, an optional profiler the caller names
                [*wrapper, sys.executable, "-m", "bench.server"],
                env=env,
                cwd=space.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server {variant} did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        return int(psutil.Process(self.popen.pid).memory_info().rss)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far, all its threads."""
        times = psutil.Process(self.popen.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout)


@dataclass
class Loaded:
    """wrk results of one variant over the rounds."""

    name: str
    rps: list[float] = field(default_factory=list)
    requests: int = 0
    failed: int = 0  # non-2xx answers (a 429 would count here) and socket errors
    rss_bytes: int = 0
    cpu_us: list[float] = field(default_factory=list)  # server CPU per request, each round

    @property
    def median_rps(self) -> float:
        return statistics.median(self.rps)

    @property
    def median_cpu_us(self) -> float:
        return statistics.median(self.cpu_us)

    def as_json(self) -> dict[str, object]:
        return {
            "median_rps": round(self.median_rps, 1),
            "min_rps": round(min(self.rps), 1),
            "max_rps": round(max(self.rps), 1),
            "rounds_rps": [round(r, 1) for r in self.rps],
            "requests": self.requests,
            "failed": self.failed,
            "rss_mib": round(self.rss_bytes / 2**20, 1),
            "cpu_us_per_request": round(self.median_cpu_us, 1),
            "rounds_cpu_us": [round(c, 1) for c in self.cpu_us],
        }


def wrk(
    wrk_path: str,
    url: str,
    paths: Sequence[str],
    *,
    offset: int,
    duration: float,
    threads: int,
    connections: int,
    cpus: frozenset[int] | None = None,
) -> tuple[float, int, int]:
    """One wrk run: (requests/s, requests, failed requests)."""
    argv = [
        wrk_path,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(round(duration), 1)}s",
        "-s",
        str(LUA),
        url,
        "--",
        str(offset),
        *paths,
    ]
    pin = None if cpus is None else (lambda: os.sched_setaffinity(0, cpus))
    done = subprocess.run(  # noqa: S603  # argv is wrk and the benchmark's own options, no shell
        argv, capture_output=True, text=True, timeout=duration + 60, check=False, preexec_fn=pin
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    out = done.stdout
    rps = _RPS.search(out)
    total = _TOTAL.search(out)
    if rps is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    failed = int(m.group(1)) if (m := _NON_2XX.search(out)) else 0
    if m := _SOCKET_ERRORS.search(out):
        failed += sum(int(g) for g in m.groups())
    return float(rps.group(1)), int(total.group(1)), failed


def run_servers(
    names: Sequence[str],
    space: Workspace,
    mix: Sequence[Probe],
    *,
    wrk_path: str,
    rounds: int,
    duration: float,
    warmup: float,
    threads: int,
    connections: int,
    plan: CpuPlan = CpuPlan(),
) -> dict[str, Loaded]:
    """Median req/s and server CPU per request for each variant over interleaved wrk rounds, and RSS afterwards."""
    paths = [p.path for p in mix]
    servers: list[Server] = []
    results = {name: Loaded(name) for name in names}
    offset = 0
    load = functools.partial(wrk, wrk_path, threads=threads, connections=connections, cpus=plan.wrk)
    try:
        for name in names:
            servers.append(Server(name, space, cpus=plan.server))
        for server in servers:
            load(server.url, paths, offset=offset, duration=warmup)
        for rnd in range(rounds):
            # Each round starts further into the address range: no client repeats within a minute.
            offset = (rnd + 1) * 8192
            shift = rnd % len(servers)
            for server in servers[shift:] + servers[:shift]:
                cpu_before = server.cpu_seconds()
                rps, total, failed = load(server.url, paths, offset=offset, duration=duration)
                loaded = results[server.variant]
                loaded.cpu_us.append((server.cpu_seconds() - cpu_before) / max(total, 1) * 1e6)
                loaded.rps.append(rps)
                loaded.requests += total
                loaded.failed += failed
        for server in servers:
            results[server.variant].rss_bytes = server.rss_bytes()
    finally:
        for server in servers:
            server.stop()
    return results


def main() -> int:
    """Serve variant BENCH_VARIANT as `ai-diy serve` serves the service: its configuration, sockets and worker loop."""
    from service.server import bind_sockets, configure_process, hypercorn_config
    from service.settings import load_settings
    from service.worker import run_worker

    configure_process()  # as `ai-diy serve` does
    if cpus := os.environ.get("BENCH_CPUS"):
        # Before hypercorn starts: every thread the server makes later inherits it.
        os.sched_setaffinity(0, _parse_cpus(cpus))
    settings = load_settings(env_file=None)
    config = hypercorn_config(settings)
    from .asgi import app

    run_worker(config, bind_sockets(settings, config), drain=settings.drain_timeout, app=app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
