"""`ai-diy serve` as a real process on a free loopback port, used over HTTP."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.support.net import free_port, port_open, wait_for
from tests.support.processes import Process, running_service, service_env

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


def _announced(proc: Process, line: str) -> bool:
    if proc.popen.poll() is not None:
        raise AssertionError(f"serve exited with {proc.popen.returncode}:\n{proc.output()}")
    return line in proc.output().splitlines()


def test_serve_announces_its_address_once_the_port_answers(tmp_path: Path) -> None:
    # .env and the environment name other ports: --port wins over both.
    port, env_port, dotenv_port, metrics_port = free_port(), free_port(), free_port(), free_port()
    (tmp_path / ".env").write_text(f"AI_DIY_PORT={dotenv_port}\n")
    proc = Process(
        [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        log=tmp_path / "serve.out",
        env=service_env(tmp_path, AI_DIY_PORT=str(env_port), AI_DIY_METRICS_PORT=str(metrics_port)),
        cwd=tmp_path,
    )
    try:
        line = f"serving on http://127.0.0.1:{port} (Ctrl-C stops)"
        wait_for(lambda: _announced(proc, line), timeout=30, what="the serving line")
        # No wait after the line: a request sent now is answered.
        status, live = _get(f"http://127.0.0.1:{port}/health/live")
        assert (status, live["status"]) == (200, "alive")
        assert f"metrics on http://127.0.0.1:{metrics_port}/metrics" in proc.output().splitlines()
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as metrics:
            assert metrics.status == 200
        assert not port_open(env_port) and not port_open(dotenv_port)
    finally:
        assert proc.stop() == 0, proc.output()


def test_serve_busy_port_announces_nothing_and_says_why_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = _ai_diy(tmp_path, "serve", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"configuration error: AI_DIY_HOST/--port: cannot listen on 127.0.0.1:{port}: "), line


def _spawned_workers(proc: Process) -> int:
    children = psutil.Process(proc.pid).children()
    return sum("spawn_main" in " ".join(child.cmdline()) for child in children)


def test_serve_workers_option_starts_that_many_workers(tmp_path: Path) -> None:
    port = free_port()
    proc = Process(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "2"],
        log=tmp_path / "serve.out",
        env=service_env(tmp_path, AI_DIY_HOST="127.0.0.1", AI_DIY_WORKERS="1"),
        cwd=tmp_path,
    )
    try:
        wait_for(lambda: _announced(proc, f"serving on http://127.0.0.1:{port} (Ctrl-C stops)"), timeout=30)
        assert _get(f"http://127.0.0.1:{port}/health/live")[0] == 200
        assert wait_for(lambda: _spawned_workers(proc) == 2, timeout=30, what="two workers")
    finally:
        assert proc.stop() == 0, proc.output()
