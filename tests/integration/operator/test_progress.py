"""Progress of the long commands, run as processes: a bar on a terminal, nothing on a pipe, --quiet and --verbose."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from service.cli import main
from tests.support.processes import service_env
from tests.support.terminal import run_with_terminal_stderr

pytestmark = pytest.mark.integration

DOCUMENTS = {"a.txt": b"a" * 1000, "c.json": b'{"k": 1}', "notes/b.md": b"b" * 2000}  # 3008 bytes: 3.0 kB
# Rotated on 2024-02-01: the first is past the 30 days api logs are kept, the others get compressed.
LOGS = {"ai_diy_api_20240101.jsonl": 1500, "ai_diy_api_20240120.jsonl": 500, "ai_diy_audit_20240110.jsonl": 1000}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A data directory, a backup of it, and a log directory to rotate or archive."""
    for rel, data in DOCUMENTS.items():
        (tmp_path / "data" / "appdocs" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "appdocs" / rel).write_bytes(data)
    assert (
        main(["data", "export", "--data-dir", str(tmp_path / "data"), "-o", str(tmp_path / "backup.json"), "-q"]) == 0
    )
    (tmp_path / "logs").mkdir()
    for name, size in LOGS.items():
        (tmp_path / "logs" / name).write_text('{"event": "x"}\n' * (size // 15) + "x" * (size % 15))
    return tmp_path


# Each command: its arguments in the workspace, the bars it shows (label, counts and bytes),
# and all it writes to stderr on a pipe.
Case = tuple[Callable[[Path], list[str]], list[tuple[str, str]], Callable[[Path], str]]
COMMANDS: dict[str, Case] = {
    "data export": (
        lambda w: ["data", "export", "--data-dir", str(w / "data"), "-o", str(w / "out.json")],
        [("export", "3/3 files  3.0/3.0 kB")],
        lambda w: f"exported 3 documents to {w / 'out.json'}\n",
    ),
    "data validate-backup": (
        lambda w: ["data", "validate-backup", str(w / "backup.json")],
        [("verify", "3/3 files  3.0 kB")],
        lambda w: "",
    ),
    "data import": (
        lambda w: ["data", "import", str(w / "backup.json"), "--data-dir", str(w / "restored")],
        [("verify", "3/3 files  3.0 kB"), ("write", "3/3 files  3.0 kB")],
        lambda w: "",
    ),
    "logs rotate": (
        lambda w: ["logs", "rotate", "--today", "20240201", "--log-dir", str(w / "logs")],
        [("rotate", "3/3 files  3.0/3.0 kB")],
        lambda w: "",
    ),
    "logs archive": (
        lambda w: ["logs", "archive", "-o", str(w / "logs.tar.gz"), "--log-dir", str(w / "logs")],
        [("archive", "3/3 files  3.0/3.0 kB")],
        lambda w: "",
    ),
}


def _argv(workspace: Path, command: str, *options: str) -> list[str]:
    return [sys.executable, "-m", "service.cli", *COMMANDS[command][0](workspace), *options]


def _env(workspace: Path) -> dict[str, str]:
    return service_env(workspace, COLUMNS="120")


@pytest.mark.parametrize("command", COMMANDS)
def test_progress_bar_with_counts_and_bytes_on_a_terminal(workspace: Path, command: str) -> None:
    run = run_with_terminal_stderr(_argv(workspace, command), env=_env(workspace), cwd=workspace)
    assert run.returncode == 0, run.terminal
    assert "\x1b[" in run.terminal  # drawn live, not printed as lines
    for label, counts in COMMANDS[command][1]:
        assert re.search(rf"^{label}\s.*\s{re.escape(counts)}\s", run.terminal_text, re.MULTILINE), run.terminal_text
    assert run.terminal_text.endswith(COMMANDS[command][2](workspace))


@pytest.mark.parametrize("command", COMMANDS)
def test_progress_nothing_but_the_results_on_a_pipe(workspace: Path, command: str) -> None:
    result = subprocess.run(
        _argv(workspace, command),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(workspace),
        cwd=workspace,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == COMMANDS[command][2](workspace)


@pytest.mark.parametrize("command", COMMANDS)
def test_progress_quiet_draws_no_bar_on_a_terminal(workspace: Path, command: str) -> None:
    run = run_with_terminal_stderr(_argv(workspace, command, "--quiet"), env=_env(workspace), cwd=workspace)
    assert run.returncode == 0, run.terminal
    assert run.terminal_text == COMMANDS[command][2](workspace)


def test_progress_verbose_lists_each_file_even_on_a_pipe(workspace: Path) -> None:
    result = subprocess.run(
        _argv(workspace, "data export", "--verbose"),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(workspace),
        cwd=workspace,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "export: a.txt (1.0 kB)",
        "export: c.json (8 bytes)",
        "export: notes/b.md (2.0 kB)",
        f"exported 3 documents to {workspace / 'out.json'}",
    ]


@pytest.mark.parametrize("command", ["data import", "logs rotate", "logs archive", "data validate-backup"])
def test_progress_verbose_names_every_file_of_each_command(workspace: Path, command: str) -> None:
    result = subprocess.run(
        _argv(workspace, command, "-v"),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(workspace),
        cwd=workspace,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = DOCUMENTS if command.startswith("data") else LOGS
    for label, _ in COMMANDS[command][1]:
        listed = [
            line.split(": ", 1)[1].rsplit(" (", 1)[0]
            for line in result.stderr.splitlines()
            if line.startswith(f"{label}: ")
        ]
        assert listed == sorted(names), result.stderr


def test_progress_quiet_and_verbose_are_refused_together(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["data", "validate-backup", str(workspace / "backup.json"), "--quiet", "--verbose"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
