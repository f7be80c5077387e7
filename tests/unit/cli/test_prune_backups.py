"""`ai-diy prune-backups`: old data backups go by the date in their names; the newest always stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from service.ops.backups import export_backup

TODAY = "20250301"


def _backup(directory: Path, name: str) -> Path:
    appdocs = directory.parent / "appdocs"
    appdocs.mkdir(exist_ok=True)
    (appdocs / "a.md").write_text("# a\n")
    backup, _ = export_backup(appdocs)
    path = directory / name
    path.write_text(json.dumps(backup, indent=1) + "\n")
    return path


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    directory = tmp_path / "backup"
    directory.mkdir()
    for name in (
        "ai-diy-data-20250101.json",
        "ai-diy-data-20250120.json",
        "ai-diy-data-20250215.json",
        "ai-diy-data-20250301.json",
    ):
        _backup(directory, name)
    (directory / "notes-20240101.json").write_text("{}\n")  # not a backup name
    (directory / "ai-diy-data-20240101.json").write_text(
        '{"format": "something-else"}\n'
    )  # a backup name, not a backup
    return directory


def _names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_prune_backups_deletes_backups_older_than_the_age(backups: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prune-backups", str(backups), "--older-than", "30d", "--today", TODAY]) == 0
    assert _names(backups) == [
        "ai-diy-data-20240101.json",
        "ai-diy-data-20250215.json",
        "ai-diy-data-20250301.json",
        "notes-20240101.json",
    ]
    out = capsys.readouterr().out
    assert "deleted ai-diy-data-20250101.json (59 days old)" in out
    assert "deleted ai-diy-data-20250120.json (40 days old)" in out
    assert "kept ai-diy-data-20250215.json (14 days old)" in out
    assert out.splitlines()[-1] == f"deleted 2 backup(s) older than 30 days from {backups}; kept 2"


def test_prune_backups_dry_run_deletes_nothing(backups: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _names(backups)
    assert main(["prune-backups", str(backups), "--older-than", "4w", "--dry-run", "--today", TODAY]) == 0
    assert _names(backups) == before
    out = capsys.readouterr().out
    assert "would delete ai-diy-data-20250101.json (59 days old)" in out
    assert out.splitlines()[-1] == f"dry run: would delete 2 backup(s) older than 28 days from {backups}; kept 2"


def test_prune_backups_always_keeps_the_newest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "backup"
    directory.mkdir()
    for name in ("ai-diy-data-20240101.json", "ai-diy-data-20240102T0300Z.json"):
        _backup(directory, name)
    assert main(["prune-backups", str(directory), "--older-than", "30d", "--today", TODAY]) == 0
    assert _names(directory) == ["ai-diy-data-20240102T0300Z.json"]
    assert "kept ai-diy-data-20240102T0300Z.json (424 days old, but one of the newest 1)" in capsys.readouterr().out


def test_prune_backups_keep_last_zero_can_empty_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "backup"
    directory.mkdir()
    _backup(directory, "ai-diy-data-20240101.json")
    assert main(["prune-backups", str(directory), "--older-than", "30d", "--keep-last", "0", "--today", TODAY]) == 0
    assert _names(directory) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--older-than", "thirty"], "expected a number of days like 30d or 4w, got 'thirty'"),
        (["--older-than", "30d", "--keep-last", "-1"], "expected a whole number >= 0, got '-1'"),
        (["--older-than", "30d", "--today", "2025-03-01"], "expected YYYYMMDD, got '2025-03-01'"),
        ([], "the following arguments are required: --older-than"),
    ],
    ids=["bad-age", "negative-keep", "bad-day", "no-age"],
)
def test_prune_backups_rejects_bad_arguments_with_exit_2(
    backups: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _names(backups)
    with pytest.raises(SystemExit) as exited:
        main(["prune-backups", str(backups), *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert _names(backups) == before


def test_prune_backups_on_a_missing_directory_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prune-backups", str(tmp_path / "nowhere"), "--older-than", "30d"]) == 2
    assert capsys.readouterr().err == f"error: prune-backups: {tmp_path / 'nowhere'}: not a directory\n"
