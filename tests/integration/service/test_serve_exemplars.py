"""Two workers, one Prometheus: latency exemplars carry the trace ids of requests either worker served.

`ai-diy serve` with AI_DIY_WORKERS=2 (prometheus-client multiprocess mode), scraped
every second by a real Prometheus with `--enable-feature=exemplar-storage`. Each
request is caller-sampled (kept), on a connection of its own; the worker that served
it is the one holding the server side of that connection. An exemplar is the newest
of its bucket, so the test waits for Prometheus to store a worker's before a request
of the other can replace it.
"""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support.alerting_stack import prometheus
from tests.support.net import wait_for
from tests.support.processes import running_service

pytestmark = pytest.mark.integration

ROUTE = "/api/env"
MAX_REQUESTS = 300


def _workers(service_pid: int) -> list[psutil.Process]:
    return psutil.Process(service_pid).children(recursive=True)


def _worker_pids_in_metrics(base: str) -> set[str]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return {
        line.split('pid="', 1)[1].split('"', 1)[0]
        for line in text.splitlines()
        if line.startswith("process_resident_memory_bytes{")
    }


def _two_workers(base: str) -> set[str] | None:
    """/health answers once one worker is up; the other may still be importing."""
    pids = _worker_pids_in_metrics(base)
    return pids if len(pids) == 2 else None


def _served_by(workers: list[psutil.Process], port: int, client_port: int) -> int:
    """The worker holding the server side of the connection from `client_port`."""
    for worker in workers:
        for conn in worker.net_connections(kind="tcp"):
            if conn.laddr and conn.raddr and conn.laddr.port == port and conn.raddr.port == client_port:
                return worker.pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def _traced_request(port: int, trace_id: str, workers: list[psutil.Process]) -> int:
    """One kept request on a fresh connection; returns the pid of the worker that served it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", ROUTE, headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert connection.sock is not None  # keep-alive: the worker still holds its side
        return _served_by(workers, port, connection.sock.getsockname()[1])
    finally:
        connection.close()


def _stored_exemplars(prometheus_url: str, since: float) -> dict[str, tuple[dict[str, str], dict[str, Any]]]:
    """trace id -> (series labels, exemplar) of every exemplar Prometheus stored for ROUTE."""
    body = httpx.get(
        f"{prometheus_url}/api/v1/query_exemplars",
        params={
            "query": f'http_server_request_duration_seconds_bucket{{http_route="{ROUTE}"}}',
            "start": f"{since:.3f}",
            "end": f"{time.time() + 60:.3f}",
        },
        timeout=5,
    ).json()
    assert body["status"] == "success", body
    return {
        exemplar["labels"]["trace_id"]: (series["seriesLabels"], exemplar)
        for series in body["data"]
        for exemplar in series["exemplars"]
    }


def test_two_workers_expose_latency_exemplars_of_each_worker_to_prometheus(tmp_path: Path) -> None:
    started = time.time() - 5
    with running_service(tmp_path, AI_DIY_WORKERS="2", timeout=40) as (proc, base):
        port = int(base.rsplit(":", 1)[1])
        worker_pids = wait_for(lambda: _two_workers(base), timeout=30, what="both workers serving")
        workers = _workers(proc.pid)
        with prometheus(tmp_path, service_port=port) as prometheus_url:
            confirmed: dict[int, str] = {}
            for index in range(MAX_REQUESTS):
                trace_id = f"{index + 1:032x}"
                pid = _traced_request(port, trace_id, workers)
                if pid in confirmed:
                    continue  # this worker's exemplar already reached Prometheus: move on quickly
                # The newest exemplar of its bucket until the next request: Prometheus must store it now.

                def in_prometheus(t: str = trace_id) -> bool:
                    return t in _stored_exemplars(prometheus_url, started)

                wait_for(
                    in_prometheus,
                    timeout=30,
                    interval=0.25,
                    what=f"exemplar of {trace_id} (worker {pid}) in Prometheus",
                )
                confirmed[pid] = trace_id
                if len(confirmed) == 2:
                    break
            stored = _stored_exemplars(prometheus_url, started)
    assert len(confirmed) == 2, f"only worker(s) {sorted(confirmed)} served {MAX_REQUESTS} new connections"
    assert {str(pid) for pid in confirmed} == worker_pids
    for trace_id in confirmed.values():
        labels, exemplar = stored[trace_id]
        assert exemplar["labels"] == {"trace_id": trace_id}
        assert labels["job"] == "ai-diy" and labels["http_response_status_code"] == "200"
        # The exemplar sits on the bucket its own latency falls in.
        assert float(exemplar["value"]) <= float(labels["le"])
