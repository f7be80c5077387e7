"""Two hypercorn workers, one /metrics: prometheus-client multiprocess mode."""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.net import wait_for

from .conftest import hypercorn_server

pytestmark = pytest.mark.integration


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def _route_count(text: str, route: str = "/pid") -> float:
    [count] = [
        value
        for labels, value in samples(text, "http_server_request_duration_seconds_count")
        if labels["http_route"] == route
    ] or [0.0]
    return count


def test_two_workers_metrics_aggregate_requests_of_both(tmp_path: Path) -> None:
    multiproc = tmp_path / "prometheus-multiproc"
    multiproc.mkdir()
    (multiproc / "counter_99999.db").write_bytes(b"left over from the previous start")
    served_by: dict[int, int] = {}
    with hypercorn_server(tmp_path, workers=2, multiproc_dir=multiproc) as (proc, base):
        # New connection per request so the kernel hands them to either worker.
        for _ in range(500):
            pid = httpx.get(f"{base}/pid", timeout=5).json()["pid"]
            served_by[pid] = served_by.get(pid, 0) + 1
            if len(served_by) == 2 and sum(served_by.values()) >= 20:
                break
        assert len(served_by) == 2, f"one worker served everything: {served_by}"
        # Each request is counted (and leaves the in-flight gauge) just after its last
        # byte, by its own worker: the scrape, maybe served by the other, waits for that.
        total = sum(served_by.values())
        text = wait_for(
            lambda: scrape if _route_count(scrape := httpx.get(f"{base}/metrics", timeout=10).text) >= total else None,
            timeout=10,
            what=f"{total} /pid requests counted",
        )
        workers = {child.pid for child in psutil.Process(proc.pid).children(recursive=True)}
    assert not (multiproc / "counter_99999.db").exists()
    assert _route_count(text) == total
    rss_pids = {int(labels["pid"]) for labels, _ in samples(text, "process_resident_memory_bytes")}
    assert rss_pids == set(served_by) and set(served_by) <= workers
    assert {int(labels["pid"]) for labels, _ in samples(text, "process_cpu_seconds_total")} == set(served_by)
    assert {labels["pid"] for labels, _ in samples(text, "ai_diy_process_threads")} == {str(p) for p in served_by}
    [(_, active)] = samples(text, "http_server_active_requests")
    assert active == 1  # the scrape itself, summed over live workers
    wait_for(lambda: not any(psutil.pid_exists(p) for p in served_by), timeout=15, what="workers gone")
