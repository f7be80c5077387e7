"""Rotation and archiving tell a progress display about each file, and do and return what they did without one."""

from __future__ import annotations

import tarfile
from datetime import date
from pathlib import Path

from service.ops import retention

TODAY = date(2026, 3, 1)
# Deleted (past 30 days), compressed (past 7), left alone (today's).
LOGS = {"ai_diy_api_20260101.jsonl": 300, "ai_diy_api_20260215.jsonl": 200, "ai_diy_api_20260301.jsonl": 100}


def _logs(log_dir: Path) -> Path:
    log_dir.mkdir()
    for name, size in LOGS.items():
        (log_dir / name).write_bytes(b"x" * size)
    return log_dir


def test_retention_apply_reports_each_file_with_its_size_before_the_action(tmp_path: Path) -> None:
    plain, watched = _logs(tmp_path / "plain"), _logs(tmp_path / "watched")
    heard: list[tuple[str, int]] = []
    lines = retention.apply(retention.plan(watched, TODAY), lambda name, size: heard.append((name, size)))
    assert lines == retention.apply(retention.plan(plain, TODAY))
    assert heard == [("ai_diy_api_20260101.jsonl", 300), ("ai_diy_api_20260215.jsonl", 200)]
    assert sorted(p.name for p in watched.iterdir()) == sorted(p.name for p in plain.iterdir())


def test_retention_archive_reports_each_file_added(tmp_path: Path) -> None:
    log_dir = _logs(tmp_path / "logs")
    heard: list[tuple[str, int]] = []
    names = retention.archive(log_dir, tmp_path / "logs.tar.gz", lambda name, size: heard.append((name, size)))
    assert names == sorted(LOGS) and heard == sorted(LOGS.items())
    with tarfile.open(tmp_path / "logs.tar.gz") as bundle:
        assert bundle.getnames() == [f"logs/{name}" for name in sorted(LOGS)]
