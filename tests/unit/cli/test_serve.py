"""`ai-diy serve`'s command line: --host, --port and --workers, judged by the start-up check."""

from __future__ import annotations

import pytest

from service.cli import main
from tests.support.net import free_port


def _serve(argv: list[str]) -> int:
    try:
        return main(["serve", *argv])
    except SystemExit as stop:  # argparse ends --help (and a refused command line) by exiting
        return int(stop.code or 0)


def test_serve_help_shows_host_port_and_workers(capsys: pytest.CaptureFixture[str]) -> None:
    assert _serve(["--help"]) == 0
    out = capsys.readouterr().out
    for option, variable in (("--host HOST", "AI_DIY_HOST"), ("--port PORT", "AI_DIY_PORT"), ("--workers", "WORKERS")):
        assert option in out and variable in out, out


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--port", "eighty"], "configuration error: --port: Input should be a valid integer"),
        (["--port", "70000"], "configuration error: --port: Input should be less than or equal to 65535"),
        (["--port", "0"], "configuration error: --port: Input should be greater than or equal to 1"),
        (["--workers", "0"], "configuration error: --workers: Input should be greater than or equal to 1"),
    ],
    ids=["not-a-number", "too-high", "zero", "no-workers"],
)
def test_serve_bad_option_value_is_one_line_naming_the_option_and_exit_2(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _serve(argv) == 2
    captured = capsys.readouterr()
    (only,) = captured.err.splitlines()
    assert only.startswith(line), only
    assert captured.out == "", "nothing is announced before the check passes"


def test_serve_option_overrides_the_environment_in_every_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # AI_DIY_PORT alone would pass; --port meets the metrics port the environment sets.
    metrics = free_port()
    monkeypatch.setenv("AI_DIY_PORT", str(free_port()))
    monkeypatch.setenv("AI_DIY_METRICS_PORT", str(metrics))
    assert _serve(["--port", str(metrics)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"configuration error: AI_DIY_METRICS_PORT: must differ from --port (both are {metrics})"
    ]
    assert captured.out == ""


def test_serve_bad_environment_still_names_the_variable_beside_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_WORKERS", "many")
    assert _serve(["--port", str(free_port())]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("configuration error: AI_DIY_WORKERS: Input should be a valid integer"), line
