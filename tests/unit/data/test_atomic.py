"""Atomic writes: the old document or the new one, never half of one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from service.data import atomic
from service.data.store import DocumentStore
from service.data.validate import validate_data_dir
from service.ops.backups import export_backup
from tests.support.processes import ROOT


def test_atomic_write_replaces_content_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "doc.json"
    target.write_bytes(b'{"v": 1}')
    atomic.atomic_write(target, b'{"v": 2}')
    assert target.read_bytes() == b'{"v": 2}'
    assert os.listdir(tmp_path) == ["doc.json"]


def test_atomic_write_failure_before_rename_keeps_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "doc.json"
    target.write_bytes(b'{"v": 1}')

    def broken_replace(src: object, dst: object) -> None:
        assert Path(str(src)).read_bytes() == b'{"v": 2, "long": true}'  # fully written, not yet renamed
        raise OSError(5, "simulated I/O error")

    monkeypatch.setattr("service.data.atomic.os.replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        atomic.atomic_write(target, b'{"v": 2, "long": true}')
    assert target.read_bytes() == b'{"v": 1}'
    assert os.listdir(tmp_path) == ["doc.json"]


@pytest.mark.integration
def test_atomic_write_crash_before_rename_leaves_only_a_recognised_temp(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    root = data_dir / "appdocs"
    root.mkdir(parents=True)
    (root / "doc.json").write_bytes(b'{"v": 1}')
    # A real process dies (os._exit: no cleanup, no finally) between fsync and rename.
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from service.data import atomic
        atomic.os.replace = lambda src, dst: os._exit(9)
        atomic.atomic_write(Path({str(root / "doc.json")!r}), b'{{"v": 2}}')
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=30, check=False)
    assert result.returncode == 9
    leftovers = [name for name in os.listdir(root) if name != "doc.json"]
    assert len(leftovers) == 1 and atomic.is_temp_name(leftovers[0])
    assert (root / "doc.json").read_bytes() == b'{"v": 1}'
    assert [d.path for d in DocumentStore(data_dir).documents()] == ["doc.json"]
    assert DocumentStore(data_dir).status()["documents"] == 1
    assert validate_data_dir(data_dir) == []
    backup, skipped = export_backup(root)
    assert [document["path"] for document in backup["documents"]] == ["doc.json"] and skipped == []


def test_sweep_temp_files_removes_only_leftovers(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    keep = [tmp_path / "doc.json", tmp_path / "sub" / "notes.md", tmp_path / ".hidden.md", tmp_path / ".x.tmp-zz"]
    for path in keep:
        path.write_bytes(b"keep")
    leftovers = [atomic.temp_name(tmp_path / "doc.json"), atomic.temp_name(tmp_path / "sub" / "notes.md")]
    for path in leftovers:
        path.write_bytes(b"half")
    assert sorted(atomic.sweep_temp_files(tmp_path)) == sorted(leftovers)
    assert all(path.exists() for path in keep) and not any(path.exists() for path in leftovers)


def test_document_store_sweep_logs_what_it_removed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = DocumentStore(tmp_path / "data")
    store.ensure()
    (store.root / "a.txt").write_bytes(b"a")
    leftover = atomic.temp_name(store.root / "a.txt")
    leftover.write_bytes(b"half")
    with caplog.at_level("INFO", logger="ai_diy.data"):
        assert store.sweep() == [leftover.name]
        assert store.sweep() == []
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "interrupted_writes_swept"]
    assert record.levelname == "WARNING" and record.details == {"count": 1, "paths": [leftover.name]}  # type: ignore[attr-defined]  # a field logged with extra=
    assert [d.path for d in store.documents()] == ["a.txt"]


def test_temp_name_is_hidden_and_recognised(tmp_path: Path) -> None:
    name = atomic.temp_name(tmp_path / "report.md").name
    assert name.startswith(".report.md.tmp-")
    assert atomic.is_temp_name(name)
    assert not atomic.is_temp_name("report.md")
    assert not atomic.is_temp_name(".report.md.tmp-zz")


def test_atomic_delete_removes_file(tmp_path: Path) -> None:
    target = tmp_path / "gone.txt"
    target.write_text("x")
    atomic.atomic_delete(target)
    assert not target.exists()


def test_atomic_write_handles_a_name_at_the_file_system_limit(tmp_path: Path) -> None:
    target = tmp_path / ("n" * 251 + ".txt")  # 255 bytes: the longest name a file can have
    atomic.atomic_write(target, b"long name")
    assert target.read_bytes() == b"long name"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
