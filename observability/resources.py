"""Process resources: Prometheus collectors and a snapshot for logs and status pages.

Memory percent is RSS over the memory limit the process really has: the cgroup v2
`memory.max`, else cgroup v1 `memory.limit_in_bytes`, else the host's total memory.
In a container the host total would make 90 % of the cgroup limit look like 10 %.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import CollectorRegistry, ProcessCollector, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

CGROUP_ROOT = Path("/sys/fs/cgroup")
# cgroup v1 reports "no limit" as a huge page-aligned number.
_V1_UNLIMITED = 1 << 60


def _read_limit(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if not text or text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 < value < _V1_UNLIMITED else None


def _own_cgroup_v2(proc_cgroup: Path) -> str:
    try:
        for line in proc_cgroup.read_text().splitlines():
            if line.startswith("0::"):
                return line[3:].strip()
    except OSError:
        pass
    return "/"


def memory_limit_bytes(
    cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup"), *, budget: int | None = None
) -> int:
    """The memory limit of this process: cgroup v2, then cgroup v1, then host total; `budget` when lower."""
    host_total = psutil.virtual_memory().total
    if budget is not None:
        host_total = min(host_total, budget)
    own = _own_cgroup_v2(proc_cgroup).strip("/")
    candidates = [cgroup_root / own / "memory.max"] if own else []
    candidates += [cgroup_root / "memory.max", cgroup_root / "memory" / "memory.limit_in_bytes"]
    for candidate in candidates:
        limit = _read_limit(candidate)
        if limit is not None:
            return min(limit, host_total)
    return host_total


class ResourceSampler:
    """Snapshots of one process's memory, CPU, threads and files (psutil)."""

    def __init__(
        self, pid: int | None = None, *, memory_limit: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._process = psutil.Process(pid)
        self._limit = memory_limit or memory_limit_bytes()
        self._created = self._process.create_time()
        self._clock = clock
        self._recent: dict[str, Any] | None = None
        self._recent_at = 0.0
        # cpu_percent(None) compares with the previous call; prime it.
        self._process.cpu_percent(None)

    def snapshot(self) -> dict[str, Any]:
        """{memory_mb, memory_percent, cpu_percent, threads, open_files, uptime_seconds}."""
        with self._process.oneshot():
            rss = self._process.memory_info().rss
            cpu = self._process.cpu_percent(None)
            threads = self._process.num_threads()
            try:
                files = self._process.num_fds()
            except (AttributeError, psutil.Error):  # not on Windows
                files = len(self._process.open_files())
        return {
            "memory_mb": round(rss / 1_048_576, 1),
            "memory_percent": round(100.0 * rss / self._limit, 2),
            "cpu_percent": round(cpu, 1),
            "threads": threads,
            "open_files": files,
            "uptime_seconds": round(time.time() - self._created, 1),
        }

    def recent(self, max_age: float = 1.0) -> dict[str, Any]:
        """The last snapshot if it is younger than `max_age` seconds, else a new one.

        A snapshot is a few /proc reads (under 0.1 ms), cheap enough for the event
        loop: a status page calls this directly. Handing it to a worker thread instead
        costs far more under load, because each of those reads gives up the GIL and
        the worker then queues behind the busy loop to get it back (measured: 260 ms
        per status request at full load). The cache bounds the cost to one snapshot
        per `max_age`, however often the page is polled.
        """
        now = self._clock()
        if self._recent is None or now - self._recent_at >= max_age:
            self._recent, self._recent_at = self.snapshot(), now
        return dict(self._recent)


_default_sampler: ResourceSampler | None = None


def snapshot() -> dict[str, Any]:
    """Snapshot of the current process (CPU percent since the previous call)."""
    global _default_sampler  # noqa: PLW0603  # one sampler per process, made again in a forked child
    if _default_sampler is None or _default_sampler._process.pid != os.getpid():
        _default_sampler = ResourceSampler()
    return _default_sampler.snapshot()


class ProcessExtrasCollector(Collector):
    """`<ns>_process_threads` and `<ns>_process_memory_limit_bytes` of this process."""

    def __init__(self, namespace: str, *, memory_budget: int | None = None) -> None:
        self._namespace = namespace
        self._limit = memory_limit_bytes(budget=memory_budget)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            f"{self._namespace}_process_threads", "OS threads.", value=psutil.Process().num_threads()
        )
        yield GaugeMetricFamily(
            f"{self._namespace}_process_memory_limit_bytes",
            "cgroup memory limit when set, else host total memory; the configured budget when lower.",
            value=self._limit,
        )


def register_process_metrics(registry: CollectorRegistry, namespace: str, *, memory_budget: int | None = None) -> None:
    """Single-process resource metrics: prometheus-client's ProcessCollector plus extras."""
    ProcessCollector(registry=registry)
    registry.register(ProcessExtrasCollector(namespace, memory_budget=memory_budget))


class WorkerProcessCollector(Collector):
    """Resource metrics of every live worker, each with a `pid` label.

    Multiprocess mode cannot aggregate custom collectors, so each worker leaves its
    pid in `<multiprocess dir>/workers/` and whichever worker answers the scrape reads
    all of them with psutil.
    """

    def __init__(self, directory: str | Path, namespace: str, *, memory_budget: int | None = None) -> None:
        self._workers = Path(directory) / "workers"
        self._namespace = namespace
        self._limit = memory_limit_bytes(budget=memory_budget)

    def _live(self) -> Iterable[psutil.Process]:
        for entry in sorted(self._workers.glob("*")):
            try:
                pid, created = int(entry.name), float(entry.read_text())
                process = psutil.Process(pid)
                if abs(process.create_time() - created) > 1.0:
                    raise psutil.NoSuchProcess(pid)  # the pid was reused
            except (ValueError, OSError, psutil.Error):
                # Dead worker: drop its pid and its live-gauge files.
                entry.unlink(missing_ok=True)
                if entry.name.isdigit():
                    multiprocess.mark_process_dead(int(entry.name), str(self._workers.parent))
                continue
            yield process

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        ns = self._namespace
        rss = GaugeMetricFamily("process_resident_memory_bytes", "Resident memory size in bytes.", labels=["pid"])
        cpu = CounterMetricFamily(
            "process_cpu_seconds_total", "Total user and system CPU time in seconds.", labels=["pid"]
        )
        fds = GaugeMetricFamily("process_open_fds", "Number of open file descriptors.", labels=["pid"])
        max_fds = GaugeMetricFamily("process_max_fds", "Maximum number of open file descriptors.", labels=["pid"])
        start = GaugeMetricFamily(
            "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", labels=["pid"]
        )
        threads = GaugeMetricFamily(f"{ns}_process_threads", "OS threads.", labels=["pid"])
        limit = GaugeMetricFamily(
            f"{ns}_process_memory_limit_bytes",
            "cgroup memory limit when set, else host total memory; the configured budget when lower.",
            labels=["pid"],
        )
        for process in self._live():
            pid = str(process.pid)
            try:
                with process.oneshot():
                    times = process.cpu_times()
                    rss.add_metric([pid], process.memory_info().rss)
                    cpu.add_metric([pid], times.user + times.system)
                    fds.add_metric([pid], process.num_fds())
                    max_fds.add_metric([pid], process.rlimit(psutil.RLIMIT_NOFILE)[0])
                    start.add_metric([pid], process.create_time())
                    threads.add_metric([pid], process.num_threads())
                    limit.add_metric([pid], self._limit)
            except psutil.Error:
                continue  # exited between listing and reading
        yield from (rss, cpu, fds, max_fds, start, threads, limit)


def register_worker(directory: str | Path, pid: int | None = None) -> None:
    """Leave this worker's pid (and start time, against pid reuse) for WorkerProcessCollector."""
    process = psutil.Process(pid)
    workers = Path(directory) / "workers"
    workers.mkdir(parents=True, exist_ok=True)
    (workers / str(process.pid)).write_text(repr(process.create_time()))
