"""GET /api/appdocs/{path}: the ETag follows the bytes, whatever happened to the file's times."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

pytestmark = pytest.mark.anyio

TOKEN = "etag-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _quoted_sha256(data: bytes) -> str:
    return f'"{hashlib.sha256(data).hexdigest()}"'


def _rewrite_in_place(path: Path, data: bytes) -> None:
    """Overwrite the file's bytes through the same inode (no rename, as an editor saving in place does)."""
    with open(path, "r+b") as handle:
        handle.write(data)


async def test_appdocs_etag_changes_when_bytes_are_rewritten_in_place_with_the_old_mtime(
    make_app: Callable[..., Starlette], tmp_path: Path
) -> None:
    app = make_app(admin_token=TOKEN)
    target = tmp_path / "data" / "appdocs" / "page.md"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        put = await http.put("/api/appdocs/page.md", content=b"version one", headers=AUTH)
        assert put.status_code == 201
        first = await http.get("/api/appdocs/page.md")
        old = first.headers["etag"]
        assert old == _quoted_sha256(b"version one")
        again = await http.get("/api/appdocs/page.md", headers={"If-None-Match": old})
        assert again.status_code == 304
        # What a careless copy tool or an editor does: the same size, other bytes, and
        # the modification time put back as it was.
        before = os.stat(target)
        _rewrite_in_place(target, b"version TWO")
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert os.stat(target).st_mtime_ns == before.st_mtime_ns and os.stat(target).st_size == before.st_size

        changed = await http.get("/api/appdocs/page.md")
        conditional = await http.get("/api/appdocs/page.md", headers={"If-None-Match": old})
        stale_write = await http.put("/api/appdocs/page.md", content=b"lost update", headers={**AUTH, "If-Match": old})
    assert changed.status_code == 200 and changed.content == b"version TWO"
    assert changed.headers["etag"] == _quoted_sha256(b"version TWO") != old
    assert conditional.status_code == 200 and conditional.content == b"version TWO"
    assert stale_write.status_code == 412
    assert stale_write.headers["etag"] == _quoted_sha256(b"version TWO")
    assert target.read_bytes() == b"version TWO"


async def test_appdocs_name_that_would_be_a_file_and_a_folder_is_a_409(
    make_app: Callable[..., Starlette], tmp_path: Path
) -> None:
    app = make_app(admin_token=TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert (await http.put("/api/appdocs/guide.md", content=b"# Guide", headers=AUTH)).status_code == 201
        nested = await http.put("/api/appdocs/guide.md/part.md", content=b"# Part", headers=AUTH)
        read = await http.get("/api/appdocs/guide.md/part.md")
    assert nested.status_code == 409 and nested.json()["error"]["code"] == "path_conflict"
    assert read.status_code == 404
    assert (tmp_path / "data" / "appdocs" / "guide.md").read_bytes() == b"# Guide"
