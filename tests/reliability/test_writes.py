"""Honest writes against a real server: one creator, conditional edits, crash leftovers."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from pathlib import Path

import pytest

from service.data.atomic import is_temp_name, temp_name
from tests.support.net import wait_for
from tests.support.processes import ROOT, running_service

from .probes import get, get_json, log_records
from .rawhttp import exchange, status_of

pytestmark = pytest.mark.integration

TOKEN = "reliability-token"


def _request(method: str, path: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: x",
        "Connection: close",
        f"Authorization: Bearer {TOKEN}",
        f"Content-Length: {len(body)}",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _header(answer: bytes, name: str) -> str | None:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def _all_at_once(port: int, payloads: list[bytes]) -> list[bytes]:
    """Send every payload on its own connection, released together by a barrier."""
    barrier = threading.Barrier(len(payloads), timeout=30)
    answers: list[bytes] = [b""] * len(payloads)

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = exchange(port, payloads[index], timeout=30)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return answers


def test_writes_concurrent_creations_get_exactly_one_201(tmp_path: Path) -> None:
    # Two worker processes, each with its thread pool: the decision has to hold across both.
    with running_service(tmp_path, AI_DIY_ADMIN_TOKEN=TOKEN, AI_DIY_WORKERS="2", AI_DIY_RATE_LIMIT="1000/minute") as (
        _p,
        base,
    ):
        port = int(base.rsplit(":", 1)[1])
        for round_ in range(3):
            path = f"/api/appdocs/race-{round_}.txt"
            answers = _all_at_once(port, [_request("PUT", path, f"writer {i}".encode()) for i in range(50)])
            statuses = Counter(status_of(answer) for answer in answers)
            assert statuses == {201: 1, 200: 49}, (round_, statuses)
            created = [json.loads(a.split(b"\r\n\r\n", 1)[1]) for a in answers if status_of(a) == 201]
            assert created[0]["created"] is True
            status, body = get(f"{base}{path}")
            assert status == 200 and body.startswith(b"writer ")


def test_writes_if_match_lets_exactly_one_of_many_editors_win(tmp_path: Path) -> None:
    with running_service(tmp_path, AI_DIY_ADMIN_TOKEN=TOKEN, AI_DIY_RATE_LIMIT="1000/minute") as (_p, base):
        port = int(base.rsplit(":", 1)[1])
        created = exchange(port, _request("PUT", "/api/appdocs/shared.md", b"v1", If_None_Match="*"))
        assert status_of(created) == 201
        etag = _header(created, "ETag")
        assert etag and etag == _header(exchange(port, _request("GET", "/api/appdocs/shared.md")), "ETag")
        # A second creation with If-None-Match: * must not replace it.
        assert status_of(exchange(port, _request("PUT", "/api/appdocs/shared.md", b"other", If_None_Match="*"))) == 412

        # 20 editors read v1 and save their edit with If-Match at the same moment.
        answers = _all_at_once(
            port, [_request("PUT", "/api/appdocs/shared.md", f"edit {i}".encode(), If_Match=etag) for i in range(20)]
        )
        statuses = Counter(status_of(answer) for answer in answers)
        assert statuses == {200: 1, 412: 19}, statuses
        [winner] = [a for a in answers if status_of(a) == 200]
        new_etag = _header(winner, "ETag")
        assert all(_header(a, "ETag") == new_etag for a in answers if status_of(a) == 412)
        status, body = get(f"{base}/api/appdocs/shared.md")
        assert status == 200 and body.startswith(b"edit ")
        assert hashlib.sha256(body).hexdigest() == json.loads(winner.split(b"\r\n\r\n", 1)[1])["sha256"]
        assert new_etag == f'"{hashlib.sha256(body).hexdigest()}"'

        # A stale delete is refused; a current one goes through.
        assert status_of(exchange(port, _request("DELETE", "/api/appdocs/shared.md", If_Match=etag))) == 412
        assert status_of(exchange(port, _request("DELETE", "/api/appdocs/shared.md", If_Match=new_etag))) == 200
        assert get(f"{base}/api/appdocs/shared.md")[0] == 404


def _interrupted_write(target: Path) -> None:
    """A real writer process killed with SIGKILL after its temporary file is on disk, before the rename."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from service.data import atomic
        atomic.os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
        atomic.atomic_write(Path({str(target)!r}), b"half of a new version")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=30, check=False)
    assert result.returncode == -signal.SIGKILL


def test_writes_crash_leftovers_never_listed_or_counted_and_swept_at_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    root = data_dir / "appdocs"
    (root / "guides").mkdir(parents=True)
    (root / "doc.json").write_bytes(b'{"v": 1}')
    (root / "guides" / "setup.md").write_bytes(b"# setup")
    env = {"AI_DIY_ADMIN_TOKEN": TOKEN, "AI_DIY_RESOURCE_LOG_INTERVAL": "0"}
    with running_service(tmp_path, env=env) as (proc, base):
        # Interrupted while the service runs: a SIGKILLed writer, and the exact name the writer uses.
        _interrupted_write(root / "doc.json")
        leftover = temp_name(root / "guides" / "setup.md")
        leftover.write_bytes(b"# half")
        leftovers = sorted(p for p in root.rglob("*") if is_temp_name(p.name))
        assert len(leftovers) == 2

        status, listing = get_json(f"{base}/api/appdocs")
        assert status == 200 and [d["path"] for d in listing["documents"]] == ["doc.json", "guides/setup.md"]
        status, summary = get_json(f"{base}/api/data/status")
        assert status == 200 and summary["documents"] == 2 and summary["total_bytes"] == len(b'{"v": 1}# setup')
        assert get(f"{base}/api/appdocs/{leftover.name}")[0] == 400
        cli_env = {**os.environ, "PYTHONPATH": str(ROOT)}

        def data_command(name: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "service.cli", "data", name, "--data-dir", str(data_dir)],
                cwd=tmp_path,
                env=cli_env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )

        validate = data_command("validate")
        assert validate.returncode == 0, validate.stdout + validate.stderr
        export = data_command("export")
        assert export.returncode == 0 and "skipped" not in export.stderr, export.stderr
        assert [d["path"] for d in json.loads(export.stdout)["documents"]] == ["doc.json", "guides/setup.md"]
        proc.signal(signal.SIGKILL)
        proc.popen.wait(10)

    with running_service(tmp_path, env=env) as (_proc, base):
        assert get(f"{base}/health")[0] == 200
        assert not [p for p in root.rglob("*") if is_temp_name(p.name)]
        assert (root / "doc.json").read_bytes() == b'{"v": 1}'
        swept = wait_for(
            lambda: [r for r in log_records(tmp_path / "logs") if r.get("event") == "interrupted_writes_swept"],
            timeout=10,
            what="the sweep's log line",
        )
    assert len(swept) == 1 and swept[0]["level"] == "WARNING"
    assert swept[0]["details"]["count"] == 2
    assert sorted(swept[0]["details"]["paths"]) == sorted(p.relative_to(root).as_posix() for p in leftovers)
