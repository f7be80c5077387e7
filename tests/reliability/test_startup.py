"""A bad configuration stops start-up with a clear error (exit 2) and never opens the port.

Every start-up mistake, and every CLI command given a bad setting, is one line on
stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.net import free_port, port_open
from tests.support.processes import Process, running_service, service_env

from .probes import get, get_json

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
def test_startup_malformed_models_config_exits_2_without_opening_the_port(
    tmp_path: Path, content: str, expected: str
) -> None:
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
def test_startup_bad_environment_exits_2_naming_the_variable(tmp_path: Path, env: dict[str, str], named: str) -> None:
    port = free_port()
    code, output, seen_open = _start_and_watch(tmp_path, port, **env)
    assert code == EXIT_CONFIG, output
    assert named in output, output
    assert "Traceback" not in output, output
    assert not seen_open


def test_startup_bad_port_exits_2_naming_the_variable(tmp_path: Path) -> None:
    # No port to watch here: the point is the exit code and the message.
    code, output, _ = _start_and_watch(tmp_path, free_port(), AI_DIY_PORT="eighty")
    assert code == EXIT_CONFIG, output
    assert "AI_DIY_PORT" in output and "Traceback" not in output, output


def _one_line(output: str) -> str:
    """The output, which must be exactly one line and no traceback."""
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_startup_busy_port_exits_2_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code, output, _ = _start_and_watch(tmp_path, port)
    assert code == EXIT_CONFIG, output
    line = _one_line(output)
    assert line.startswith("configuration error: AI_DIY_HOST/AI_DIY_PORT:") and f"127.0.0.1:{port}" in line, line


def test_startup_unwritable_log_dir_exits_2_without_opening_the_port(tmp_path: Path) -> None:
    # The tests run as root, for whom permission bits do not stop a write: a file in the way does.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log directory's parent should be")
    port = free_port()
    code, output, seen_open = _start_and_watch(tmp_path, port, AI_DIY_LOG_DIR=str(blocker / "logs"))
    assert code == EXIT_CONFIG, output
    assert _one_line(output).startswith("configuration error: AI_DIY_LOG_DIR:"), output
    assert not seen_open


def test_startup_explicit_models_config_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    port = free_port()
    missing = tmp_path / "typo" / "models_config.json"
    code, output, seen_open = _start_and_watch(tmp_path, port, AI_DIY_MODELS_CONFIG=str(missing))
    assert code == EXIT_CONFIG, output
    line = _one_line(output)
    assert line.startswith("configuration error: AI_DIY_MODELS_CONFIG:") and str(missing) in line, line
    assert not seen_open


def test_startup_default_models_config_absent_serves_the_embedded_default(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_, base):
        status, health = get_json(f"{base}/health")
    assert status == 200 and health["checks"]["config"]["models_config"] == "embedded default"


def test_startup_unreachable_redis_fail_closed_exits_2_naming_the_storage(tmp_path: Path) -> None:
    port = free_port()
    storage = f"redis://:secret@127.0.0.1:{free_port()}/0"
    code, output, seen_open = _start_and_watch(
        tmp_path, port, AI_DIY_RATE_LIMIT_STORAGE=storage, AI_DIY_RATE_LIMIT_FAIL_CLOSED="true"
    )
    assert code == EXIT_CONFIG, output
    line = _one_line(output)
    assert line.startswith("configuration error: AI_DIY_RATE_LIMIT_STORAGE:") and "unreachable" in line, line
    assert "secret" not in line
    assert not seen_open


def test_startup_unreachable_redis_fail_open_warns_then_serves_degraded(tmp_path: Path) -> None:
    storage = f"redis://127.0.0.1:{free_port()}/0"
    with running_service(tmp_path, AI_DIY_RATE_LIMIT_STORAGE=storage) as (proc, base):
        assert get(f"{base}/api/env")[0] == 200  # fail-open: served while the storage is down
        status, security = get_json(f"{base}/api/security/status")
        output = proc.output()
    warnings = [line for line in output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "AI_DIY_RATE_LIMIT_STORAGE" in warnings[0] and "fail-open" in warnings[0], output
    assert status == 200 and security["security_status"] == "degraded", security
    assert "Traceback" not in output


@pytest.mark.parametrize(
    "argv",
    [
        ["serve"],
        ["data", "export"],
        ["data", "import", "backup.json"],
        ["data", "validate"],
        ["logs", "rotate"],
        ["logs", "archive", "-o", "logs.tar.gz"],
        ["stack"],
    ],
    ids=lambda argv: "-".join(argv[:2]),
)
def test_cli_every_command_reports_a_bad_setting_in_one_line_with_exit_2(tmp_path: Path, argv: list[str]) -> None:
    done = _cli(tmp_path, argv, AI_DIY_RATE_LIMIT="lots")
    assert done.returncode == EXIT_CONFIG, done.stdout + done.stderr
    assert _one_line(done.stderr).startswith("configuration error: AI_DIY_RATE_LIMIT:"), done.stderr


def test_cli_data_export_into_a_missing_directory_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "data" / "appdocs").mkdir(parents=True)
    target = tmp_path / "missing-dir" / "x.json"
    done = _cli(tmp_path, ["data", "export", "-o", str(target)])
    assert done.returncode == EXIT_CONFIG, done.stdout + done.stderr
    line = _one_line(done.stderr)
    assert "--output" in line and str(target.parent) in line, line
    assert not target.parent.exists()


def _cli(tmp_path: Path, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *argv],
        env=service_env(tmp_path, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
