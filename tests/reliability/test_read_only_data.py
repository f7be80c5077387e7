"""A data directory mounted read-only under a running service: documents are still served, writes get 503.

Root ignores permission bits, so as root the directory is made read-only the way an
operator's mount would: a read-only bind mount of itself. As any other user, removing
the write bits does the same.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.binaries import require
from tests.support.processes import running_service

from .probes import get_json

pytestmark = pytest.mark.integration

TOKEN = "read-only-data-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """The directory (and everything under it) read-only for this process and its children."""
    if os.geteuid() != 0:
        modes = {path: path.stat().st_mode for path in [directory, *directory.rglob("*")]}
        for path, mode in modes.items():
            path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    mount, umount = require("mount"), require("umount")
    bound = _run(mount, "--bind", str(directory), str(directory))
    if bound.returncode != 0:
        pytest.skip(f"a read-only bind mount needs CAP_SYS_ADMIN: {bound.stderr.strip()}")
    try:
        remounted = _run(mount, "-o", "remount,bind,ro", str(directory))
        assert remounted.returncode == 0, remounted.stderr
        yield
    finally:
        unmounted = _run(umount, str(directory))
        assert unmounted.returncode == 0, unmounted.stderr


def test_read_only_data_directory_serves_reads_and_refuses_writes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "appdocs" / "guides").mkdir(parents=True)
    (data / "appdocs" / "guides" / "setup.md").write_bytes(b"# Setup\n")
    (data / "appdocs" / "site.json").write_bytes(b'{"v": 1}')
    with (
        running_service(tmp_path, AI_DIY_ADMIN_TOKEN=TOKEN, AI_DIY_RESOURCE_LOG_INTERVAL="0") as (_, base),
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        before = _hashes(data)
        with read_only(data):
            with pytest.raises(OSError):  # really read-only, for root too
                (data / "appdocs" / "probe.txt").write_bytes(b"x")
            listing = http.get("/api/appdocs")
            document = http.get("/api/appdocs/guides/setup.md")
            status = http.get("/api/data/status")
            health = get_json(f"{base}/health")
            ready = get_json(f"{base}/health/ready")
            replaced = http.put("/api/appdocs/site.json", content=b'{"v": 2}', headers=AUTH)
            created = http.put("/api/appdocs/new.md", content=b"# New", headers=AUTH)
            deleted = http.delete("/api/appdocs/guides/setup.md", headers=AUTH)
            during = _hashes(data)
        # Writable again: writes work again, with nothing else needed.
        restored = http.put("/api/appdocs/new.md", content=b"# New", headers=AUTH)
    assert listing.status_code == 200
    assert sorted((d["path"], d["size"]) for d in listing.json()["documents"]) == [
        ("guides/setup.md", 8),
        ("site.json", 8),
    ]
    assert document.status_code == 200 and document.content == b"# Setup\n" and document.headers["etag"]
    assert status.status_code == 200
    assert status.json()["documents"] == 2 and status.json()["writable"] is False
    assert health[0] == 200 and health[1]["status"] == "degraded" and health[1]["degraded"] == ["data_store"]
    assert "not writable" in health[1]["checks"]["data_store"]["detail"]
    assert ready == (200, {"status": "ready", "degraded": ["data_store"], "failing": []})
    for write in (replaced, created, deleted):
        assert write.status_code == 503 and write.json()["error"]["code"] == "data_store_unavailable"
    assert during == before
    assert restored.status_code == 201
