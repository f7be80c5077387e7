"""A bad configuration stops start-up with a clear error (exit 2) and never opens the port."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.support.net import free_port, port_open
from tests.support.processes import Process, service_env

pytestmark = pytest.mark.integration

EXIT_CONFIG = 2


def _start_and_watch(tmp_path: Path, port: int, **env: str) -> tuple[int, str, bool]:
    """Start `ai-diy serve`, watch the port until the process exits (bounded): (exit code, output, port seen open)."""
    proc = Process(
        [sys.executable, "-m", "service.cli", "serve"],
        log=tmp_path / "serve.out",
        env=service_env(tmp_path, **{"AI_DIY_HOST": "127.0.0.1", "AI_DIY_PORT": str(port), **env}),
        cwd=tmp_path,
    )
    seen_open = False
    deadline = time.monotonic() + 30
    try:
        while proc.popen.poll() is None and time.monotonic() < deadline:
            seen_open = seen_open or port_open(port)
            time.sleep(0.02)
        assert proc.popen.poll() is not None, "the service kept running with a bad configuration"
    finally:
        code = proc.stop()
    return code, proc.log.read_text(errors="replace"), seen_open or port_open(port)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "models_config"),
        ('{"favorites": ["a"], "default": "b"}', "default"),
        ('{"favorites": [], "default": "a"}', "favorites"),
        ('["a", "b"]', "models_config"),
    ],
    ids=["syntax", "default-not-a-favorite", "no-favorites", "not-an-object"],
)
def test_startup_malformed_models_config_exits_2_without_opening_the_port(tmp_path, content, expected) -> None:
    (tmp_path / "models_config.json").write_text(content)
    port = free_port()
    code, output, seen_open = _start_and_watch(tmp_path, port)
    assert code == EXIT_CONFIG, output
    assert "configuration error" in output and expected in output, output
    assert "Traceback" not in output, output
    assert not seen_open


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"AI_DIY_RATE_LIMIT": "lots"}, "AI_DIY_RATE_LIMIT"),
        ({"AI_DIY_APP_ENV": "STAGING"}, "AI_DIY_APP_ENV"),
        ({"AI_DIY_RATE_LIMIT_STORAGE": "mongodb://db"}, "AI_DIY_RATE_LIMIT_STORAGE"),
        ({"AI_DIY_TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip"}, "AI_DIY_TRUSTED_PROXIES"),
        ({"AI_DIY_DRAIN_TIMEOUT": "-1"}, "AI_DIY_DRAIN_TIMEOUT"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
    ],
    ids=["rate-limit", "app-env", "storage", "proxies", "drain", "otlp-protocol"],
)
def test_startup_bad_environment_exits_2_naming_the_variable(tmp_path, env, named) -> None:
    port = free_port()
    code, output, seen_open = _start_and_watch(tmp_path, port, **env)
    assert code == EXIT_CONFIG, output
    assert named in output, output
    assert "Traceback" not in output, output
    assert not seen_open


def test_startup_bad_port_exits_2_naming_the_variable(tmp_path) -> None:
    # No port to watch here: the point is the exit code and the message.
    code, output, _ = _start_and_watch(tmp_path, free_port(), AI_DIY_PORT="eighty")
    assert code == EXIT_CONFIG, output
    assert "AI_DIY_PORT" in output and "Traceback" not in output, output
