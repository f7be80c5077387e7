"""`ai-diy data export | validate-backup | import`: round trip, rejection, atomic swap."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service import __version__
from service.cli import main
from service.ops import backups, restore

DOCUMENTS = {
    "index.md": b"# Docs\n",
    "guides/setup.json": '{"steps": ["install", "run"], "ü": "ok"}'.encode(),
    "guides/table.csv": b"a,b\n1,2\n",
    "page.html": b"<p>hi</p>",
    "notes/latin1.txt": "caf\xe9".encode("latin-1"),  # not UTF-8: exported as base64
}


def run(argv: list[str]) -> int:
    """The command as an operator runs it: through `ai-diy`'s entry point and its error reporting."""
    return main(argv)


def populate(data_dir: Path, documents: dict[str, bytes]) -> None:
    for rel, content in documents.items():
        path = data_dir / "appdocs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def tree_hashes(data_dir: Path) -> dict[str, str]:
    """Hash of every file under data_dir (rollback copies included), by relative path."""
    return {
        p.relative_to(data_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    data_dir = tmp_path / "data"
    populate(data_dir, DOCUMENTS)
    out = tmp_path / "backup.json"
    assert run(["data", "export", "--data-dir", str(data_dir), "-o", str(out)]) == 0
    capsys.readouterr()
    return out


def test_export_writes_versioned_checksummed_document(exported: Path) -> None:
    doc = json.loads(exported.read_text())
    assert doc["format"] == backups.FORMAT and doc["format_version"] == 1
    assert doc["service_version"] == __version__
    assert doc["created_at"].endswith("Z")
    by_path = {d["path"]: d for d in doc["documents"]}
    assert sorted(by_path) == sorted(DOCUMENTS)
    assert by_path["notes/latin1.txt"]["encoding"] == "base64"
    assert "encoding" not in by_path["index.md"] and by_path["index.md"]["content"] == "# Docs\n"
    assert by_path["guides/setup.json"]["sha256"] == hashlib.sha256(DOCUMENTS["guides/setup.json"]).hexdigest()
    assert doc["checksum"] == backups.documents_checksum(doc["documents"])


def test_export_to_stdout_is_the_backup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    populate(tmp_path / "d", {"a.txt": b"x"})
    assert run(["data", "export", "--data-dir", str(tmp_path / "d")]) == 0
    assert [d["path"] for d in json.loads(capsys.readouterr().out)["documents"]] == ["a.txt"]


def test_export_import_round_trip_is_byte_identical(tmp_path: Path, exported: Path) -> None:
    target = tmp_path / "restored"
    populate(target, {"old.txt": b"old", "index.md": b"older"})
    assert run(["data", "import", str(exported), "--data-dir", str(target)]) == 0
    restored = {
        p.relative_to(target / "appdocs").as_posix(): p.read_bytes()
        for p in (target / "appdocs").rglob("*")
        if p.is_file()
    }
    assert restored == DOCUMENTS
    rollbacks = [p for p in target.iterdir() if p.name.startswith("appdocs.rollback-")]
    assert len(rollbacks) == 1
    assert (rollbacks[0] / "old.txt").read_bytes() == b"old"


def test_import_reports_added_changed_removed(
    tmp_path: Path, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "t"
    populate(target, {"old.txt": b"old", "index.md": b"older", "page.html": DOCUMENTS["page.html"]})
    assert run(["data", "import", str(exported), "--data-dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert "added: guides/setup.json" in out and "changed: index.md" in out and "removed: old.txt" in out
    assert "3 added, 1 changed, 1 removed, 1 unchanged" in out


def test_import_dry_run_changes_nothing(tmp_path: Path, exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "t"
    populate(target, {"old.txt": b"old"})
    before = tree_hashes(target)
    assert run(["data", "import", str(exported), "--dry-run", "--data-dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert "would be removed: old.txt" in out and "dry run: 5 added, 0 changed, 1 removed" in out
    assert tree_hashes(target) == before


def _tamper_flip_byte(doc: dict[str, Any]) -> None:
    entry = next(d for d in doc["documents"] if d["path"] == "index.md")
    entry["content"] = "# Docs\r"


def _tamper_version(doc: dict[str, Any]) -> None:
    doc["format_version"] = 2


def _tamper_dotdot(doc: dict[str, Any]) -> None:
    entry = dict(doc["documents"][0], path="../escape.md")
    doc["documents"].append(entry)
    doc["checksum"] = backups.documents_checksum(doc["documents"])  # a consistent, deliberate forgery


def _tamper_duplicate(doc: dict[str, Any]) -> None:
    doc["documents"].append(dict(doc["documents"][0]))
    doc["checksum"] = backups.documents_checksum(doc["documents"])


def _tamper_size(doc: dict[str, Any]) -> None:
    doc["documents"][0]["size"] += 1
    doc["checksum"] = backups.documents_checksum(doc["documents"])


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_tamper_flip_byte, "sha256: does not match the content"),
        (_tamper_version, "format_version: expected 1, got 2"),
        (_tamper_dotdot, "'../escape.md': name refused: dot segment"),
        (_tamper_duplicate, "duplicate path"),
        (_tamper_size, "size: expected"),
    ],
)
def test_import_rejects_damaged_backup_and_leaves_data(
    tmp_path: Path,
    exported: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    doc = json.loads(exported.read_text())
    tamper(doc)
    exported.write_text(json.dumps(doc))
    target = tmp_path / "t"
    populate(target, {"keep.md": b"keep"})
    before = tree_hashes(target)
    assert run(["data", "validate-backup", str(exported)]) == 1
    assert message in capsys.readouterr().err
    assert run(["data", "import", str(exported), "--data-dir", str(target)]) == 1
    err = capsys.readouterr().err
    assert message in err and "nothing was changed" in err
    assert tree_hashes(target) == before


def test_flipped_byte_also_breaks_the_whole_checksum(exported: Path) -> None:
    doc = json.loads(exported.read_text())
    _tamper_flip_byte(doc)
    with pytest.raises(backups.BackupError) as refused:
        backups.verify_backup(doc)
    assert "checksum: does not match the documents (the backup was altered or damaged)" in refused.value.problems


def test_flipped_byte_in_the_file_is_rejected(
    tmp_path: Path, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = bytearray(exported.read_bytes())
    position = raw.index(b"install")
    raw[position] ^= 0x01  # 'i' -> 'h': still valid JSON, different content
    exported.write_bytes(bytes(raw))
    assert run(["data", "validate-backup", str(exported)]) == 1
    err = capsys.readouterr().err
    assert "'guides/setup.json': sha256: does not match the content" in err


def test_truncated_backup_is_rejected_with_data_unchanged(
    tmp_path: Path, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = exported.read_bytes()
    exported.write_bytes(raw[: len(raw) // 2])
    target = tmp_path / "t"
    populate(target, {"keep.md": b"keep"})
    before = tree_hashes(target)
    assert run(["data", "validate-backup", str(exported)]) == 1
    assert "not valid JSON, truncated or corrupted?" in capsys.readouterr().err
    assert run(["data", "import", str(exported), "--data-dir", str(target)]) == 1
    assert tree_hashes(target) == before


def test_validate_backup_accepts_good_backup(exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["data", "validate-backup", str(exported)]) == 0
    assert "valid backup, 5 documents" in capsys.readouterr().out


def test_import_failure_after_tree_built_leaves_old_data(
    tmp_path: Path, exported: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "t"
    populate(target, {"keep.md": b"keep"})
    before = tree_hashes(target)
    built: list[Path] = []

    def crash(root: Path, staged: Path, now: object) -> None:
        built.extend(p for p in staged.rglob("*") if p.is_file())
        raise OSError(28, "simulated: no space left on device")

    monkeypatch.setattr(restore, "_swap_in", crash)
    assert run(["data", "import", str(exported), "--data-dir", str(target)]) == 1
    assert "nothing was changed" in capsys.readouterr().err
    assert len(built) == len(DOCUMENTS)  # the new tree really was complete
    assert tree_hashes(target) == before
    assert sorted(os.listdir(target)) == ["appdocs"]  # staging tree removed


def test_import_failure_during_swap_puts_old_tree_back(
    tmp_path: Path, exported: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t"
    populate(target, {"keep.md": b"keep"})
    before = tree_hashes(target)
    real_rename = os.rename
    calls: list[str] = []

    def rename(src: str | Path, dst: str | Path) -> None:
        calls.append(Path(str(dst)).name)
        if len(calls) == 2:  # first: live tree -> rollback; second: staged -> live
            raise OSError(5, "simulated I/O error")
        real_rename(src, dst)

    monkeypatch.setattr("service.ops.restore.os.rename", rename)
    with pytest.raises(OSError, match="simulated"):
        restore.import_backup(target, json.loads(exported.read_text()))
    assert tree_hashes(target) == before
    assert sorted(os.listdir(target)) == ["appdocs"]


def test_import_into_empty_data_dir_creates_documents(tmp_path: Path, exported: Path) -> None:
    target = tmp_path / "fresh"
    plan = restore.import_backup(target, json.loads(exported.read_text()))
    assert plan.rollback is None and len(plan.added) == 5
    assert (target / "appdocs" / "page.html").read_bytes() == b"<p>hi</p>"


def test_export_ignores_interrupted_writes_and_skips_bad_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    populate(tmp_path / "d", {"a.txt": b"x", ".a.txt.tmp-0123456789ab": b"half", "run.sh": b"#!"})
    assert run(["data", "export", "--data-dir", str(tmp_path / "d")]) == 0
    captured = capsys.readouterr()
    assert [d["path"] for d in json.loads(captured.out)["documents"]] == ["a.txt"]
    assert "tmp-0123456789ab" not in captured.err  # not a document: not even a skipped one
    assert "skipped run.sh: name refused: extension not allowed" in captured.err


def test_data_commands_read_data_dir_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AI_DIY_DATA_DIR", str(tmp_path / "from-env"))
    populate(tmp_path / "from-env", {"e.md": b"env"})
    assert run(["data", "export"]) == 0
    assert [d["path"] for d in json.loads(capsys.readouterr().out)["documents"]] == ["e.md"]


def test_data_commands_report_config_errors_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AI_DIY_PORT", "not-a-port")
    assert run(["data", "validate"]) == 2
    assert "AI_DIY_PORT" in capsys.readouterr().err
