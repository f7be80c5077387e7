"""/admin/faults and the request hook, on a small app built from the production route module and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.faults import admin
from service.faults.hook import FaultInjection
from service.faults.registry import FaultKind, FaultRegistry
from service.security.events import SecurityEvents

TOKEN = "drill-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = pytest.mark.anyio


async def _ok(_: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def registry() -> FaultRegistry:
    return FaultRegistry(frozenset({"config"}))


@pytest.fixture
async def client(registry: FaultRegistry) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(
        routes=[
            Route("/api/env", _ok),
            Route("/health", _ok),
            *admin.routes(registry, TOKEN, events=SecurityEvents(CollectorRegistry())),
        ],
        middleware=[Middleware(FaultInjection, registry=registry)],
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def audit_lines() -> Iterator[list[logging.LogRecord]]:
    handler = Lines()
    logger = logging.getLogger("ai_diy.audit")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/admin/faults"), ("PUT", "/admin/faults/latency"), ("DELETE", "/admin/faults")],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
async def test_admin_refuses_requests_without_the_admin_token(
    client: httpx.AsyncClient, registry: FaultRegistry, method: str, path: str, headers: dict[str, str]
) -> None:
    response = await client.request(method, path, headers=headers, json={"value": 1, "seconds": 10})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert not registry.armed


async def test_admin_switches_a_fault_on_and_off_with_an_audit_line_each(
    client: httpx.AsyncClient, registry: FaultRegistry, audit_lines: list[logging.LogRecord]
) -> None:
    response = await client.put("/admin/faults/error_ratio", headers=AUTH, json={"value": 1, "seconds": 60})
    assert response.status_code == 200
    assert [fault["kind"] for fault in response.json()["faults"]] == ["error_ratio"]
    assert (await client.get("/api/env")).status_code == 500
    assert (await client.get("/api/env")).json()["error"]["code"] == "fault_injected"
    assert (await client.get("/health")).status_code == 200, "only /api/* is made to fail"
    assert (await client.delete("/admin/faults/error_ratio", headers=AUTH)).json() == {"faults": []}
    assert (await client.get("/api/env")).status_code == 200
    assert [(r.getMessage(), r.__dict__["details"]["fault"]) for r in audit_lines] == [
        ("fault switched on", "error_ratio"),
        ("fault switched off", "error_ratio"),
    ]
    assert audit_lines[0].__dict__["details"]["value"] == 1.0


async def test_admin_delete_all_ends_every_fault(client: httpx.AsyncClient, registry: FaultRegistry) -> None:
    await client.put("/admin/faults/latency", headers=AUTH, json={"value": 0.01, "seconds": 60})
    await client.put("/admin/faults/memory_ballast", headers=AUTH, json={"value": 1, "seconds": 60})
    assert len((await client.get("/admin/faults", headers=AUTH)).json()["faults"]) == 2
    assert (await client.delete("/admin/faults", headers=AUTH)).json() == {"faults": []}
    assert not registry.armed and registry.ballast_bytes() == 0


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/admin/faults/disk_full", {"value": 1, "seconds": 10}, 404, "unknown_fault"),
        ("/admin/faults/error_ratio", {"value": 2, "seconds": 10}, 400, "invalid_fault"),
        ("/admin/faults/error_ratio", {"value": 0.5}, 400, "invalid_fault"),
        ("/admin/faults/health_failing", {"value": "disk", "seconds": 10}, 400, "invalid_fault"),
    ],
)
async def test_admin_refuses_bad_switches_with_a_json_error(
    client: httpx.AsyncClient, registry: FaultRegistry, path: str, body: dict[str, object], status: int, code: str
) -> None:
    response = await client.put(path, headers=AUTH, json=body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not registry.armed


async def test_admin_refuses_a_body_that_is_not_json(client: httpx.AsyncClient) -> None:
    response = await client.put("/admin/faults/latency", headers=AUTH, content=b"{not json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"


def test_admin_routes_need_a_token() -> None:
    with pytest.raises(ValueError, match="needs an admin token"):
        admin.routes(FaultRegistry(), "", events=SecurityEvents(CollectorRegistry()))


async def test_hook_fails_exactly_the_share_of_api_requests(client: httpx.AsyncClient, registry: FaultRegistry) -> None:
    registry.switch_on(FaultKind.ERROR_RATIO, 0.5, 60)
    statuses = [(await client.get("/api/env")).status_code for _ in range(10)]
    assert statuses.count(500) == 5 and statuses.count(200) == 5


async def test_hook_adds_latency_to_api_requests(
    client: httpx.AsyncClient, registry: FaultRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("service.faults.hook.asyncio.sleep", sleep)
    registry.switch_on(FaultKind.LATENCY, 0.2, 60)
    assert (await client.get("/api/env")).status_code == 200
    assert (await client.get("/health")).status_code == 200
    assert slept == [0.2], "only /api/* requests are delayed"
