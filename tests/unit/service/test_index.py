"""GET /: the service's name, version and where to go next; not rate limited, with the security headers."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette

from service import __version__

pytestmark = pytest.mark.anyio


async def test_index_names_the_service_and_links_health_openapi_metrics_and_docs(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "AI-DIY API" and body["version"] == __version__
    links = body["links"]
    assert {key: links[key] for key in ("health", "openapi", "metrics")} == {
        "health": "/health",
        "openapi": "/openapi.json",
        "metrics": "/metrics",
    }
    assert links["docs"].startswith("https://")
    for key in ("health", "openapi", "metrics"):
        assert (await client.get(links[key])).status_code == 200, key


async def test_index_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    headers = (await client.get("/")).headers
    assert headers["x-content-type-options"] == "nosniff"
    assert "x-frame-options" in headers


async def test_index_is_not_rate_limited(make_app: Callable[..., Starlette]) -> None:
    app = make_app(rate_limit="2/minute")
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        statuses = [(await http.get("/")).status_code for _ in range(5)]
        api = [(await http.get("/api/env")).status_code for _ in range(3)]
    assert statuses == [200] * 5
    assert api[-1] == 429, "the limit itself is in force"


async def test_index_points_metrics_at_the_metrics_port_when_one_is_set(make_app: Callable[..., Starlette]) -> None:
    app = make_app(metrics_port=9464)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t:8000") as http:
        body = (await http.get("/")).json()
    assert body["links"]["metrics"] == "http://t:9464/metrics"


async def test_index_is_described_in_openapi(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Index"
    }
