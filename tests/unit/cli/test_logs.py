"""`ai-diy logs archive`'s output: a .tar.gz (or .tgz) by name, and never over an archive unasked."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from service.cli import main

LOG = "ai_diy_api_20260301.jsonl"


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    (directory / LOG).write_text('{"message": "hello"}\n')
    return directory


def _archive(log_dir: Path, output: Path, *options: str) -> int:
    return main(["logs", "archive", "--log-dir", str(log_dir), "-o", str(output), *options])


def _members(archive: Path) -> list[str]:
    with tarfile.open(archive, "r:gz") as bundle:
        return bundle.getnames()


@pytest.mark.parametrize("suffix", [".zip", ".tar", ".gz", ".tar.bz2", ""])
def test_logs_archive_refuses_a_name_that_is_not_a_gzip_tar_in_one_line_exit_2(
    suffix: str, log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / f"archive{suffix}"
    assert _archive(log_dir, output) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"error: --output: {output} must end in .tar.gz or .tgz (the archive is a gzip-compressed tar)"
    ]
    assert captured.out == "" and not output.exists()


@pytest.mark.parametrize("name", ["logs.tar.gz", "logs.tgz", "LOGS.TGZ"])
def test_logs_archive_writes_a_gzip_tar_under_either_suffix(name: str, log_dir: Path, tmp_path: Path) -> None:
    assert _archive(log_dir, tmp_path / name) == 0
    assert _members(tmp_path / name) == [f"logs/{LOG}"]


def test_logs_archive_refuses_an_existing_archive_and_leaves_it_alone(
    log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "logs.tar.gz"
    output.write_bytes(b"yesterday's archive")
    assert _archive(log_dir, output) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: --output: {output} exists; pass --force to replace it"]
    assert output.read_bytes() == b"yesterday's archive"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["logs", "logs.tar.gz"], "no temporary file is left"


def test_logs_archive_force_replaces_an_existing_archive(
    log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "logs.tgz"
    output.write_bytes(b"yesterday's archive")
    assert _archive(log_dir, output, "--force") == 0
    assert _members(output) == [f"logs/{LOG}"]
    assert capsys.readouterr().out == f"archived 1 log file(s) from {log_dir} to {output}\n"
