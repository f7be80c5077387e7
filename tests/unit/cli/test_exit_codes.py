"""Every command's exit codes are the ones the README's table (and docs/operations.md's copy) documents."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from service.cli import COMMANDS, main
from service.cli import prune_backups as prune_backups_command
from service.drills import stack as drill_stack
from tests.support.net import free_port
from tests.support.processes import ROOT

START, END = "<!-- exit codes:", "<!-- end of exit codes -->"


def _table(document: Path) -> str:
    text = document.read_text()
    return text[text.index(START) : text.index(END)]


def documented() -> dict[tuple[str, int], str]:
    """(command, exit code) -> what it means, for every cell that is not `—`."""
    found = {}
    for row in _table(ROOT / "README.md").splitlines():
        match = re.match(r"^\| `([a-z-]+)` \|(.*)\|$", row)
        if match:
            for code, meaning in enumerate(cell.strip() for cell in match.group(2).split("|")):
                if meaning != "—":
                    found[(match.group(1), code)] = meaning
    return found


@dataclass(frozen=True)
class Case:
    """A command line (built in the test's directory), its environment, and what to arrange first."""

    argv: Callable[[Path], list[str]]
    env: dict[str, str] = field(default_factory=dict)
    arrange: Callable[[Path, pytest.MonkeyPatch], object] | None = None


def _free_api_port(_: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_DIY_PORT", str(free_port()))  # chosen when the case runs: 8000 may be taken


def _damaged_snapshot(tmp_path: Path, _: pytest.MonkeyPatch) -> None:
    snapshot = tmp_path / "config-backups" / "20260101T000000Z"
    snapshot.mkdir(parents=True)
    (snapshot / "manifest.json").write_text('{"format": "ai-diy-config-backup", "files": ["env"]}')


def _failing_prune(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(doomed: object) -> None:
        raise PermissionError(13, "Permission denied", "backups/ai-diy-data-20200101.json")

    monkeypatch.setattr(prune_backups_command, "prune", refuse)


def _no_prometheus(_: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drill_stack, "find_binary", lambda names: None)


def _backups(tmp_path: Path) -> list[str]:
    backups = tmp_path / "backups"
    backups.mkdir()
    for day in ("20200101", "20200102"):
        (backups / f"ai-diy-data-{day}T000000Z.json").write_text("{}")
    return ["prune-backups", str(backups), "--older-than", "30d"]


def _data_dir(tmp_path: Path) -> list[str]:
    (tmp_path / "appdocs").mkdir()
    return ["data", "validate", "--data-dir", str(tmp_path)]


def _broken_backup(tmp_path: Path) -> list[str]:
    (tmp_path / "b.json").write_text("{not json")
    return ["data", "validate-backup", "b.json"]


CASES: dict[tuple[str, int], Case] = {
    ("serve", 2): Case(lambda _: ["serve"], {"AI_DIY_WORKERS": "0"}),
    ("validate-config", 0): Case(lambda _: ["validate-config"], arrange=_free_api_port),
    ("validate-config", 2): Case(lambda _: ["validate-config"], {"AI_DIY_LOGLEVEL": "debug"}),
    ("check", 1): Case(lambda _: ["check", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2"]),
    ("check", 2): Case(lambda _: ["check", "--timeout", "soon"]),
    ("runbook", 0): Case(lambda _: ["runbook"]),
    ("runbook", 2): Case(lambda _: ["runbook", "AiDiyNoSuchAlert"]),
    ("config", 0): Case(lambda _: ["config", "list"]),
    ("config", 1): Case(lambda _: ["config", "rollback", "--dry-run"], arrange=_damaged_snapshot),
    ("config", 2): Case(lambda _: ["config", "rollback", "20990101T000000Z"]),
    ("data", 0): Case(_data_dir),
    ("data", 1): Case(_broken_backup),
    ("data", 2): Case(lambda _: ["data", "validate"], {"AI_DIY_PORT": "eighty"}),
    ("prune-backups", 0): Case(_backups),
    ("prune-backups", 1): Case(_backups, arrange=_failing_prune),
    ("prune-backups", 2): Case(lambda tp: ["prune-backups", str(tp / "missing"), "--older-than", "30d"]),
    ("logs", 0): Case(lambda tp: ["logs", "rotate", "--dry-run", "--log-dir", str(tp)]),
    ("logs", 1): Case(lambda tp: ["logs", "rotate", "--log-dir", str(tp / "missing")]),
    ("logs", 2): Case(lambda _: ["logs", "rotate"], {"AI_DIY_LOG_LEVEL": "loud"}),
    ("stack", 2): Case(lambda _: ["stack"], {"AI_DIY_PORT": "eighty"}),
    ("drill", 0): Case(lambda _: ["drill", "--list"]),
    ("drill", 1): Case(lambda tp: ["drill", "AiDiyAuthFailures:warning", "--workdir", str(tp)], arrange=_no_prometheus),
    ("drill", 2): Case(lambda _: ["drill", "AiDiyNoSuchAlert"]),
}
# Cells whose case needs a running service or stack: the test that runs it.
RUN_ELSEWHERE = {
    ("serve", 0): "tests/reliability/test_shutdown.py::test_shutdown_sigterm_lets_slow_downloads_finish_and_exits_0",
    ("serve", 1): "not run by a test: a worker must be killed from outside while the supervisor serves",
    ("check", 0): "tests/integration/service/test_check.py::test_check_command_passes_against_a_healthy_instance",
    ("stack", 0): "tests/integration/dashboards/test_stack.py",
    ("stack", 1): "not run by a test: a component must fail to come up",
}


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:  # argparse refuses a command line by exiting
        return int(stop.code or 0)


def test_exit_codes_table_is_the_same_in_readme_and_operations() -> None:
    assert _table(ROOT / "README.md") == _table(ROOT / "docs" / "operations.md")


def test_exit_codes_table_names_every_command_and_every_cell_is_exercised() -> None:
    table = documented()
    assert {command for command, _ in table} == {
        module.__name__.rsplit(".", 1)[1].replace("_", "-") for module in COMMANDS
    }
    assert set(table) == set(CASES) | set(RUN_ELSEWHERE)


@pytest.mark.parametrize("cell", CASES, ids=[f"{command}-{code}" for command, code in CASES])
def test_exit_codes_each_command_exits_as_documented(
    cell: tuple[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES[cell]
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    if case.arrange is not None:
        case.arrange(tmp_path, monkeypatch)
    argv = case.argv(tmp_path)
    assert _exit_code(argv) == cell[1], capsys.readouterr()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if cell[1] != 0:
        assert err.strip(), "a failure says why on stderr"


def test_exit_codes_interrupted_command_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("service.cli.config.cmd_list", interrupted)
    assert _exit_code(["config", "list"]) == 130
