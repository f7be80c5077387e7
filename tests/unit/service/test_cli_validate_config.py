"""`ai-diy validate-config`: serve's start-up check without serving, with serve's verdict and lines."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.cli import main

pytestmark = pytest.mark.usefixtures("free_api_port")


def _problems(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("configuration error: ")]


def test_validate_config_passes_with_embedded_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-config"]) == 0
    captured = capsys.readouterr()
    assert "✅ settings valid" in captured.out and "embedded default" in captured.out
    assert captured.out.splitlines()[-1] == "✅ configuration is valid"
    assert captured.err == ""


def test_validate_config_fails_with_one_line_per_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_WORKERS", "eighty")
    monkeypatch.setenv("AI_DIY_APP_ENV", "staging")
    assert main(["validate-config"]) == 2
    captured = capsys.readouterr()
    assert [line.split(":")[1] for line in _problems(captured.err)] == [" AI_DIY_WORKERS", " AI_DIY_APP_ENV"]
    assert captured.out.splitlines()[-1] == "❌ 2 problem(s) found"


def test_validate_config_checks_candidate_files_before_they_are_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / "candidate.env"
    env_file.write_text("AI_DIY_RATE_LIMIT=often\n")
    models = tmp_path / "candidate_models.json"
    models.write_text(json.dumps({"favorites": ["x"], "default": "y"}))
    assert main(["validate-config", "--env-file", str(env_file), "--models-config", str(models)]) == 2
    err = capsys.readouterr().err
    assert "configuration error: AI_DIY_RATE_LIMIT:" in err
    assert "default 'y' must be one of favorites" in err


def test_validate_config_accepts_good_candidate_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / "candidate.env"
    env_file.write_text("AI_DIY_RATE_LIMIT=50/minute\nAI_DIY_APP_ENV=PRODUCTION\n")
    models = tmp_path / "candidate_models.json"
    models.write_text(json.dumps({"favorites": ["x", "y"], "default": "y"}))
    assert main(["validate-config", "--env-file", str(env_file), "--models-config", str(models)]) == 0
    assert "✅ configuration is valid" in capsys.readouterr().out


def test_validate_config_reports_a_data_dir_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a directory")
    monkeypatch.setenv("AI_DIY_DATA_DIR", str(blocker / "sub"))
    assert main(["validate-config"]) == 2
    [line] = _problems(capsys.readouterr().err)
    assert line.startswith(f"configuration error: AI_DIY_DATA_DIR: {blocker / 'sub'} cannot be created (")


@pytest.mark.parametrize(
    ("name", "value", "closest"),
    [("AI_DIY_RATELIMIT", "5/minute", "AI_DIY_RATE_LIMIT"), ("AI_DIY_LOGLEVEL", "debug", "AI_DIY_LOG_LEVEL")],
)
@pytest.mark.parametrize("where", ["environment", ".env"])
def test_validate_config_fails_on_an_unknown_name_and_names_the_closest_setting(
    name: str,
    value: str,
    closest: str,
    where: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if where == "environment":
        monkeypatch.setenv(name, value)
    else:
        (tmp_path / ".env").write_text(f"{name}={value}\n")
    assert main(["validate-config"]) == 2
    source = "the environment" if where == "environment" else ".env"
    assert _problems(capsys.readouterr().err) == [
        f"configuration error: {name}: unknown setting in {source}, ignored (did you mean {closest}?)"
    ]


@pytest.fixture
def busy_port(free_api_port: int) -> Iterator[None]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_api_port))
        holder.listen()
        yield


def _metrics_port_is_api_port(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv("AI_DIY_METRICS_PORT", str(port))


def _log_dir_under_proc(monkeypatch: pytest.MonkeyPatch, _: int) -> None:
    monkeypatch.setenv("AI_DIY_LOG_DIR", "/proc/ai-diy-logs")


def _data_dir_is_a_file(monkeypatch: pytest.MonkeyPatch, _: int) -> None:
    Path("blocker").write_text("x")
    monkeypatch.setenv("AI_DIY_DATA_DIR", "blocker")


def _bad_setting(monkeypatch: pytest.MonkeyPatch, _: int) -> None:
    monkeypatch.setenv("AI_DIY_RATE_LIMIT", "often")


def _missing_models_file(monkeypatch: pytest.MonkeyPatch, _: int) -> None:
    monkeypatch.setenv("AI_DIY_MODELS_CONFIG", "missing.json")


def _unreachable_storage_fail_closed(monkeypatch: pytest.MonkeyPatch, _: int) -> None:
    monkeypatch.setenv("AI_DIY_RATE_LIMIT_STORAGE", f"redis://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("AI_DIY_RATE_LIMIT_FAIL_CLOSED", "true")


SCENARIOS: dict[str, Callable[[pytest.MonkeyPatch, int], None]] = {
    "metrics-port-is-api-port": _metrics_port_is_api_port,
    "log-dir-under-proc": _log_dir_under_proc,
    "data-dir-is-a-file": _data_dir_is_a_file,
    "bad-setting": _bad_setting,
    "missing-models-file": _missing_models_file,
    "unreachable-storage-fail-closed": _unreachable_storage_fail_closed,
}


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_validate_config_and_serve_refuse_with_the_same_lines_and_exit_code(
    scenario: Callable[[pytest.MonkeyPatch, int], None],
    free_api_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scenario(monkeypatch, free_api_port)
    assert main(["serve"]) == 2
    served = _problems(capsys.readouterr().err)
    assert main(["validate-config"]) == 2
    validated = _problems(capsys.readouterr().err)
    assert served and validated == served


@pytest.mark.usefixtures("busy_port")
def test_validate_config_and_serve_refuse_a_busy_port_alike(
    free_api_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"]) == 2
    served = capsys.readouterr().err.splitlines()
    assert main(["validate-config"]) == 2
    assert (
        _problems(capsys.readouterr().err)
        == served
        == [
            f"configuration error: AI_DIY_HOST/AI_DIY_PORT: cannot listen on 127.0.0.1:{free_api_port}: "
            "Address already in use"
        ]
    )


def test_serve_only_warns_about_an_unknown_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_RATELIMIT", "5/minute")
    monkeypatch.setenv("AI_DIY_WORKERS", "0")  # stops serve before it serves, after the warnings
    assert main(["serve"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "warning: AI_DIY_RATELIMIT: unknown setting in the environment, ignored (did you mean AI_DIY_RATE_LIMIT?)",
        "configuration error: AI_DIY_WORKERS: Input should be greater than or equal to 1 (got '0')",
    ]
