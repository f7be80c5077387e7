from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main


def test_validate_config_passes_with_embedded_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-config"]) == 0
    out = capsys.readouterr().out
    assert "✅ settings valid" in out and "embedded default" in out
    assert "❌" not in out


def test_validate_config_fails_with_one_line_per_bad_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_PORT", "eighty")
    monkeypatch.setenv("AI_DIY_APP_ENV", "staging")
    assert main(["validate-config"]) == 1
    out = capsys.readouterr().out
    assert "❌ setting AI_DIY_PORT:" in out and "❌ setting AI_DIY_APP_ENV:" in out


def test_validate_config_checks_candidate_files_before_they_are_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / "candidate.env"
    env_file.write_text("AI_DIY_RATE_LIMIT=often\n")
    models = tmp_path / "candidate_models.json"
    models.write_text(json.dumps({"favorites": ["x"], "default": "y"}))
    assert main(["validate-config", "--env-file", str(env_file), "--models-config", str(models)]) == 1
    out = capsys.readouterr().out
    assert "❌ setting AI_DIY_RATE_LIMIT:" in out
    assert "default 'y' must be one of favorites" in out


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
    assert main(["validate-config"]) == 1
    assert "❌ data directory" in capsys.readouterr().out
