"""PUT/DELETE /api/appdocs/{path}: bearer auth, path rules, JSON check, audit, atomicity."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware

from observability.logformat import JsonFormatter
from service.data.store import DocumentStore
from service.errors import ErrorBoundaryMiddleware
from service.routes import appdocs
from service.security.events import SecurityEvents
from service.settings import Settings

TOKEN = "correct-horse-battery-staple"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


pytestmark = pytest.mark.anyio


class Client(httpx.AsyncClient):
    """An httpx client bound to one app (kept for inspecting its state)."""

    app: Starlette


@pytest.fixture
def make_client(tmp_path: Path) -> Callable[..., Client]:
    def build(**overrides: Any) -> Client:
        settings = Settings(_env_file=None, data_dir=tmp_path / "data", **{"admin_token": TOKEN, **overrides})
        app = Starlette(routes=appdocs.routes, middleware=[Middleware(ErrorBoundaryMiddleware)])
        # The parts of the service's context these routes read.
        registry = CollectorRegistry()
        store = DocumentStore(settings.data_dir)
        store.ensure()
        app.state.context = SimpleNamespace(
            settings=settings, registry=registry, document_store=store, security_events=SecurityEvents(registry)
        )
        client = Client(
            transport=httpx.ASGITransport(app=app, client=("198.51.100.7", 50000)), base_url="http://testserver"
        )
        client.app = app
        return client

    return build


@pytest.fixture
async def client(make_client: Callable[..., Client]) -> AsyncIterator[Client]:
    async with make_client() as http:
        yield http


def root_of(client: Client) -> Path:
    answer: Path = client.app.state.context.document_store.root
    return answer


def sample(client: Client, name: str, **labels: str) -> float:
    value = client.app.state.context.registry.get_sample_value(name, labels)
    return value or 0.0


def audit_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ai_diy.audit"]


async def test_put_creates_document_and_writes_audit_line(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ai_diy.audit")
    body = b'{"title": "Setup"}'
    response = await client.put("/api/appdocs/guides/setup.json", content=body, headers=AUTH)
    assert response.status_code == 201
    assert response.json() == {
        "path": "guides/setup.json",
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "created": True,
    }
    assert (root_of(client) / "guides" / "setup.json").read_bytes() == body
    assert (await client.get("/api/appdocs/guides/setup.json")).content == body
    [record] = audit_records(caplog)
    assert record.getMessage() == "document written"
    assert record.event == "document_put"  # type: ignore[attr-defined]  # a field logged with extra=
    assert record.details == {  # type: ignore[attr-defined]  # a field logged with extra=
        "client_ip": "198.51.100.7",
        "path": "guides/setup.json",
        "size": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
    }


async def test_put_replaces_existing_document_with_200(client: Client) -> None:
    assert (await client.put("/api/appdocs/a.md", content=b"one", headers=AUTH)).status_code == 201
    response = await client.put("/api/appdocs/a.md", content=b"two", headers=AUTH)
    assert response.status_code == 200 and response.json()["created"] is False
    assert (root_of(client) / "a.md").read_bytes() == b"two"
    assert os.listdir(root_of(client)) == ["a.md"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer"}]
)
async def test_put_without_valid_token_is_401_and_counted(
    client: Client, caplog: pytest.LogCaptureFixture, headers: dict[str, str]
) -> None:
    caplog.set_level(logging.INFO)
    response = await client.put("/api/appdocs/a.md", content=b"x", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"
    assert sample(client, "ai_diy_auth_failures_total") == 1
    assert sample(client, "ai_diy_security_events_total", event="auth_failure", severity="warning") == 1
    [line] = [r for r in caplog.records if r.name == "ai_diy.security"]
    assert line.getMessage().startswith("SECURITY_AUDIT") and line.details["client_ip"] == "198.51.100.7"  # type: ignore[attr-defined]  # a field logged with extra=
    assert not (root_of(client) / "a.md").exists() and audit_records(caplog) == []


async def test_delete_without_valid_token_is_401_and_keeps_document(client: Client) -> None:
    (root_of(client) / "keep.md").write_bytes(b"keep")
    assert (await client.delete("/api/appdocs/keep.md", headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (root_of(client) / "keep.md").read_bytes() == b"keep"


async def test_writes_disabled_without_configured_token(make_client: Callable[..., Client]) -> None:
    async with make_client(admin_token=None) as client:
        response = await client.put("/api/appdocs/a.md", content=b"x", headers=AUTH)
        assert response.status_code == 403
        assert (
            response.json()["error"]["code"] == "writes_disabled"
            and "no admin token" in response.json()["error"]["message"]
        )
        assert (await client.delete("/api/appdocs/a.md", headers=AUTH)).status_code == 403
        assert sample(client, "ai_diy_auth_failures_total") == 0


@pytest.mark.parametrize("path", ["..%2Fescape.md", "a/%2e%2e/%2e%2e/escape.md", ".hidden.md"])
async def test_put_refuses_paths_outside_the_rules(client: Client, tmp_path: Path, path: str) -> None:
    response = await client.put(f"/api/appdocs/{path}", content=b"x", headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_path"
    assert sample(client, "ai_diy_security_events_total", event="path_traversal_attempt", severity="warning") == 1
    assert not (tmp_path / "escape.md").exists() and not (tmp_path / "data" / "escape.md").exists()
    assert os.listdir(root_of(client)) == []


@pytest.mark.parametrize("path", ["script.sh", "bad%3Cname%3E.md", "a%7Cb.txt", "what%3F.txt"])
async def test_put_refuses_bad_names_as_invalid_names_not_traversal(client: Client, path: str) -> None:
    response = await client.put(f"/api/appdocs/{path}", content=b"x", headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_document_name"
    assert sample(client, "ai_diy_security_events_total", event="invalid_document_name", severity="info") == 1
    assert sample(client, "ai_diy_input_validation_failures_total", reason="invalid_document_name") == 1
    assert sample(client, "ai_diy_security_events_total", event="path_traversal_attempt", severity="warning") == 0
    assert os.listdir(root_of(client)) == []


async def test_put_invalid_json_is_400_and_keeps_old_content(client: Client) -> None:
    (root_of(client) / "c.json").write_bytes(b'{"ok": true}')
    response = await client.put("/api/appdocs/c.json", content=b'{"ok": ', headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"
    assert (root_of(client) / "c.json").read_bytes() == b'{"ok": true}'
    assert sample(client, "ai_diy_input_validation_failures_total", reason="malformed_json") == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 50 + b"]" * 50, "too_deep"),
        (b'{"k": "' + b"x" * 20_000 + b'"}', "string_too_long"),
        (b"[" + b",".join([b"1"] * 2_000) + b"]", "too_many_items"),
        (rb'{"k": "a\u0000b"}', "nul_byte"),
    ],
)
async def test_put_hostile_json_is_a_suspicious_input_event(client: Client, body: bytes, reason: str) -> None:
    response = await client.put("/api/appdocs/hostile.json", content=body, headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["code"] == reason
    assert sample(client, "ai_diy_security_events_total", event="suspicious_input", severity="warning") == 1
    assert not (root_of(client) / "hostile.json").exists()


async def test_put_larger_than_limit_is_413(make_client: Callable[..., Client]) -> None:
    async with make_client(max_request_bytes=8) as client:
        response = await client.put("/api/appdocs/big.txt", content=b"x" * 9, headers=AUTH)
        assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
        assert not (root_of(client) / "big.txt").exists()


async def test_put_onto_directory_is_409(client: Client) -> None:
    (root_of(client) / "dir.md").mkdir()
    assert (await client.put("/api/appdocs/dir.md", content=b"x", headers=AUTH)).status_code == 409


async def test_put_failing_before_rename_keeps_old_document(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    (root_of(client) / "d.txt").write_bytes(b"old")

    def broken(src: object, dst: object) -> None:
        raise OSError(5, "simulated I/O error")

    monkeypatch.setattr("service.data.atomic.os.replace", broken)
    response = await client.put("/api/appdocs/d.txt", content=b"new", headers=AUTH)
    assert response.status_code == 503 and response.json()["error"]["code"] == "data_store_unavailable"
    assert (root_of(client) / "d.txt").read_bytes() == b"old"
    assert os.listdir(root_of(client)) == ["d.txt"]


async def test_delete_removes_document_and_audits(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ai_diy.audit")
    (root_of(client) / "gone.csv").write_bytes(b"a,b\n")
    response = await client.delete("/api/appdocs/gone.csv", headers=AUTH)
    assert response.status_code == 200 and response.json()["deleted"] is True
    assert not (root_of(client) / "gone.csv").exists()
    [record] = audit_records(caplog)
    assert record.event == "document_delete"  # type: ignore[attr-defined]  # a field logged with extra=
    assert record.details["sha256"] == hashlib.sha256(b"a,b\n").hexdigest()  # type: ignore[attr-defined]  # a field logged with extra=
    second = await client.delete("/api/appdocs/gone.csv", headers=AUTH)
    assert second.status_code == 404 and second.json()["error"]["code"] == "document_not_found"


async def test_audit_line_as_jsonl_carries_event_and_details(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ai_diy.audit")
    await client.put("/api/appdocs/x.txt", content=b"x", headers=AUTH)
    [record] = audit_records(caplog)
    line = json.loads(JsonFormatter().format(record))
    assert line["logger"] == "ai_diy.audit" and line["event"] == "document_put" and line["status"] == "success"
    assert line["details"]["path"] == "x.txt" and line["details"]["size"] == 1
    assert line["details"]["sha256"] == hashlib.sha256(b"x").hexdigest()


async def test_conditional_put_and_delete_with_etags(client: Client) -> None:
    created = await client.put("/api/appdocs/c.md", content=b"v1", headers={**AUTH, "If-None-Match": "*"})
    assert created.status_code == 201
    etag = created.headers["etag"]
    assert etag == f'"{hashlib.sha256(b"v1").hexdigest()}"'
    read = await client.get("/api/appdocs/c.md")
    assert read.status_code == 200 and read.headers["etag"] == etag
    assert (await client.get("/api/appdocs/c.md", headers={"If-None-Match": etag})).status_code == 304

    again = await client.put("/api/appdocs/c.md", content=b"other", headers={**AUTH, "If-None-Match": "*"})
    assert again.status_code == 412 and again.json()["error"]["code"] == "precondition_failed"
    assert again.headers["etag"] == etag
    replaced = await client.put("/api/appdocs/c.md", content=b"v2", headers={**AUTH, "If-Match": etag})
    assert replaced.status_code == 200 and replaced.headers["etag"] != etag
    stale = await client.put("/api/appdocs/c.md", content=b"v3", headers={**AUTH, "If-Match": etag})
    assert stale.status_code == 412 and stale.headers["etag"] == replaced.headers["etag"]
    assert (root_of(client) / "c.md").read_bytes() == b"v2"

    assert (await client.delete("/api/appdocs/c.md", headers={**AUTH, "If-Match": etag})).status_code == 412
    assert (root_of(client) / "c.md").exists()
    deleted = await client.delete("/api/appdocs/c.md", headers={**AUTH, "If-Match": replaced.headers["etag"]})
    assert deleted.status_code == 200
    missing = await client.put("/api/appdocs/c.md", content=b"v4", headers={**AUTH, "If-Match": "*"})
    assert missing.status_code == 412 and "etag" not in missing.headers
    assert not (root_of(client) / "c.md").exists()


async def test_precondition_failure_is_not_an_audited_change(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    await client.put("/api/appdocs/d.md", content=b"v1", headers=AUTH)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ai_diy.audit"):
        response = await client.put("/api/appdocs/d.md", content=b"v2", headers={**AUTH, "If-Match": '"nope"'})
    assert response.status_code == 412
    assert audit_records(caplog) == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_malformed_precondition_is_a_400_and_changes_nothing(client: Client, method: str) -> None:
    await client.put("/api/appdocs/e.md", content=b"v1", headers=AUTH)
    response = await client.request(method, "/api/appdocs/e.md", content=b"v2", headers={**AUTH, "If-Match": "v1"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_precondition"
    assert "If-Match" in response.json()["error"]["message"]
    assert (root_of(client) / "e.md").read_bytes() == b"v1"
