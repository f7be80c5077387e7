"""/health, /health/ready, /health/live: degraded is not down, wedged is."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from service.data.store import StoreHealth
from service.health import CheckResult, Verdict
from tests.support.net import free_port

pytestmark = pytest.mark.anyio


async def _answers(app: Starlette) -> dict[str, tuple[int, dict[str, Any]]]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        return {
            path: ((r := await http.get(path)).status_code, r.json())
            for path in ("/health", "/health/ready", "/health/live")
        }


def _gauge(app: Starlette, check: str) -> float | None:
    answer: float | None = app.state.context.registry.get_sample_value("ai_diy_health_status", {"check": check})
    return answer


def test_verdict_names_degraded_and_failing_checks() -> None:
    verdict = Verdict.of(
        {
            "a": CheckResult(True, {}),
            "b": CheckResult(False, {}, degraded=True),
            "c": CheckResult(False, {}),
        }
    )
    assert (verdict.degraded, verdict.failing, verdict.ready) == (["b"], ["c"], False)
    assert Verdict.of({"b": CheckResult(False, {}, degraded=True)}).ready


async def test_health_all_passing_is_healthy_ready_and_alive(make_app: Callable[..., Starlette]) -> None:
    answers = await _answers(make_app())
    assert answers["/health"][0] == 200 and answers["/health"][1]["status"] == "healthy"
    assert answers["/health"][1]["degraded"] == [] and answers["/health"][1]["failing"] == []
    assert answers["/health/ready"] == (200, {"status": "ready", "degraded": [], "failing": []})
    assert answers["/health/live"][0] == 200 and answers["/health/live"][1]["status"] == "alive"


async def test_health_log_sink_failing_is_degraded_not_down(make_app: Callable[..., Starlette]) -> None:
    app = make_app()
    app.state.context.log_sink = SimpleNamespace(
        healthy=False, dropped={"write_error": 3}, last_error="[Errno 28] No space left on device"
    )
    answers = await _answers(app)
    assert answers["/health"][0] == 200
    assert answers["/health"][1]["status"] == "degraded" and answers["/health"][1]["degraded"] == ["log_sink"]
    assert answers["/health"][1]["checks"]["log_sink"]["status"] == "degraded"
    assert answers["/health/ready"] == (200, {"status": "ready", "degraded": ["log_sink"], "failing": []})
    assert answers["/health/live"][0] == 200
    assert _gauge(app, "log_sink") == 0 and _gauge(app, "data_store") == 1


@pytest.mark.parametrize(
    ("fail_closed", "health", "ready"), [(False, (200, "degraded"), 200), (True, (503, "unhealthy"), 503)]
)
async def test_health_lost_rate_limit_storage_is_degraded_under_fail_open_only(
    make_app: Callable[..., Starlette], fail_closed: bool, health: tuple[int, str], ready: int
) -> None:
    app = make_app(rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0", rate_limit_fail_closed=fail_closed)
    await app.state.context.rate_limiter.probe()  # nothing listens there: the storage is down
    answers = await _answers(app)
    assert (answers["/health"][0], answers["/health"][1]["status"]) == health
    assert answers["/health"][1]["checks"]["security"]["status"] == ("fail" if fail_closed else "degraded")
    assert answers["/health/ready"][0] == ready
    assert answers["/health/live"][0] == 200
    assert _gauge(app, "security") == 0


async def test_health_unreadable_data_store_is_not_ready(make_app: Callable[..., Starlette], tmp_path: Path) -> None:
    app = make_app()
    (tmp_path / "data" / "appdocs").rename(tmp_path / "elsewhere")
    (tmp_path / "data" / "appdocs").write_text("a file where the documents were")
    answers = await _answers(app)
    assert answers["/health"][0] == 503 and answers["/health"][1]["failing"] == ["data_store"]
    assert answers["/health/ready"] == (503, {"status": "not_ready", "degraded": [], "failing": ["data_store"]})
    assert answers["/health/live"][0] == 200


async def test_health_read_only_data_store_still_serving_is_degraded(
    make_app: Callable[..., Starlette], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    # The tests run as root, whom permission bits do not stop: the store reports it instead.
    monkeypatch.setattr(app.state.context.document_store, "health", lambda: StoreHealth(False, "not writable"))
    answers = await _answers(app)
    assert answers["/health"][0] == 200 and answers["/health"][1]["degraded"] == ["data_store"]
    assert answers["/health/ready"][0] == 200


async def test_health_live_is_503_only_when_worker_threads_are_wedged(make_app: Callable[..., Starlette]) -> None:
    app = make_app()
    limiter = anyio.to_thread.current_default_thread_limiter()
    release = threading.Event()
    try:
        async with anyio.create_task_group() as group:
            for _ in range(int(limiter.total_tokens)):
                group.start_soon(run_in_threadpool, release.wait, 30)
            await anyio.sleep(0.2)  # every worker thread now blocks
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                wedged = await http.get("/health/live")
                release.set()
                await anyio.sleep(0.2)
                alive = await http.get("/health/live")
    finally:
        release.set()
    assert wedged.status_code == 503 and wedged.json()["status"] == "wedged"
    assert alive.status_code == 200 and alive.json()["status"] == "alive"


async def test_openapi_describes_health_ready_and_live(make_app: Callable[..., Starlette]) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://t") as http:
        spec = (await http.get("/openapi.json")).json()
    for path, schema in (("/health", "Health"), ("/health/ready", "Readiness"), ("/health/live", "Liveness")):
        responses = spec["paths"][path]["get"]["responses"]
        assert {"200", "503"} <= set(map(str, responses)), path
        assert schema in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["Health"]["properties"]["status"]["enum"] == [
        "healthy",
        "degraded",
        "unhealthy",
    ]
