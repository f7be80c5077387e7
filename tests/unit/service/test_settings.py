from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from service.settings import AppEnv, ConfigError, LogLevel, load_settings


def test_settings_defaults_match_the_documented_ones() -> None:
    settings = load_settings()
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.log_level is LogLevel.INFO
    assert str(settings.log_dir) == "logs" and str(settings.data_dir) == "data"
    assert str(settings.models_config) == "models_config.json"
    assert settings.app_env is AppEnv.DEV and settings.environment == "DEVELOPMENT"
    assert settings.rate_limit == "100/minute" and settings.rate_limit_storage == "memory://"
    assert settings.trusted_proxies == [] and settings.admin_token is None


def test_settings_read_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_DIY_PORT", "9001")
    monkeypatch.setenv("AI_DIY_APP_ENV", "production")
    monkeypatch.setenv("AI_DIY_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.environment == "PRODUCTION"
    assert settings.trusted_proxies == [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.7/32")]


def test_settings_accept_the_runbooks_plain_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert load_settings().log_level is LogLevel.DEBUG


def test_settings_read_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AI_DIY_PORT=8123\nAI_DIY_RATE_LIMIT=5/second\n")
    settings = load_settings()
    assert settings.port == 8123 and settings.rate_limit == "5/second"


def test_settings_report_one_line_per_problem_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_DIY_PORT", "eighty")
    monkeypatch.setenv("AI_DIY_APP_ENV", "staging")
    monkeypatch.setenv("AI_DIY_RATE_LIMIT", "lots")
    monkeypatch.setenv("AI_DIY_RATE_LIMIT_STORAGE", "mysql://db")
    monkeypatch.setenv("AI_DIY_TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip")
    monkeypatch.setenv("LOG_LEVEL", "loud")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    problems = caught.value.problems
    assert len(problems) == 6
    by_variable = {line.split(":", 1)[0]: line for line in problems}
    assert set(by_variable) == {
        "AI_DIY_PORT",
        "AI_DIY_APP_ENV",
        "AI_DIY_RATE_LIMIT",
        "AI_DIY_RATE_LIMIT_STORAGE",
        "AI_DIY_TRUSTED_PROXIES",
        "AI_DIY_LOG_LEVEL",
    }
    assert "'DEV' or 'PRODUCTION'" in by_variable["AI_DIY_APP_ENV"]
    assert "100/minute" in by_variable["AI_DIY_RATE_LIMIT"]
    assert "redis://" in by_variable["AI_DIY_RATE_LIMIT_STORAGE"]
    assert "not-an-ip" in by_variable["AI_DIY_TRUSTED_PROXIES"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AI_DIY_PORT", "0"),
        ("AI_DIY_PORT", "70000"),
        ("AI_DIY_WORKERS", "0"),
        ("AI_DIY_DRAIN_TIMEOUT", "-1"),
        ("AI_DIY_MAX_REQUEST_BYTES", "0"),
    ],
)
def test_settings_reject_out_of_range_numbers(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems[0].startswith(f"{variable}:")


def test_settings_refuse_a_missing_candidate_env_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(env_file=tmp_path / "candidate.env")
