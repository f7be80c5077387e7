"""Fault injection as wired: absent unless enabled, never in production, each fault felt where its alert looks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from observability.errors import ConfigError
from service.cli import main
from service.settings import load_settings

pytestmark = pytest.mark.anyio
TOKEN = "drill-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _serving(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def drilled(make_app: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _serving(make_app(fault_injection=True, admin_token=TOKEN)):
        yield http


@pytest.fixture
async def shipped(make_app: Callable[..., Starlette]) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _serving(make_app(admin_token=TOKEN)):
        yield http


async def _sample(http: httpx.AsyncClient, name: str, **labels: str) -> float:
    text = (await http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"{name}{labels} not exposed")


async def _switch(http: httpx.AsyncClient, kind: str, value: object, seconds: float = 60) -> httpx.Response:
    return await http.put(f"/admin/faults/{kind}", headers=AUTH, json={"value": value, "seconds": seconds})


async def test_fault_endpoint_is_absent_not_refused_when_injection_is_off(shipped: httpx.AsyncClient) -> None:
    for method in ("GET", "DELETE"):
        assert (await shipped.request(method, "/admin/faults", headers=AUTH)).status_code == 404
    assert (await _switch(shipped, "error_ratio", 1)).status_code == 404
    assert (await shipped.get("/api/env")).status_code == 200


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"app_env": "PRODUCTION", "admin_token": TOKEN},
            "AI_DIY_FAULT_INJECTION: expected false when AI_DIY_APP_ENV=PRODUCTION",
        ),
        ({}, "AI_DIY_FAULT_INJECTION: expected false without AI_DIY_ADMIN_TOKEN"),
    ],
)
def test_fault_injection_is_refused_in_production_and_without_an_admin_token(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(env_file=None, fault_injection=True, **env)
    assert [line for line in refused.value.problems if line.startswith(message)], refused.value.problems


def test_validate_config_exits_2_with_one_line_for_fault_injection_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], free_api_port: int
) -> None:
    monkeypatch.setenv("AI_DIY_APP_ENV", "PRODUCTION")
    monkeypatch.setenv("AI_DIY_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("AI_DIY_FAULT_INJECTION", "true")
    assert main(["validate-config"]) == 2
    said = [line for line in capsys.readouterr().err.splitlines() if "AI_DIY_FAULT_INJECTION" in line]
    assert len(said) == 1 and "PRODUCTION" in said[0]


async def test_error_ratio_fails_api_requests_that_the_request_metrics_count(drilled: httpx.AsyncClient) -> None:
    assert (await _switch(drilled, "error_ratio", 1)).status_code == 200
    failed = await drilled.get("/api/env")
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "fault_injected"
    assert failed.headers["x-content-type-options"] == "nosniff", "an injected error leaves like a real one"
    assert (await drilled.get("/health/live")).status_code == 200, "only /api/* fails"
    errors = await _sample(
        drilled,
        "http_server_request_duration_seconds_count",
        http_route="/api/env",
        http_response_status_code="500",
        error_type="500",
    )
    assert errors == 1
    assert (await drilled.delete("/admin/faults/error_ratio", headers=AUTH)).json() == {"faults": []}
    assert (await drilled.get("/api/env")).status_code == 200


async def test_failing_health_check_fails_health_and_its_gauge(drilled: httpx.AsyncClient) -> None:
    assert (await _switch(drilled, "health_failing", "data_store")).status_code == 200
    assert (await drilled.get("/health")).json()["checks"]["data_store"]["status"] != "ok"
    assert await _sample(drilled, "ai_diy_health_status", check="data_store") == 0
    assert (await drilled.delete("/admin/faults", headers=AUTH)).status_code == 200
    assert (await drilled.get("/health")).json()["checks"]["data_store"]["status"] == "ok"
    assert await _sample(drilled, "ai_diy_health_status", check="data_store") == 1


async def test_unreachable_rate_limit_storage_marks_security_inactive_until_switched_off(
    drilled: httpx.AsyncClient,
) -> None:
    assert await _sample(drilled, "ai_diy_security_active") == 1
    assert (await _switch(drilled, "rate_limit_storage_unreachable", True)).status_code == 200
    assert (await drilled.get("/api/env")).status_code == 200, "fail-open: requests are still answered"
    assert await _sample(drilled, "ai_diy_security_active") == 0
    assert await _sample(drilled, "ai_diy_rate_limiter_errors_total") >= 1
    await drilled.delete("/admin/faults/rate_limit_storage_unreachable", headers=AUTH)
    assert await _sample(drilled, "ai_diy_security_active") == 1
    assert (await drilled.get("/api/env")).headers.get("retry-after") is None


async def test_blocked_log_sink_drops_and_counts_lines_beyond_its_room(drilled: httpx.AsyncClient) -> None:
    assert (await _switch(drilled, "log_sink_blocked", 0)).status_code == 200
    for _ in range(5):
        await drilled.get("/api/env")
    assert await _sample(drilled, "ai_diy_log_lines_dropped_total", reason="queue_full") >= 5
    await drilled.delete("/admin/faults/log_sink_blocked", headers=AUTH)
    before = await _sample(drilled, "ai_diy_log_lines_dropped_total", reason="queue_full")
    await drilled.get("/api/env")
    assert await _sample(drilled, "ai_diy_log_lines_dropped_total", reason="queue_full") == before


async def test_fault_values_out_of_bounds_get_a_400_naming_the_bound(drilled: httpx.AsyncClient) -> None:
    refused = await _switch(drilled, "log_sink_blocked", 20_000)
    assert refused.status_code == 400 and "from 0 to 10000" in refused.json()["error"]["message"]
    refused = await _switch(drilled, "rate_limit_storage_unreachable", "yes")
    assert refused.status_code == 400 and "expected true" in refused.json()["error"]["message"]
    assert (await drilled.get("/admin/faults", headers=AUTH)).json() == {"faults": []}


async def test_memory_budget_is_the_limit_the_memory_gauges_measure_against(
    make_app: Callable[..., Starlette],
) -> None:
    async for http in _serving(make_app(memory_limit_mib=64)):
        assert await _sample(http, "ai_diy_process_memory_limit_bytes") == 64 * 1024 * 1024
        assert (await http.get("/api/env")).status_code == 200


async def test_fault_endpoint_refuses_a_wrong_token_as_an_auth_failure(drilled: httpx.AsyncClient) -> None:
    wrong = {"Authorization": "Bearer not-the-token"}
    refused = await drilled.put("/admin/faults/error_ratio", headers=wrong, json={"value": 1, "seconds": 60})
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert (await drilled.get("/admin/faults")).status_code == 401
    assert await _sample(drilled, "ai_diy_auth_failures_total") == 2
    assert (await drilled.get("/api/env")).status_code == 200, "nothing was switched on"
