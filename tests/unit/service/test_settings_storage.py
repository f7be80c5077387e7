"""AI_DIY_RATE_LIMIT_STORAGE: the URIs `limits` can open, Sentinel's included, and one clear line for the rest."""

from __future__ import annotations

import pytest

from service.cli import main
from service.settings import ConfigError, load_settings

SENTINELS = "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster"


@pytest.mark.parametrize(
    "uri",
    [
        "memory://",
        "redis://127.0.0.1:6379/0",
        "rediss://user:secret@redis.internal:6380/1",
        "redis+unix:///run/redis/redis.sock",
        SENTINELS,
        "redis+sentinel://:secret@sentinel:26379/mymaster",
    ],
)
def test_storage_setting_accepts_uris_limits_can_open(uri: str) -> None:
    assert load_settings(env_file=None, rate_limit_storage=uri).rate_limit_storage == uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("redis+sentinel://10.0.0.1:26379,10.0.0.2:26379", "redis+sentinel://host:port[,host:port...]/<master name>"),
        ("redis+sentinel:///mymaster", "redis+sentinel://host:port[,host:port...]/<master name>"),
        ("redis+sentinel://10.0.0.1:26379,10.0.0.2/mymaster", "host:port in every location ('10.0.0.2' is not)"),
        ("redis://127.0.0.1/0", "host:port in every location ('127.0.0.1' is not)"),
        ("redis://127.0.0.1:http/0", "host:port in every location ('127.0.0.1:http' is not)"),
    ],
)
def test_storage_setting_rejects_uri_missing_a_port_or_the_master(uri: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None, rate_limit_storage=uri)
    [line] = caught.value.problems
    assert line.startswith("AI_DIY_RATE_LIMIT_STORAGE: expected ") and expected in line


@pytest.mark.usefixtures("free_api_port")
def test_validate_config_accepts_sentinel_storage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_RATE_LIMIT_STORAGE", SENTINELS)
    assert main(["validate-config"]) == 0
    assert "❌" not in capsys.readouterr().out


@pytest.mark.usefixtures("free_api_port")
def test_validate_config_names_the_sentinel_form_when_master_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_DIY_RATE_LIMIT_STORAGE", "redis+sentinel://10.0.0.1:26379")
    assert main(["validate-config"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("configuration error: AI_DIY_RATE_LIMIT_STORAGE: expected redis+sentinel://host:port")
