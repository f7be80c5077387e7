"""Exemplars across workers: each worker's latest per bucket in a file, merged onto the buckets at scrape time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from observability import HttpMetrics, MetricsApp
from observability import exemplars as module
from observability.exemplars import (
    MULTIPROC_ENV,
    ExemplarMerger,
    ExemplarStore,
    multiprocess_exemplar_store,
    read_exemplars,
)
from observability.metrics import DURATION_BUCKETS, DURATION_LABELS

from .conftest import client

DURATION = "http_server_request_duration_seconds"
LABELS = DURATION_LABELS
ROOT = Path(__file__).resolve().parents[3]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _store(directory: Path, pid: int, start: float = 1000.0) -> ExemplarStore:
    return ExemplarStore(DURATION, LABELS, DURATION_BUCKETS, directory, pid=pid, clock=Clock(start))


def _bucket_exemplars(text: str) -> dict[tuple[str, str], tuple[str, float]]:
    """(route, le) -> (trace id, value) of every bucket sample that carries an exemplar."""
    return {
        (sample.labels["http_route"], sample.labels["le"]): (sample.exemplar.labels["trace_id"], sample.exemplar.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.exemplar is not None
    }


def test_exemplar_store_keeps_the_latest_per_bucket_as_the_histogram_buckets_it(tmp_path: Path) -> None:
    store = _store(tmp_path, pid=11)
    store.record(("GET", "/a", 200), 0.004, "older")
    store.record(("GET", "/a", 200), 0.005, "on-the-bound")  # le is inclusive: still the 0.005 bucket
    store.record(("GET", "/a", 200), 0.3, "slow")
    store.record(("GET", "/a", 200), 60.0, "beyond-the-last-bound")
    store.record(("GET", "/a", 500), 0.3, "failed")
    assert store.flush()
    merged, labelnames = read_exemplars(tmp_path)
    assert labelnames == {DURATION: LABELS}
    found = {(labels[2], le): exemplar.labels["trace_id"] for (_, labels, le), exemplar in merged.items()}
    assert found == {
        ("200", "0.005"): "on-the-bound",
        ("200", "0.5"): "slow",
        ("200", "+Inf"): "beyond-the-last-bound",
        ("500", "0.5"): "failed",
    }
    assert [p.name for p in tmp_path.iterdir()] == [f"exemplars_{DURATION}_11.json"]


def test_exemplar_store_writes_only_when_something_changed(tmp_path: Path) -> None:
    store = _store(tmp_path, pid=12)
    assert not store.flush() and not store.path.exists()  # nothing recorded, nothing written
    store.record(("GET", "/a", 200), 0.01, "t1")
    assert store.flush()
    assert not store.flush()
    assert json.loads(store.path.read_text())["exemplars"][0][2] == "t1"


def test_read_exemplars_keeps_the_newest_of_every_worker_per_bucket(tmp_path: Path) -> None:
    early, late = _store(tmp_path, pid=21, start=1000.0), _store(tmp_path, pid=22, start=2000.0)
    early.record(("GET", "/a", 200), 0.01, "early-shared")
    late.record(("GET", "/a", 200), 0.01, "late-shared")
    early.record(("GET", "/b", 200), 0.01, "early-only")
    early.flush()
    late.flush()
    (tmp_path / "exemplars_broken_23.json").write_text('{"metric": ')  # a file cut short is skipped
    merged, _ = read_exemplars(tmp_path)
    found = {labels[1]: exemplar.labels["trace_id"] for (_, labels, _), exemplar in merged.items()}
    assert found == {"/a": "late-shared", "/b": "early-only"}


def test_exemplar_merger_puts_recorded_trace_ids_on_the_openmetrics_buckets(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry, namespace="ai_diy")
    store = _store(tmp_path, pid=31)
    # What HttpMetrics.observe adds in multiprocess mode, for a kept trace only:
    #     if self.exemplars is not None: self.exemplars.record(key, duration, trace_id)
    # with key = (method, route, status, scheme, error type); here the registry keeps no exemplar itself.
    for route, duration, trace_id in [("/a", 0.03, "a" * 32), ("/b", 0.7, "b" * 32)]:
        metrics.observe("GET", route, 200, duration, 0, 10)
        store.record(("GET", route, 200, "http", ""), duration, trace_id)
    metrics.observe("GET", "/untraced", 200, 0.03, 0, 10)
    store.flush()

    merged_registry = CollectorRegistry()
    merged_registry.register(ExemplarMerger(registry, tmp_path))
    text = generate_latest(merged_registry).decode()
    assert _bucket_exemplars(text) == {("/a", "0.05"): ("a" * 32, 0.03), ("/b", "1.0"): ("b" * 32, 0.7)}
    assert _bucket_exemplars(generate_latest(registry).decode()) == {}  # the store, not the histogram, held them


def test_multiprocess_exemplar_store_exists_only_in_multiprocess_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "_stores", {})
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    assert multiprocess_exemplar_store(DURATION, LABELS, DURATION_BUCKETS) is None
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    store = multiprocess_exemplar_store(DURATION, LABELS, DURATION_BUCKETS)
    assert store is not None
    try:
        assert store.pid == os.getpid()
        assert multiprocess_exemplar_store(DURATION, LABELS, DURATION_BUCKETS) is store  # one file per worker
        with pytest.raises(ValueError):
            multiprocess_exemplar_store(DURATION, ("other",), DURATION_BUCKETS)
        store.record(("GET", "/a", 200), 0.01, "t1")
    finally:
        store.stop()  # writes what is left
    assert store.path.parent == tmp_path and store.path.exists()


WORKER = textwrap.dedent(
    """
    import sys
    from prometheus_client import CollectorRegistry
    from observability import HttpMetrics
    from observability.exemplars import multiprocess_exemplar_store
    from observability.metrics import DURATION_BUCKETS, DURATION_LABELS

    trace_id, duration = sys.argv[1], float(sys.argv[2])
    metrics = HttpMetrics(CollectorRegistry(), namespace="ai_diy")
    store = multiprocess_exemplar_store("http_server_request_duration_seconds", DURATION_LABELS, DURATION_BUCKETS)
    metrics.observe("GET", "/work", 200, duration, 0, 10, trace_id)
    # What HttpMetrics.observe does with a kept trace id:
    store.record(("GET", "/work", 200, "http", ""), duration, trace_id)
    store.stop()
    """
)


@pytest.mark.integration
@pytest.mark.anyio
async def test_multiprocess_scrape_carries_exemplars_of_every_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "multiproc"
    directory.mkdir()
    env = {**os.environ, MULTIPROC_ENV: str(directory), "PYTHONPATH": str(ROOT)}
    # Two real worker processes in multiprocess mode: their values land in the .db files, not their exemplars.
    for trace_id, duration in [("1" * 32, 0.02), ("2" * 32, 0.2)]:
        subprocess.run([sys.executable, "-c", WORKER, trace_id, str(duration)], env=env, check=True, timeout=60)  # noqa: ASYNC221  # before any request: nothing waits on the loop
    monkeypatch.setenv(MULTIPROC_ENV, str(directory))
    async with client(MetricsApp(CollectorRegistry(), namespace="ai_diy", process_metrics=False)) as http:
        response = await http.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert response.status_code == 200
    assert _bucket_exemplars(response.text) == {
        ("/work", "0.025"): ("1" * 32, 0.02),
        ("/work", "0.25"): ("2" * 32, 0.2),
    }
    counts = [
        s.value
        for f in text_string_to_metric_families(response.text)
        for s in f.samples
        if s.name == f"{DURATION}_count"
    ]
    assert counts == [2.0]
