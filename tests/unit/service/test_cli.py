"""`ai-diy`'s one error tree, one printer and named exit codes."""

from __future__ import annotations

import importlib
import io
import json
import pkgutil
from pathlib import Path

import pytest

import service.cli
from observability.errors import ConfigError
from observability.tracing import TracingConfigError, check_tracing_config
from service.cli import COMMANDS, build_parser, main
from service.cli._common import EXIT_CONFIG, report
from service.models_config import ModelsConfigError, load_models_config
from service.settings import load_settings


def test_cli_configuration_errors_are_one_tree_naming_their_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ModelsConfigError) as models:
        load_models_config(missing, required=True)
    with pytest.raises(TracingConfigError) as tracing:
        check_tracing_config(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
        )
    monkeypatch.setenv("AI_DIY_PORT", "eighty")
    with pytest.raises(ConfigError) as settings:
        load_settings(env_file=None)
    for caught, setting in (
        (models, "AI_DIY_MODELS_CONFIG"),
        (tracing, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        (settings, "AI_DIY_PORT"),
    ):
        assert isinstance(caught.value, ConfigError)
        assert caught.value.problems and all(line.startswith(setting) for line in caught.value.problems)


def test_cli_report_prints_one_line_per_problem_and_returns_exit_config() -> None:
    stream = io.StringIO()
    assert report(ConfigError("AI_DIY_A: wrong", "AI_DIY_B: wrong too"), stream) == EXIT_CONFIG == 2
    assert stream.getvalue().splitlines() == [
        "configuration error: AI_DIY_A: wrong",
        "configuration error: AI_DIY_B: wrong too",
    ]


def test_cli_every_command_module_is_registered() -> None:
    with_register = {
        info.name
        for info in pkgutil.iter_modules(service.cli.__path__)
        if not info.name.startswith("_")
        if hasattr(importlib.import_module(f"service.cli.{info.name}"), "register")
    }
    assert {module.__name__.rsplit(".", 1)[1] for module in COMMANDS} == with_register
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert isinstance(subparsers.choices, dict)
    assert sorted(subparsers.choices) == [
        "check",
        "config",
        "data",
        "drill",
        "logs",
        "prune-backups",
        "runbook",
        "serve",
        "stack",
        "validate-config",
    ]


def test_cli_main_reports_a_command_config_error_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_RATE_LIMIT", "lots")
    assert main(["logs", "rotate"]) == EXIT_CONFIG
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("configuration error: AI_DIY_RATE_LIMIT:")


def test_cli_main_reports_an_os_error_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data" / "appdocs").mkdir(parents=True)

    def unreadable(root: Path, **_: object) -> None:
        raise PermissionError(13, "Permission denied", str(root / "a.json"))

    monkeypatch.setattr("service.cli.data.export_backup", unreadable)
    assert main(["data", "export", "--data-dir", str(tmp_path / "data")]) == EXIT_CONFIG
    assert capsys.readouterr().err == f"error: {tmp_path / 'data' / 'appdocs' / 'a.json'}: Permission denied\n"


@pytest.mark.parametrize("kind", ["missing-directory", "a-directory"])
def test_cli_data_export_checks_its_output_before_exporting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    (tmp_path / "data" / "appdocs").mkdir(parents=True)
    target = tmp_path / "missing" / "x.json"
    if kind == "a-directory":
        target = tmp_path / "a-directory"
        target.mkdir()
    assert main(["data", "export", "--data-dir", str(tmp_path / "data"), "-o", str(target)]) == EXIT_CONFIG
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"configuration error: --output: {target}")


@pytest.mark.usefixtures("free_api_port")
def test_cli_validate_config_requires_the_models_file_the_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_MODELS_CONFIG", str(tmp_path / "typo.json"))
    assert main(["validate-config"]) == EXIT_CONFIG
    assert "configuration error: AI_DIY_MODELS_CONFIG:" in capsys.readouterr().err


def test_cli_settings_know_whether_the_models_file_was_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_settings(env_file=None).models_config_required is False
    monkeypatch.setenv("AI_DIY_MODELS_CONFIG", str(tmp_path / "m.json"))
    assert load_settings(env_file=None).models_config_required is True
    (tmp_path / "m.json").write_text(json.dumps({"favorites": ["a"], "default": "a"}))
    assert load_models_config(tmp_path / "m.json", required=True)[1] == "file"
