"""MetricsApp: Prometheus text or OpenMetrics, and the multiprocess directory."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from starlette.routing import Route

from observability import HttpMetrics, MetricsApp, prepare_multiprocess_dir
from observability.exemplars import MULTIPROC_ENV

from .conftest import AppFactory, client

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)


async def test_metrics_app_serves_prometheus_text_by_default(registry: CollectorRegistry) -> None:
    HttpMetrics(registry, namespace="ai_diy").observe("GET", "/", 200, 0.01, 0, 5)
    async with client(MetricsApp(registry, namespace="ai_diy")) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    labels = 'error_type="",http_request_method="GET",http_response_status_code="200",http_route="/",url_scheme="http"'
    assert f"http_server_request_duration_seconds_count{{{labels}}} 1.0" in response.text
    assert "process_resident_memory_bytes" in response.text
    assert "ai_diy_process_memory_limit_bytes" in response.text
    assert "ai_diy_process_threads" in response.text


async def test_metrics_app_serves_openmetrics_with_exemplars_when_asked(
    make_app: AppFactory, registry: CollectorRegistry
) -> None:
    app = make_app(
        [
            Route("/metrics", MetricsApp(registry, namespace="ai_diy")),
            Route("/ping", MetricsApp(CollectorRegistry(), namespace="ai_diy", process_metrics=False)),
        ]
    )
    async with client(app) as http:
        ping = await http.get(
            "/ping", headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
        )
        response = await http.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert ping.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    exemplars = [
        sample.exemplar.labels
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.exemplar is not None and sample.labels.get("http_route") == "/ping"
    ]
    assert exemplars == [{"trace_id": "0af7651916cd43dd8448eb211c80319c"}]


def test_prepare_multiprocess_dir_wipes_and_points_client_at_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "prom"
    target.mkdir()
    (target / "counter_123.db").write_bytes(b"stale")
    # Recorded by monkeypatch, so the variable prepare_multiprocess_dir sets is removed
    # again afterwards and later tests do not run in multiprocess mode.
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "unused"))
    prepare_multiprocess_dir(target)
    assert list(target.iterdir()) == []
    assert os.environ[MULTIPROC_ENV] == str(target)


async def test_metrics_app_head_has_headers_but_no_body(registry: CollectorRegistry) -> None:
    HttpMetrics(registry, namespace="ai_diy")
    async with client(MetricsApp(registry, namespace="ai_diy", process_metrics=False)) as http:
        response = await http.head("/metrics")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) > 0


async def test_single_process_scrape_encodes_on_the_loop_without_a_worker_thread(
    registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_thread(*args: object, **kwargs: object) -> object:
        raise AssertionError("a single-process scrape must not hop to a worker thread")

    monkeypatch.setattr(anyio.to_thread, "run_sync", no_thread)
    HttpMetrics(registry, namespace="ai_diy").observe("GET", "/", 200, 0.01, 0, 5)
    async with client(MetricsApp(registry, namespace="ai_diy")) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200 and "http_server_request_duration_seconds_count" in response.text


async def test_multiprocess_scrape_reads_the_worker_files_on_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops: list[object] = []
    real_run_sync = anyio.to_thread.run_sync

    async def counting(func: Callable[..., object], *args: object, **kwargs: Any) -> object:
        hops.append(func)
        return await real_run_sync(func, *args, **kwargs)

    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "unused"))
    prepare_multiprocess_dir(tmp_path / "metrics")
    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    async with client(MetricsApp(CollectorRegistry(), namespace="ai_diy")) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200 and len(hops) == 1
