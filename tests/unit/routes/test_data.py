"""A data directory that can be read but not written: reads go on, writes answer 503, health is degraded."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

pytestmark = pytest.mark.anyio

TOKEN = "read-only-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


async def test_data_read_only_store_serves_reads_and_refuses_writes(
    make_app: Callable[..., Starlette], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "data" / "appdocs"
    docs.mkdir(parents=True)
    (docs / "guide.md").write_bytes(b"# Guide\n")
    (docs / "table.csv").write_bytes(b"a,b\n1,2\n")
    app = make_app(admin_token=TOKEN)
    # The store asks the kernel (access(2)), which answers "read-only file system" even to
    # root; the unit tests run as root, where permission bits alone stop nothing, so the
    # kernel's answer for write access is the one simulated here. tests/reliability
    # mounts a really read-only directory.
    real_access = os.access

    def read_only(path: Any, mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK:
            return False
        return real_access(path, mode, **kwargs)

    monkeypatch.setattr("service.data.store.os.access", read_only)
    before = _hashes(tmp_path / "data")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        listing = await http.get("/api/appdocs")
        document = await http.get("/api/appdocs/guide.md")
        status = await http.get("/api/data/status")
        health = await http.get("/health")
        ready = await http.get("/health/ready")
        put = await http.put("/api/appdocs/guide.md", content=b"# Changed\n", headers=AUTH)
        created = await http.put("/api/appdocs/new.md", content=b"# New\n", headers=AUTH)
        deleted = await http.delete("/api/appdocs/table.csv", headers=AUTH)
    assert listing.status_code == 200
    assert listing.json() == {"documents": [{"path": "guide.md", "size": 8}, {"path": "table.csv", "size": 8}]}
    assert document.status_code == 200 and document.content == b"# Guide\n"
    assert status.status_code == 200
    assert status.json()["documents"] == 2 and status.json()["writable"] is False
    assert health.status_code == 200 and health.json()["degraded"] == ["data_store"]
    assert health.json()["checks"]["data_store"]["status"] == "degraded"
    assert ready.status_code == 200
    for write in (put, created, deleted):
        assert write.status_code == 503 and write.json()["error"]["code"] == "data_store_unavailable"
    assert _hashes(tmp_path / "data") == before


async def test_data_status_of_a_writable_store_says_writable(client: httpx.AsyncClient, tmp_path: Path) -> None:
    response = await client.get("/api/data/status")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["writable"] is True


async def test_data_store_that_cannot_be_created_does_not_stop_start_up(
    make_app: Callable[..., Starlette], tmp_path: Path
) -> None:
    (tmp_path / "not-a-dir").write_text("a file where a folder should be")
    app = make_app(data_dir=tmp_path / "not-a-dir" / "data")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        listing = await http.get("/api/appdocs")
        ready = await http.get("/health/ready")
    assert listing.status_code == 503 and listing.json()["error"]["code"] == "data_store_unavailable"
    assert ready.status_code == 503 and ready.json()["failing"] == ["data_store"]
