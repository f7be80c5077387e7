"""/metrics of the real server: several workers, a separate port, the trace-id correlation."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.net import free_port, wait_for
from tests.support.processes import running_service

pytestmark = pytest.mark.integration


def _fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode()


def _request_count(metrics_text: str, route: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "http_server_request_duration_seconds_count" and sample.labels["http_route"] == route:
                total += sample.value
    return total


def _scrape_counting(url: str, route: str, requests: int, headers: dict[str, str] | None = None) -> str:
    """A scrape of `url` once `requests` requests to `route` are counted.

    A request is counted just after its last response byte, so a scrape sent as soon
    as the answer arrived can be served before that (by another worker, or first).
    """
    return wait_for(
        lambda: text if _request_count(text := _fetch(url, headers)[2], route) >= requests else None,
        timeout=10,
        what=f"{requests} requests to {route} counted",
    )


def _worker_pids(metrics_text: str) -> set[int]:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "process_resident_memory_bytes":
            return {int(s.labels["pid"]) for s in family.samples}
    return set()


def test_metrics_of_two_workers_count_every_request_and_both_pids(tmp_path: Path) -> None:
    with running_service(tmp_path, AI_DIY_WORKERS="2", timeout=40) as (_proc, base):
        # /health answers as soon as one worker is up; the other may still be importing.
        deadline = time.monotonic() + 30
        served_by = _worker_pids(_fetch(f"{base}/metrics")[2])
        while len(served_by) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            served_by = _worker_pids(_fetch(f"{base}/metrics")[2])
        assert len(served_by) == 2, f"expected one series per worker, got pids {served_by}"
        for _ in range(60):
            assert _fetch(f"{base}/health")[0] == 200
        text = _scrape_counting(f"{base}/metrics", "/health", 60)
        assert _request_count(text, "/health") == 60
        assert _worker_pids(text) == served_by


def test_metrics_on_a_separate_port_leave_the_api_port_without_them(tmp_path: Path) -> None:
    metrics_port = free_port()
    with running_service(tmp_path, AI_DIY_METRICS_PORT=str(metrics_port)) as (_proc, base):
        assert _fetch(f"{base}/api/env")[0] == 200
        status, _, body = _fetch(f"{base}/metrics")
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
        text = _scrape_counting(f"http://127.0.0.1:{metrics_port}/metrics", "/api/env", 1)
        assert _request_count(text, "/api/env") == 1
        assert _fetch(f"http://127.0.0.1:{metrics_port}/api/env")[0] == 404


def test_one_request_carries_the_same_trace_id_in_log_and_exemplar(tmp_path: Path) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    with running_service(tmp_path) as (_proc, base):
        assert _fetch(f"{base}/api/env", {"traceparent": traceparent})[0] == 200
        openmetrics = {"Accept": "application/openmetrics-text; version=1.0.0"}
        text = _scrape_counting(f"{base}/metrics", "/api/env", 1, openmetrics)
        assert _fetch(f"{base}/metrics", openmetrics)[1]["content-type"].startswith("application/openmetrics-text")
    assert f'{{trace_id="{trace_id}"}}' in "\n".join(
        line for line in text.splitlines() if 'http_route="/api/env"' in line and "_bucket" in line
    )
    log_file = next((tmp_path / "logs").glob("ai_diy_api_*.jsonl"))
    access = [json.loads(line) for line in log_file.read_text().splitlines()]
    env_lines = [line for line in access if line.get("route") == "/api/env"]
    assert len(env_lines) == 1 and env_lines[0]["trace_id"] == trace_id


def test_served_metrics_carry_no_created_series(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_proc, base):
        assert _fetch(f"{base}/api/env")[0] == 200
        text = _scrape_counting(f"{base}/metrics", "/api/env", 1)
        openmetrics = _fetch(f"{base}/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})[2]
    assert "http_server_request_duration_seconds_count" in text
    assert [line for line in (text + openmetrics).splitlines() if "_created" in line] == []
