"""Process resources: the memory limit, snapshots, per-worker collection."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from prometheus_client import CollectorRegistry

from observability.resources import (
    ResourceSampler,
    WorkerProcessCollector,
    memory_limit_bytes,
    register_process_metrics,
    register_worker,
    snapshot,
)

HOST_TOTAL = psutil.virtual_memory().total


def cgroup_files(tmp_path: Path, files: dict[str, str], own: str = "/") -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)
    proc = tmp_path / "proc_cgroup"
    proc.write_text(f"0::{own}\n")
    return root, proc


def test_memory_limit_reads_cgroup_v2_of_own_group(tmp_path: Path) -> None:
    root, proc = cgroup_files(
        tmp_path, {"app.slice/memory.max": "268435456\n", "memory.max": "max\n"}, own="/app.slice"
    )
    assert memory_limit_bytes(root, proc) == min(268435456, HOST_TOTAL)


def test_memory_limit_unlimited_v2_falls_back_to_host_total(tmp_path: Path) -> None:
    root, proc = cgroup_files(tmp_path, {"memory.max": "max\n"})
    assert memory_limit_bytes(root, proc) == HOST_TOTAL


def test_memory_limit_reads_cgroup_v1(tmp_path: Path) -> None:
    root, proc = cgroup_files(tmp_path, {"memory/memory.limit_in_bytes": "134217728\n"})
    assert memory_limit_bytes(root, proc) == min(134217728, HOST_TOTAL)


def test_memory_limit_v1_unlimited_means_host_total(tmp_path: Path) -> None:
    root, proc = cgroup_files(tmp_path, {"memory/memory.limit_in_bytes": "9223372036854771712\n"})
    assert memory_limit_bytes(root, proc) == HOST_TOTAL


def test_snapshot_reports_process_usage() -> None:
    usage = snapshot()
    assert set(usage) == {"memory_mb", "memory_percent", "cpu_percent", "threads", "open_files", "uptime_seconds"}
    rss_mb = psutil.Process().memory_info().rss / 1_048_576
    assert usage["memory_mb"] == pytest.approx(rss_mb, rel=0.2)
    assert 0 < usage["memory_percent"] <= 100
    assert usage["threads"] >= 1 and usage["open_files"] >= 3


def test_sampler_memory_percent_is_rss_over_limit() -> None:
    limit = 4 * 1024**3
    usage = ResourceSampler(memory_limit=limit).snapshot()
    assert usage["memory_percent"] == pytest.approx(100 * usage["memory_mb"] * 1_048_576 / limit, rel=0.05)


def test_recent_reuses_a_snapshot_younger_than_max_age_and_takes_a_new_one_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    sampler = ResourceSampler(memory_limit=4 * 1024**3, clock=lambda: now[0])
    taken: list[dict[str, object]] = []
    original = sampler.snapshot

    def counting_snapshot() -> dict[str, object]:
        taken.append(original())
        return taken[-1]

    monkeypatch.setattr(sampler, "snapshot", counting_snapshot)
    first = sampler.recent(max_age=1.0)
    now[0] += 0.5
    assert sampler.recent(max_age=1.0) == first and len(taken) == 1
    first["memory_mb"] = -1  # a caller's copy cannot change what the next caller sees
    assert sampler.recent(max_age=1.0)["memory_mb"] != -1
    now[0] += 0.6
    sampler.recent(max_age=1.0)
    assert len(taken) == 2


def test_process_metrics_registered_on_given_registry(registry: CollectorRegistry) -> None:
    register_process_metrics(registry, "ai_diy")
    assert registry.get_sample_value("process_resident_memory_bytes") == pytest.approx(
        psutil.Process().memory_info().rss, rel=0.2
    )
    assert (registry.get_sample_value("process_open_fds") or 0) >= 3
    assert (registry.get_sample_value("ai_diy_process_threads") or 0) >= 1
    assert registry.get_sample_value("ai_diy_process_memory_limit_bytes") == memory_limit_bytes()


@pytest.mark.integration
def test_worker_collector_labels_live_workers_and_forgets_dead(tmp_path: Path, registry: CollectorRegistry) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    register_worker(tmp_path, dead.pid)
    dead.wait(10)
    register_worker(tmp_path)
    registry.register(WorkerProcessCollector(tmp_path, "ai_diy"))
    me = str(os.getpid())
    assert (registry.get_sample_value("process_resident_memory_bytes", {"pid": me}) or 0) > 0
    assert (registry.get_sample_value("process_cpu_seconds_total", {"pid": me}) or 0) > 0
    assert (registry.get_sample_value("ai_diy_process_threads", {"pid": me}) or 0) >= 1
    assert registry.get_sample_value("process_resident_memory_bytes", {"pid": str(dead.pid)}) is None
    assert sorted(p.name for p in (tmp_path / "workers").iterdir()) == [me]
