"""The one start-up check, shared by `ai-diy serve` and `ai-diy validate-config`."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from service.preflight import redact, run_preflight, storage_unreachable

pytestmark = pytest.mark.usefixtures("free_api_port")


def test_preflight_clean_settings_pass_without_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_DIY_LOG_DIR", str(tmp_path / "logs"))
    result = run_preflight(None)
    try:
        assert (result.problems, result.warnings, result.unknown) == ([], [], [])
        assert result.sockets is not None and len(result.sockets.insecure_sockets) == 1, "serve keeps the listener"
    finally:
        result.close()
    assert (tmp_path / "logs").is_dir()  # created as the service would


def test_preflight_lists_every_problem_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    monkeypatch.setenv("AI_DIY_LOG_DIR", str(blocker / "logs"))
    monkeypatch.setenv("AI_DIY_DATA_DIR", str(blocker))
    monkeypatch.setenv("AI_DIY_MODELS_CONFIG", str(tmp_path / "missing.json"))
    result = run_preflight(None)
    assert [line.split(":", 1)[0] for line in result.problems] == [
        "AI_DIY_MODELS_CONFIG",
        "AI_DIY_LOG_DIR",
        "AI_DIY_DATA_DIR",
    ]
    assert result.sockets is None, "a start that stops holds no port"


def test_preflight_metrics_port_equal_to_api_port_is_one_line(
    free_api_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI_DIY_METRICS_PORT", str(free_api_port))
    assert run_preflight(None).problems == [
        f"AI_DIY_METRICS_PORT: must differ from AI_DIY_PORT (both are {free_api_port})"
    ]


def test_preflight_log_dir_that_cannot_be_written_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AI_DIY_LOG_DIR", "/proc/ai-diy-logs")
    [line] = run_preflight(None).problems
    assert line.startswith("AI_DIY_LOG_DIR: /proc/ai-diy-logs cannot be written (")


def test_preflight_busy_port_is_refused(free_api_port: int) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_api_port))
        holder.listen()
        [line] = run_preflight(None).problems
    assert line == (f"AI_DIY_HOST/AI_DIY_PORT: cannot listen on 127.0.0.1:{free_api_port}: Address already in use")


def test_preflight_names_the_closest_setting_for_each_unknown_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI_DIY_RATELIMIT", "5/minute")
    (tmp_path / ".env").write_text("AI_DIY_LOGLEVEL=debug\nAI_DIY_PORT_=1\n")
    result = run_preflight(".env")
    result.close()
    assert result.unknown == [
        "AI_DIY_RATELIMIT: unknown setting in the environment, ignored (did you mean AI_DIY_RATE_LIMIT?)",
        "AI_DIY_LOGLEVEL: unknown setting in .env, ignored (did you mean AI_DIY_LOG_LEVEL?)",
        "AI_DIY_PORT_: unknown setting in .env, ignored (did you mean AI_DIY_PORT?)",
    ]


def test_preflight_memory_storage_is_never_probed() -> None:
    assert storage_unreachable("memory://") is None


def test_preflight_redact_drops_user_and_password() -> None:
    assert redact("redis://user:secret@cache:6379/0") == "redis://cache:6379/0"
    assert redact("redis+sentinel://:pw@s1:26379,s2:26379/main") == "redis+sentinel://s1:26379,s2:26379/main"
    assert redact("redis://cache:6379") == "redis://cache:6379"
