"""`ai-diy data validate`: the live documents directory and its problems."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from service.cli import data as data_cli
from service.data.validate import validate_data_dir


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    data_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    answer: int = args.func(args)
    return answer


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data" / "appdocs"
    (root / "sub").mkdir(parents=True)
    (root / "ok.json").write_text('{"a": 1}')
    (root / "sub" / "page.md").write_text("# hi")
    return tmp_path / "data"


def test_validate_healthy_directory_exits_0(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_data_dir(data_dir) == []
    assert run(["data", "validate", "--data-dir", str(data_dir)]) == 0
    assert "2 documents, no problems" in capsys.readouterr().out


def test_validate_reports_every_problem(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = data_dir / "appdocs"
    (root / "broken.json").write_text('{"a": ')
    (root / "tool.exe").write_bytes(b"MZ")
    (root / ".ok.json.tmp-0123456789ab").write_text("{")
    (tmp_path / "secret.txt").write_text("outside")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(tmp_path, root / "sub" / "escape")
    (data_dir / ".appdocs.import-abc").mkdir()
    problems = validate_data_dir(data_dir)
    assert not any("tmp-0123456789ab" in p for p in problems)  # an interrupted write's leftover is no problem
    assert any(p.startswith("broken.json: not valid JSON") for p in problems)
    assert "tool.exe: name refused: extension not allowed (never served)" in problems
    assert any(p.startswith("link.txt: symlink escapes the documents root") for p in problems)
    assert any(p.startswith("sub/escape: directory symlink escapes") for p in problems)
    assert any("leftover of an interrupted import" in p for p in problems)
    assert len(problems) == 5
    assert run(["data", "validate", "--data-dir", str(data_dir)]) == 1
    assert "5 problem(s)" in capsys.readouterr().err


def test_validate_missing_documents_directory_is_a_problem(tmp_path: Path) -> None:
    assert validate_data_dir(tmp_path) == [f"{tmp_path / 'appdocs'}: documents directory does not exist"]


def test_validate_symlink_inside_root_is_accepted(data_dir: Path) -> None:
    os.symlink(data_dir / "appdocs" / "ok.json", data_dir / "appdocs" / "alias.json")
    assert validate_data_dir(data_dir) == []
