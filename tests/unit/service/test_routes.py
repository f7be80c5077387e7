from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from service.data.store import STATUS_MAX_AGE, DocumentStore
from tests.support.net import free_port

pytestmark = pytest.mark.anyio


async def test_health_reports_every_check_and_the_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["version"] and body["uptime_seconds"] >= 0
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "config": "ok",
        "data_store": "ok",
        "security": "ok",
        "log_sink": "ok",
    }


async def test_health_is_503_unhealthy_when_the_data_store_is_unusable(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "data" / "appdocs").rmdir()
    response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["checks"]["data_store"]["status"] == "fail"


async def test_env_describes_the_environment_without_secrets(
    make_app: Callable[..., Starlette], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(app_env="PRODUCTION", admin_token="s3cret-token-value")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/api/env")
    body = response.json()
    assert response.status_code == 200
    assert body["environment"] == "PRODUCTION" and body["app_env"] == "PRODUCTION"
    assert body["log_level"] == "INFO"
    assert body["models"] == {"available": 3, "default": "meta-llama/llama-3.3-70b-instruct"}
    assert body["features"]["document_writes"] is True
    assert "s3cret-token-value" not in response.text


async def test_models_config_serves_the_file_when_present(make_app: Callable[..., Starlette], tmp_path: Path) -> None:
    (tmp_path / "models_config.json").write_text(
        json.dumps({"favorites": ["a", "b"], "default": "b", "last_used": "a"})
    )
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        body = (await http.get("/api/config/models")).json()
    assert body == {"favorites": ["a", "b"], "default": "b", "last_used": "a", "meta": {}, "source": "file"}


async def test_data_status_counts_documents_by_type(client: httpx.AsyncClient, tmp_path: Path) -> None:
    docs = tmp_path / "data" / "appdocs"
    (docs / "guide.md").write_text("# Guide\n")
    (docs / "sub").mkdir()
    (docs / "sub" / "table.csv").write_text("a,b\n1,2\n")
    body = (await client.get("/api/data/status")).json()
    assert body["status"] == "ok" and body["documents"] == 2
    assert body["by_type"] == {".md": 1, ".csv": 1}
    assert body["total_bytes"] == len("# Guide\n") + len("a,b\n1,2\n")


async def test_data_status_is_503_json_when_the_store_is_gone(client: httpx.AsyncClient, tmp_path: Path) -> None:
    (tmp_path / "data" / "appdocs").rmdir()
    response = await client.get("/api/data/status")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "data_store_unavailable"


@pytest.mark.parametrize(
    ("name", "content", "media_type"),
    [
        ("doc.json", '{"k": 1}', "application/json"),
        ("doc.csv", "a,b\n", "text/csv; charset=utf-8"),
        ("doc.md", "# t\n", "text/markdown; charset=utf-8"),
        ("doc.html", "<p>x</p>", "text/html; charset=utf-8"),
        ("deep/er/doc.txt", "plain", "text/plain; charset=utf-8"),
    ],
)
async def test_appdocs_serves_each_allowed_type(
    client: httpx.AsyncClient, tmp_path: Path, name: str, content: str, media_type: str
) -> None:
    target = tmp_path / "data" / "appdocs" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    response = await client.get(f"/api/appdocs/{name}")
    assert response.status_code == 200
    assert response.text == content
    assert response.headers["content-type"] == media_type


async def test_appdocs_lists_documents(client: httpx.AsyncClient, tmp_path: Path) -> None:
    (tmp_path / "data" / "appdocs" / "a.txt").write_text("hello")
    assert (await client.get("/api/appdocs")).json() == {"documents": [{"path": "a.txt", "size": 5}]}


async def test_appdocs_missing_document_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/appdocs/absent.md")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "document_not_found"


async def test_unknown_route_and_wrong_method_are_json_errors(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nothing/here")
    assert missing.status_code == 404 and missing.json()["error"] == {
        "code": "not_found",
        "message": "no route for /nothing/here",
    }
    wrong = await client.post("/api/env")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


async def test_openapi_describes_every_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    for path in (
        "/health",
        "/api/env",
        "/api/config/models",
        "/api/data/status",
        "/api/appdocs",
        "/api/appdocs/{path}",
    ):
        assert "get" in spec["paths"][path], path
    assert "Error" in spec["components"]["schemas"]


async def test_metrics_expose_zeroed_violation_series_for_every_api_route(client: httpx.AsyncClient) -> None:
    text = (await client.get("/metrics")).text
    for route in ("/api/env", "/api/security/status", "/api/appdocs/{path:path}"):
        assert f'ai_diy_rate_limit_violations_total{{http_route="{route}"}} 0.0' in text


async def test_openapi_lists_the_middleware_answers_on_every_api_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert "500" in operation["responses"], (method, path)
            if path.startswith("/api/"):
                assert {"413", "429"} <= set(operation["responses"]), (method, path)


@pytest.mark.parametrize(("fail_closed", "expected"), [(False, 200), (True, 503)])
async def test_health_fails_on_lost_rate_limit_storage_only_when_fail_closed(
    make_app: Callable[..., Starlette], fail_closed: bool, expected: int
) -> None:
    app = make_app(rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0", rate_limit_fail_closed=fail_closed)
    await app.state.context.rate_limiter.probe()  # nothing listens there: the storage is down
    assert app.state.context.rate_limiter.storage_healthy is False
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/health")
        security = await http.get("/api/security/status")
    assert response.status_code == expected
    assert response.json()["checks"]["security"]["rate_limit_storage_healthy"] is False
    if fail_closed:  # every /api request is refused, the status report included; /health tells why
        assert security.status_code == 503 and security.json()["error"]["code"] == "rate_limiter_unavailable"
    else:
        assert security.json()["security_status"] == "degraded"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_appdocs_name_longer_than_the_file_system_allows_is_a_400_not_a_storage_error(
    make_app: Callable[..., Starlette], method: str
) -> None:
    app = make_app(admin_token="t0ken")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.request(
            method, f"/api/appdocs/{'a' * 300}.txt", content=b"x", headers={"Authorization": "Bearer t0ken"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_document_name"


async def test_appdocs_wrong_method_lists_every_allowed_one(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/appdocs/a.txt")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}


def test_data_status_is_reused_within_its_age_and_recounted_after_a_change(tmp_path: Path) -> None:
    now = [100.0]
    store = DocumentStore(tmp_path / "data", clock=lambda: now[0])
    store.ensure()
    (store.root / "a.md").write_text("# a")
    first = store.status()
    assert store.cached_status() == first and first["documents"] == 1
    (store.root / "b.md").write_text("# b")  # the documents directory changed: recount at once
    assert store.cached_status() is None
    second = store.status()
    assert second["documents"] == 2
    store.changed()  # a write through the service
    assert store.cached_status() is None
    store.status()
    now[0] += STATUS_MAX_AGE
    assert store.cached_status() is None  # too old
    (store.root / "a.md").unlink()
    store.data_dir.rename(tmp_path / "gone")  # the store went away: nothing good is cached
    assert store.status()["status"] == "unavailable" and store.cached_status() is None
