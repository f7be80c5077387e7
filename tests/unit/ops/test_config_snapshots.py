"""Config snapshots: validated whole before any file is touched, applied all-or-nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from service.cli import main
from service.ops import config_snapshots as snap
from tests.support.environment import clean_environment

__all__ = ["clean_environment"]

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
OLD_ENV = b"AI_DIY_PORT=8123\n"
OLD_MODELS = b'{"favorites": ["a"], "default": "a"}\n'
NEW_ENV = b"AI_DIY_PORT=9000\n"
NEW_MODELS = b'{"favorites": ["b"], "default": "b"}\n'


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    """A snapshot of OLD_*; the live files then hold NEW_*."""
    (tmp_path / "ai-diy.env").write_bytes(OLD_ENV)
    (tmp_path / "models.json").write_bytes(OLD_MODELS)
    made = snap.save(
        [snap.ConfigFile("env", tmp_path / "ai-diy.env"), snap.ConfigFile("models", tmp_path / "models.json")],
        tmp_path / "config-backups",
        now=NOW,
    )
    (tmp_path / "ai-diy.env").write_bytes(NEW_ENV)
    (tmp_path / "models.json").write_bytes(NEW_MODELS)
    return made


def _hashes(tmp_path: Path) -> dict[str, str]:
    """sha256 of every file in tmp_path (not below): the live configuration and any leftover beside it."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tmp_path.iterdir()) if p.is_file()}


def _edit_manifest(snapshot: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    manifest = json.loads((snapshot / snap.MANIFEST).read_text())
    edit(manifest)
    (snapshot / snap.MANIFEST).write_text(json.dumps(manifest))


DAMAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "models-entry-without-mode": lambda m: m["files"][1].pop("mode"),
    "files-as-role-names": lambda m: m.update(files=["env"]),
    "entry-without-path": lambda m: m["files"][0].pop("path"),
    "mode-as-string": lambda m: m["files"][1].update(mode="0644"),
    "relative-path": lambda m: m["files"][0].update(path="ai-diy.env"),
    "nul-in-path": lambda m: m["files"][0].update(path="/etc/ai-diy\x00.env"),
    "owner-out-of-range": lambda m: m["files"][0].update(uid=2**40),
    "size-as-string": lambda m: m["files"][0].update(size="12"),
    "role-outside-the-snapshot": lambda m: m["files"][0].update(role="../../etc/passwd"),
    "present-as-number": lambda m: m["files"][0].update(present=1),
    "no-files": lambda m: m.update(files=[]),
    "same-role-twice": lambda m: m.update(files=[m["files"][0], m["files"][0]]),
    "wrong-format": lambda m: m.update(format=["x"]),
}


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "dry-run"])
def test_config_rollback_damaged_manifest_changes_nothing_and_says_why_in_one_line_each(
    snapshot: Path,
    tmp_path: Path,
    damage: Callable[[dict[str, Any]], None],
    dry_run: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _edit_manifest(snapshot, damage)
    before = _hashes(tmp_path)
    argv = ["config", "rollback", snapshot.name, *(["--dry-run"] if dry_run else [])]
    assert main(argv) == 1
    assert _hashes(tmp_path) == before, "not one live file was touched"
    assert sorted(p.name for p in (tmp_path / "config-backups").iterdir()) == [snapshot.name]
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[-1] == f"{Path('config-backups') / snapshot.name} is damaged; nothing was changed"
    manifest = Path("config-backups") / snapshot.name / snap.MANIFEST
    assert lines[:-1] and all(line.startswith(f"{manifest}: ") for line in lines[:-1])


def test_config_rollback_manifest_without_mode_names_the_field(snapshot: Path) -> None:
    _edit_manifest(snapshot, DAMAGES["models-entry-without-mode"])
    with pytest.raises(snap.SnapshotError) as caught:
        snap.load(snapshot)
    assert caught.value.problems == [f"{snapshot / snap.MANIFEST}: files[1]: a present file needs mode"]


def test_config_rollback_string_mode_is_refused_with_the_value_given(snapshot: Path) -> None:
    _edit_manifest(snapshot, DAMAGES["mode-as-string"])
    with pytest.raises(snap.SnapshotError) as caught:
        snap.load(snapshot)
    assert caught.value.problems == [
        f"{snapshot / snap.MANIFEST}: files[1].mode: Input should be a valid integer (got '0644')"
    ]


def test_config_rollback_failure_between_renames_restores_every_file(
    snapshot: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _hashes(tmp_path)
    commits: list[Path] = []
    real_commit = snap._commit

    def commit_then_fail(change: snap.Change, staged: Path | None) -> None:
        if commits:  # the first file is already renamed into place: fail the second rename
            raise OSError(28, "No space left on device", str(change.path))
        real_commit(change, staged)
        commits.append(change.path)

    monkeypatch.setattr(snap, "_commit", commit_then_fail)
    assert main(["config", "rollback", snapshot.name]) == 1
    assert commits == [tmp_path / "ai-diy.env"], "the failure came after one file was replaced"
    assert _hashes(tmp_path) == before, "the replaced file is back, no staged or kept copy is left"
    assert (tmp_path / "ai-diy.env").read_bytes() == NEW_ENV
    assert sorted(p.name for p in (tmp_path / "config-backups").iterdir()) == [snapshot.name]
    assert capsys.readouterr().err.splitlines() == [
        f"config rollback failed, nothing was changed: {tmp_path / 'models.json'}: No space left on device"
    ]


def test_config_rollback_failure_while_removing_puts_the_restored_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ai-diy.env").write_bytes(OLD_ENV)
    made = snap.save(
        [snap.ConfigFile("env", tmp_path / "ai-diy.env"), snap.ConfigFile("models", tmp_path / "models.json")],
        tmp_path / "config-backups",
        now=NOW,
    )
    (tmp_path / "ai-diy.env").write_bytes(NEW_ENV)
    (tmp_path / "models.json").write_bytes(NEW_MODELS)
    before = _hashes(tmp_path)
    real_commit = snap._commit

    def fail_removal(change: snap.Change, staged: Path | None) -> None:
        if change.verb == "remove":
            raise PermissionError(13, "Permission denied", str(change.path))
        real_commit(change, staged)

    monkeypatch.setattr(snap, "_commit", fail_removal)
    with pytest.raises(PermissionError):
        snap.rollback(made, tmp_path / "config-backups", now=NOW)
    assert _hashes(tmp_path) == before


def test_config_rollback_applies_every_file_and_leaves_no_staged_copy(snapshot: Path, tmp_path: Path) -> None:
    result = snap.rollback(snapshot, tmp_path / "config-backups", now=NOW)
    assert [(c.path.name, c.verb) for c in result.changes] == [("ai-diy.env", "restore"), ("models.json", "restore")]
    assert _hashes(tmp_path) == {
        "ai-diy.env": hashlib.sha256(OLD_ENV).hexdigest(),
        "models.json": hashlib.sha256(OLD_MODELS).hexdigest(),
    }
    assert result.replaced is not None and (result.replaced / "env").read_bytes() == NEW_ENV


def test_config_rollback_dry_run_refuses_what_the_rollback_would_refuse(snapshot: Path, tmp_path: Path) -> None:
    _edit_manifest(snapshot, lambda m: m["files"][1].update(path=str(tmp_path / "gone" / "models.json")))
    with pytest.raises(snap.RollbackRefused) as dry:
        snap.rollback(snapshot, tmp_path / "config-backups", now=NOW, dry_run=True)
    with pytest.raises(snap.RollbackRefused) as real:
        snap.rollback(snapshot, tmp_path / "config-backups", now=NOW)
    assert (
        dry.value.problems
        == real.value.problems
        == [f"{tmp_path / 'gone' / 'models.json'}: directory {tmp_path / 'gone'} does not exist"]
    )
    assert (tmp_path / "ai-diy.env").read_bytes() == NEW_ENV


def test_config_list_shows_a_damaged_snapshot_and_goes_on(
    snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    later = snap.save([snap.ConfigFile("env", tmp_path / "ai-diy.env")], tmp_path / "config-backups", now=NOW)
    _edit_manifest(snapshot, DAMAGES["files-as-role-names"])
    assert main(["config", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{snapshot.name}: damaged ({Path('config-backups') / snapshot.name / snap.MANIFEST}: files[0]: "
        "Input should be an object (got 'env'))",
        f"{later.name}: {tmp_path / 'ai-diy.env'}",
    ]


def test_config_rollback_target_that_became_a_directory_is_refused_before_any_change(
    snapshot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models.json").unlink()
    (tmp_path / "models.json").mkdir()
    before = _hashes(tmp_path)
    for argv in (["config", "rollback", snapshot.name, "--dry-run"], ["config", "rollback", snapshot.name]):
        assert main(argv) == 1
        assert capsys.readouterr().err.splitlines() == [
            f"{tmp_path / 'models.json'}: is not a regular file; it is left alone",
            f"{Path('config-backups') / snapshot.name} cannot be rolled back to; nothing was changed",
        ]
    assert _hashes(tmp_path) == before and (tmp_path / "ai-diy.env").read_bytes() == NEW_ENV
