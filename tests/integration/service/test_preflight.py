"""The start-up check as the real commands run it: `ai-diy serve` and `ai-diy validate-config` as processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port, port_open, wait_for
from tests.support.processes import running_service, service_env

pytestmark = pytest.mark.integration


def _ai_diy(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`ai-diy ARGS` run to its end (bounded) with the service's test environment."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=service_env(tmp_path, AI_DIY_HOST="127.0.0.1", **env),
        cwd=tmp_path,
        check=False,
    )


def test_preflight_metrics_port_equal_to_api_port_is_one_line_from_both_commands(tmp_path: Path) -> None:
    port = str(free_port())
    served = _ai_diy(tmp_path, "serve", AI_DIY_PORT=port, AI_DIY_METRICS_PORT=port)
    validated = _ai_diy(tmp_path, "validate-config", AI_DIY_PORT=port, AI_DIY_METRICS_PORT=port)
    line = f"configuration error: AI_DIY_METRICS_PORT: must differ from AI_DIY_PORT (both are {port})"
    assert (served.returncode, served.stderr) == (2, line + "\n")
    assert validated.returncode == 2 and validated.stderr.splitlines() == [line]
    assert not port_open(int(port))


def test_preflight_running_service_port_warns_validate_config_and_stops_serve(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_proc, base):
        port = base.rsplit(":", 1)[1]
        validated = _ai_diy(tmp_path, "validate-config", AI_DIY_PORT=port)
        served = _ai_diy(tmp_path, "serve", AI_DIY_PORT=port)
    held = (
        f"AI_DIY_HOST/AI_DIY_PORT: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(held by a running AI-DIY service)"
    )
    assert validated.returncode == 0, validated
    assert validated.stderr.splitlines() == [f"warning: {held}"]
    assert validated.stdout.splitlines()[-1] == "✅ configuration is valid"
    assert (served.returncode, served.stderr.splitlines()) == (2, [f"configuration error: {held}"])


def test_preflight_port_held_by_another_program_fails_both_commands(tmp_path: Path) -> None:
    port = free_port()
    other = subprocess.Popen(  # an HTTP server that is not the AI-DIY service
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: port_open(port), timeout=10, what="the other program's port")
        validated = _ai_diy(tmp_path, "validate-config", AI_DIY_PORT=str(port))
        served = _ai_diy(tmp_path, "serve", AI_DIY_PORT=str(port))
    finally:
        other.terminate()
        other.wait(10)
    line = f"configuration error: AI_DIY_HOST/AI_DIY_PORT: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert (validated.returncode, validated.stderr.splitlines()) == (2, [line])
    assert (served.returncode, served.stderr.splitlines()) == (2, [line])


def test_preflight_unknown_name_is_a_warning_for_a_serve_that_starts(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AI_DIY_LOGLEVEL=debug\n")
    with running_service(tmp_path, AI_DIY_RATELIMIT="5/minute") as (proc, _base):
        output = proc.output()
    assert (
        "warning: AI_DIY_RATELIMIT: unknown setting in the environment, ignored (did you mean AI_DIY_RATE_LIMIT?)"
        in (output)
    )
    assert "warning: AI_DIY_LOGLEVEL: unknown setting in .env, ignored (did you mean AI_DIY_LOG_LEVEL?)" in output
