"""Operator workflows against a real `ai-diy serve`: write, back up, restore, validate, rotate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.net import wait_for
from tests.support.processes import running_service, service_env

pytestmark = pytest.mark.integration

TOKEN = "integration-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`ai-diy ...` as a separate process with the service's environment."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *argv],
        env=service_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_operator_backup_and_restore_under_a_running_service(tmp_path: Path) -> None:
    appdocs = tmp_path / "data" / "appdocs"
    appdocs.mkdir(parents=True)
    (appdocs / "guide.md").write_bytes(b"# Guide v1\n")
    with (
        running_service(tmp_path, AI_DIY_ADMIN_TOKEN=TOKEN) as (_, base),
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        assert http.put("/api/appdocs/config/site.json", content=b'{"v": 1}', headers=AUTH).status_code == 201

        backup = tmp_path / "backup.json"
        exported = cli(tmp_path, "data", "export", "-o", str(backup))
        assert exported.returncode == 0, exported.stderr
        checked = cli(tmp_path, "data", "validate-backup", str(backup))
        assert checked.returncode == 0 and "valid backup, 2 documents" in checked.stdout

        assert http.put("/api/appdocs/guide.md", content=b"# Guide v2\n", headers=AUTH).status_code == 200
        assert http.delete("/api/appdocs/config/site.json", headers=AUTH).status_code == 200
        assert http.put("/api/appdocs/extra.txt", content=b"later", headers=AUTH).status_code == 201

        restored = cli(tmp_path, "data", "import", str(backup))
        assert restored.returncode == 0, restored.stderr
        assert "1 added, 1 changed, 1 removed" in restored.stdout
        # The running service serves the restored tree at once: it resolves the root per request.
        assert http.get("/api/appdocs/guide.md").content == b"# Guide v1\n"
        assert http.get("/api/appdocs/config/site.json").json() == {"v": 1}
        assert http.get("/api/appdocs/extra.txt").status_code == 404

        validated = cli(tmp_path, "data", "validate")
        assert validated.returncode == 0, validated.stderr
        assert http.put("/api/appdocs/x.md", content=b"x", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_operator_document_changes_reach_the_audit_log(tmp_path: Path) -> None:
    with (
        running_service(tmp_path, AI_DIY_ADMIN_TOKEN=TOKEN) as (_, base),
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        assert http.put("/api/appdocs/a.json", content=b'{"v": 1}', headers=AUTH).status_code == 201
        assert http.put("/api/appdocs/a.json", content=b'{"v": 2}', headers=AUTH).status_code == 200
        assert http.delete("/api/appdocs/a.json", headers=AUTH).status_code == 200
        assert http.delete("/api/appdocs/a.json", headers={"Authorization": "Bearer wrong"}).status_code == 401
    logs = tmp_path / "logs"
    lines = [
        json.loads(line)
        for path in sorted(logs.glob("ai_diy_audit_*.jsonl"))
        if logs.is_dir()
        for line in path.read_text().splitlines()
    ]
    changes = [
        (e["event"], e["details"]["path"], e["details"]["size"]) for e in lines if e.get("logger") == "ai_diy.audit"
    ]
    assert changes == [("document_put", "a.json", 8), ("document_put", "a.json", 8), ("document_delete", "a.json", 8)]
    assert all(e["details"]["client_ip"] == "127.0.0.1" for e in lines)


def test_operator_rotation_leaves_the_live_log_alone(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_, base):
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/health").status_code == 200
        logs = tmp_path / "logs"
        live = wait_for(lambda: sorted(logs.glob("ai_diy_api_*.jsonl")), timeout=10, what="application log file")
        (logs / "ai_diy_api_20000101.jsonl").write_text('{"old": true}\n')
        (logs / "ai_diy_audit_20000101.jsonl").write_text('{"old": true}\n')
        rotated = cli(tmp_path, "logs", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        remaining = sorted(p.name for p in logs.iterdir() if p.name.startswith("ai_diy_"))
        assert [p.name for p in live] == [n for n in remaining if n.startswith("ai_diy_api_")]
        assert "ai_diy_api_20000101.jsonl" not in remaining and "ai_diy_audit_20000101.jsonl" not in remaining
        archived = cli(tmp_path, "logs", "archive", "-o", str(tmp_path / "logs.tar.gz"))
        assert archived.returncode == 0 and (tmp_path / "logs.tar.gz").stat().st_size > 0
