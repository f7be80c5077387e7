"""`ai-diy serve` as a real process on a free loopback port, used over HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import running_service, service_env

pytestmark = pytest.mark.integration


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _ai_diy(tmp_path: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`ai-diy ARGS` run to its end with the service's test environment."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=service_env(tmp_path, **env),
        cwd=cwd,
        check=False,
    )


def test_serve_answers_the_runbook_endpoints_over_http(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_proc, base):
        status, health = _get(f"{base}/health")
        assert status == 200 and health["status"] == "healthy"
        assert set(health["checks"]) == {"config", "data_store", "security", "log_sink"}
        status, env = _get(f"{base}/api/env")
        assert status == 200 and env["environment"] == "DEVELOPMENT"
        assert env["models"]["available"] >= 1
        status, missing = _get(f"{base}/no/such/route")
        assert status == 404 and missing["error"]["code"] == "not_found"


def test_serve_health_is_unhealthy_when_the_data_dir_breaks(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_proc, base):
        assert _get(f"{base}/health")[0] == 200
        data = tmp_path / "data"
        (data / "appdocs").rmdir()
        data.rmdir()
        data.write_text("a file where the data directory was")
        status, health = _get(f"{base}/health")
        assert status == 503 and health["status"] == "unhealthy"
        assert health["checks"]["data_store"]["status"] == "fail"
        assert health["checks"]["config"]["status"] == "ok"


def test_serve_error_bodies_never_name_server_paths(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_proc, base):
        data = tmp_path / "data"
        (data / "appdocs").rmdir()
        data.rmdir()
        status_code, status = _get(f"{base}/api/data/status")
        listing_code, listing = _get(f"{base}/api/appdocs")
        health_code, health = _get(f"{base}/health")
    # The client learns what is wrong; where it is on disk stays in the server's log.
    for code, body in ((status_code, status), (listing_code, listing)):
        assert (code, body["error"]["code"]) == (503, "data_store_unavailable")
        assert body["error"]["message"] == "data store unavailable: data directory does not exist"
    assert health_code == 503 and health["checks"]["data_store"]["detail"] == "data directory does not exist"
    for body in (status, listing, health):
        assert str(tmp_path) not in json.dumps(body), body
    log_lines = [
        json.loads(line) for line in next((tmp_path / "logs").glob("ai_diy_api_*.jsonl")).read_text().splitlines()
    ]
    assert any(r.get("event") == "data_store_unavailable" and str(data) in r["message"] for r in log_lines)


def test_serve_exits_0_on_sigterm(tmp_path: Path) -> None:
    with running_service(tmp_path) as (proc, base):
        assert _get(f"{base}/health")[0] == 200
        proc.signal(signal.SIGTERM)
        assert proc.popen.wait(timeout=20) == 0


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AI_DIY_PORT": "eighty"}, "AI_DIY_PORT:"),
        ({"AI_DIY_APP_ENV": "staging"}, "AI_DIY_APP_ENV:"),
        ({"AI_DIY_RATE_LIMIT": "often"}, "AI_DIY_RATE_LIMIT:"),
    ],
)
def test_serve_refuses_bad_settings_with_exit_code_2_and_no_traceback(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = _ai_diy(tmp_path, "serve", cwd=tmp_path, **env)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_serve_refuses_a_malformed_models_config(tmp_path: Path) -> None:
    (tmp_path / "models_config.json").write_text('{"favorites": ["a"], "default": "zzz"}')
    result = _ai_diy(tmp_path, "serve", cwd=tmp_path)
    assert result.returncode == 2
    assert "default 'zzz' must be one of favorites" in result.stderr
    assert "Traceback" not in result.stderr
