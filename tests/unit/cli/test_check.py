"""`ai-diy check`'s target: the configured address unless --url names one, and named in every failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main
from tests.support.net import free_port


def _check(argv: list[str]) -> int:
    try:
        return main(["check", "--timeout", "2", *argv])
    except SystemExit as stop:  # argparse refuses a command line by exiting
        return int(stop.code or 0)


@pytest.mark.parametrize(
    ("host", "reached"),
    [("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("::", "[::1]")],  # noqa: S104
)
def test_check_failure_names_the_configured_url_it_tried(
    host: str, reached: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there
    monkeypatch.setenv("AI_DIY_HOST", host)
    monkeypatch.setenv("AI_DIY_PORT", str(port))
    assert _check([]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"❌ Application health check failed: http://{reached}:{port}/health: "), line


def test_check_reads_the_port_from_dotenv(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    Path(".env").write_text(f"AI_DIY_PORT={port}\n")  # the working directory is the test's own
    assert _check(["--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["url"] == f"http://127.0.0.1:{port}"
    assert report["checks"]["health"]["detail"].startswith(f"http://127.0.0.1:{port}/health: ")


def test_check_explicit_url_wins_over_the_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_PORT", "eighty")  # not read at all when --url is given
    url = f"http://127.0.0.1:{free_port()}"
    assert _check(["--url", f"{url}/", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["url"] == url


def test_check_bad_setting_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_PORT", "eighty")
    assert _check([]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("configuration error: AI_DIY_PORT: "), line


def test_check_url_without_a_scheme_is_a_bad_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(["--url", "localhost:8000"]) == 2
    assert "argument --url: expected http://host:port" in capsys.readouterr().err
