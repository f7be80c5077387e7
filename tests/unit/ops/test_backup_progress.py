"""The backup functions tell a progress display about each file, and return what they returned without one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.ops import backups, restore

DOCUMENTS = {"a.md": b"# a\n", "sub/b.json": b'{"b": 2}', "sub/c.txt": b"c" * 100}
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _populate(data_dir: Path) -> Path:
    root = data_dir / "appdocs"
    for rel, data in DOCUMENTS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / ".a.md.tmp-123").write_bytes(b"an interrupted write")  # skipped: neither counted nor reported
    return root


def test_backup_tree_size_counts_what_export_reads(tmp_path: Path) -> None:
    root = _populate(tmp_path / "data")
    assert backups.tree_size(root) == (3, sum(len(d) for d in DOCUMENTS.values()))
    assert backups.tree_size(tmp_path / "missing") == (0, 0)


def test_backup_export_reports_each_document_and_returns_the_same_backup(tmp_path: Path) -> None:
    root = _populate(tmp_path / "data")
    heard: list[tuple[str, int]] = []
    with_progress = backups.export_backup(root, now=NOW, on_file=lambda name, size: heard.append((name, size)))
    assert with_progress == backups.export_backup(root, now=NOW)
    assert heard == [(rel, len(data)) for rel, data in sorted(DOCUMENTS.items())]


def test_backup_verify_reports_every_entry_valid_or_not(tmp_path: Path) -> None:
    document, _ = backups.export_backup(_populate(tmp_path / "data"), now=NOW)
    document["documents"][1]["content"] = "tampered"
    heard: list[tuple[str, int]] = []
    with pytest.raises(backups.BackupError) as with_progress:
        backups.verify_backup(document, lambda name, size: heard.append((name, size)))
    with pytest.raises(backups.BackupError) as without:
        backups.verify_backup(document)
    assert with_progress.value.problems == without.value.problems
    assert heard == [("a.md", 4), ("sub/b.json", 0), ("sub/c.txt", 100)]


def test_backup_import_reports_verified_and_written_documents(tmp_path: Path) -> None:
    document, _ = backups.export_backup(_populate(tmp_path / "source"), now=NOW)
    verified: list[str] = []
    written: list[str] = []

    def calls(into: list[str]) -> Callable[[str, int], None]:
        return lambda name, size: into.append(f"{name} {size}")

    dry = restore.import_backup(
        tmp_path / "target", document, dry_run=True, on_verified=calls(verified), on_written=calls(written)
    )
    assert dry.added == sorted(DOCUMENTS) and written == []
    verified.clear()
    plan = restore.import_backup(
        tmp_path / "target", document, now=NOW, on_verified=calls(verified), on_written=calls(written)
    )
    expected = [f"{rel} {len(data)}" for rel, data in sorted(DOCUMENTS.items())]
    assert plan.added == sorted(DOCUMENTS) and verified == expected and sorted(written) == expected
    assert {
        p.relative_to(tmp_path / "target" / "appdocs").as_posix()
        for p in (tmp_path / "target" / "appdocs").rglob("*")
        if p.is_file()
    } == set(DOCUMENTS)
