"""`ai-diy logs rotate | archive` over a synthetic log directory spanning 400 days."""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import tarfile
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from service.cli import logs as logs_cli
from service.ops import retention

TODAY = date(2026, 3, 1)
KINDS = ("api", "security", "audit", "backup")
# kind -> (keep days, compressed when older than)
RULES = {"api": (30, 7), "security": (90, 7), "audit": (365, 7), "backup": (7, 1)}
UNKNOWN = ["notes.txt", "ai_diy_api_2025.jsonl", "ai_diy_api_20251399.jsonl", "other_20200101.jsonl"]


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    logs_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    answer: int = args.func(args)
    return answer


def name(kind: str, age: int, suffix: str = ".jsonl") -> str:
    return f"ai_diy_{kind}_{(TODAY - timedelta(days=age)):%Y%m%d}{suffix}"


def line(kind: str, age: int) -> bytes:
    return f'{{"logger":"ai_diy.{kind}","message":"day -{age}","n":{age}}}\n'.encode() * 3


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    """400 days of every kind; mtimes all *now*, so only the names can give the age."""
    directory = tmp_path / "logs"
    directory.mkdir()
    for kind in KINDS:
        for age in range(400):
            (directory / name(kind, age)).write_bytes(line(kind, age))
    # An emergency-restart copy and a file a previous run already gzipped.
    (directory / name("api", 10, "_pre_restart.jsonl")).write_bytes(b'{"pre":"restart"}\n')
    (directory / name("security", 20)).unlink()
    (directory / name("security", 20, ".jsonl.gz")).write_bytes(gzip.compress(line("security", 20)))
    for unknown in UNKNOWN:
        (directory / unknown).write_bytes(b"leave me alone\n")
    old = time.time() - 1000 * 86400
    os.utime(directory / name("api", 0), (old, old))  # ancient mtime, today's name
    return directory


def expected_state() -> dict[str, bytes]:
    """File name -> uncompressed content that must remain after rotation."""
    state = {}
    for kind, (keep, compress_after) in RULES.items():
        for age in range(keep + 1):
            state[name(kind, age, ".jsonl.gz" if age > compress_after else ".jsonl")] = line(kind, age)
    state[name("api", 10, "_pre_restart.jsonl.gz")] = b'{"pre":"restart"}\n'
    for unknown in UNKNOWN:
        state[unknown] = b"leave me alone\n"
    return state


def actual_state(directory: Path) -> dict[str, bytes]:
    return {
        p.name: gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes()
        for p in directory.iterdir()
    }


def rotate_args(directory: Path, *extra: str) -> list[str]:
    return ["logs", "rotate", "--log-dir", str(directory), "--today", f"{TODAY:%Y%m%d}", *extra]


def test_rotate_keeps_compresses_and_deletes_by_name_date(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(rotate_args(log_dir)) == 0
    assert actual_state(log_dir) == expected_state()
    out = capsys.readouterr().out
    assert f"deleted {name('api', 31)} (31 days old, api logs are kept 30 days)" in out
    assert f"compressed {name('audit', 8)} -> {name('audit', 8)}.gz" in out
    assert name("api", 0) not in out  # today's file, despite its ancient mtime


def test_rotate_gz_files_are_valid_gzip_of_the_originals(log_dir: Path) -> None:
    original = hashlib.sha256(line("audit", 200)).hexdigest()
    assert run(rotate_args(log_dir)) == 0
    with gzip.open(log_dir / name("audit", 200, ".jsonl.gz"), "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == original
    assert not (log_dir / name("audit", 200)).exists()


def test_rotate_is_idempotent(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(rotate_args(log_dir)) == 0
    first = {p.name: p.read_bytes() for p in log_dir.iterdir()}
    capsys.readouterr()
    assert run(rotate_args(log_dir)) == 0
    assert "completed: 0 action(s)" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in log_dir.iterdir()} == first


def test_rotate_dry_run_changes_nothing(log_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in log_dir.iterdir()}
    assert run(rotate_args(log_dir, "--dry-run")) == 0
    out = capsys.readouterr().out
    assert f"would delete {name('security', 91)}" in out and f"would compress {name('api', 8)}" in out
    assert {p.name: p.read_bytes() for p in log_dir.iterdir()} == before


def test_rotate_custom_periods(log_dir: Path) -> None:
    assert run(rotate_args(log_dir, "--app-days", "3", "--compress-after", "1", "--audit-days", "400")) == 0
    names = {p.name for p in log_dir.iterdir()}
    assert {name("api", a, ".jsonl.gz") for a in (2, 3)} <= names and name("api", 4, ".jsonl.gz") not in names
    assert name("audit", 399, ".jsonl.gz") in names and name("api", 1) in names


def test_rotate_finishes_interrupted_compression(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / name("api", 9)).write_bytes(b"same\n")
    (tmp_path / name("api", 9, ".jsonl.gz")).write_bytes(gzip.compress(b"same\n"))
    (tmp_path / name("api", 10)).write_bytes(b"plain\n")
    (tmp_path / name("api", 10, ".jsonl.gz")).write_bytes(gzip.compress(b"different\n"))
    assert run(rotate_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [name("api", 9, ".jsonl.gz"), name("api", 10), name("api", 10, ".jsonl.gz")]
    )
    assert "check by hand" in out


def test_compress_failure_keeps_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / name("api", 9)
    source.write_bytes(b"keep\n")

    def broken(src: object, dst: object) -> None:
        raise OSError(28, "simulated: no space left")

    monkeypatch.setattr("service.ops.retention.os.replace", broken)
    with pytest.raises(OSError):
        retention.compress(source)
    assert [p.name for p in tmp_path.iterdir()] == [source.name]


def test_rotate_rejects_bad_day_and_missing_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(["logs", "rotate", "--today", "2026-03-01"])
    assert "expected YYYYMMDD" in capsys.readouterr().err
    assert run(["logs", "rotate", "--log-dir", str(tmp_path / "none")]) == 1


def test_rotate_reads_log_dir_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "envlogs").mkdir()
    (tmp_path / "envlogs" / name("api", 40)).write_text("{}\n")
    monkeypatch.setenv("AI_DIY_LOG_DIR", str(tmp_path / "envlogs"))
    assert run(["logs", "rotate", "--today", f"{TODAY:%Y%m%d}"]) == 0
    assert list((tmp_path / "envlogs").iterdir()) == []


def test_archive_bundles_every_log_file(log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(rotate_args(log_dir)) == 0
    output = tmp_path / "ai-diy-logs.tar.gz"
    assert run(["logs", "archive", "--log-dir", str(log_dir), "-o", str(output)]) == 0
    expected = {n for n in expected_state() if n not in UNKNOWN}
    with tarfile.open(output, "r:gz") as bundle:
        members = {m.name.removeprefix("logs/"): m for m in bundle.getmembers()}
        assert set(members) == expected
        packed = bundle.extractfile(members[name("security", 20, ".jsonl.gz")])
        assert packed is not None and gzip.decompress(packed.read()) == line("security", 20)
    assert f"archived {len(expected)} log file(s)" in capsys.readouterr().out


def test_archive_never_replaces_an_output_that_appears_while_it_writes(log_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "ai-diy-logs.tar.gz"

    def meanwhile(name: str, size: int) -> None:
        if not output.exists():
            output.write_bytes(b"another archive")

    with pytest.raises(FileExistsError):
        retention.archive(log_dir, output, meanwhile)
    assert output.read_bytes() == b"another archive"
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == [], "no temporary file is left"
