"""What `ai-diy serve` checks before it opens a port."""

from __future__ import annotations

from pathlib import Path

import pytest

from observability.errors import ConfigError
from service.preflight import check_startup, redact, storage_unreachable
from service.settings import load_settings


def test_preflight_clean_settings_pass_without_warnings(tmp_path: Path) -> None:
    assert check_startup(load_settings(env_file=None, log_dir=tmp_path / "logs")) == []
    assert (tmp_path / "logs").is_dir()  # created as the service would


def test_preflight_lists_every_problem_at_once(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    settings = load_settings(env_file=None, log_dir=blocker / "logs", models_config=tmp_path / "missing.json")
    with pytest.raises(ConfigError) as caught:
        check_startup(settings)
    assert [line.split(":", 1)[0] for line in caught.value.problems] == ["AI_DIY_MODELS_CONFIG", "AI_DIY_LOG_DIR"]


def test_preflight_memory_storage_is_never_probed() -> None:
    assert storage_unreachable("memory://") is None


def test_preflight_redact_drops_user_and_password() -> None:
    assert redact("redis://user:secret@cache:6379/0") == "redis://cache:6379/0"
    assert redact("redis+sentinel://:pw@s1:26379,s2:26379/main") == "redis+sentinel://s1:26379,s2:26379/main"
    assert redact("redis://cache:6379") == "redis://cache:6379"
