"""`ai-diy check` against a real served instance: the runbook's lines, and one JSON object with --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.processes import ROOT, running_service, service_env

pytestmark = pytest.mark.integration


def _check(tmp_path: Path, url: str, *options: str) -> subprocess.CompletedProcess[str]:
    return _check_configured(tmp_path, "--url", url, *options, cwd=ROOT)


def _check_configured(tmp_path: Path, *options: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`ai-diy check` run in cwd with the service's test environment (and env)."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "check", *options],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        env=service_env(tmp_path, **env),
        cwd=cwd,
    )


def _break_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "appdocs").rmdir()
    data.rmdir()
    data.write_text("a file where the data directory was")


def test_check_command_passes_against_a_healthy_instance(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_, base):
        result = _check(tmp_path, base)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "=== AI-DIY Daily Health Check ==="
    assert lines[1].startswith("✅ Application is healthy (version ")
    assert lines[2:] == ["✅ Security systems active", "=== Health check complete ==="]
    assert result.stderr == ""


def test_check_command_json_reports_each_check_and_the_verdict(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_, base):
        result = _check(tmp_path, base, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "ok" and report["url"] == base
    assert list(report["checks"]) == ["health", "security"]
    assert report["checks"]["health"]["status"] == "ok"
    assert report["checks"]["health"]["detail"].startswith("version ")
    assert report["checks"]["security"] == {"status": "ok", "detail": "security_status: active"}
    assert result.stderr == ""


def test_check_command_fails_on_stderr_when_nothing_listens(tmp_path: Path) -> None:
    result = _check(tmp_path, f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert result.stdout == "=== AI-DIY Daily Health Check ===\n"
    (line,) = result.stderr.splitlines()
    assert line.startswith("❌ Application health check failed: ")


def test_check_command_json_fails_when_nothing_listens_and_skips_the_rest(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = _check(tmp_path, url, "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "fail"
    assert report["checks"]["health"]["status"] == "fail" and "refused" in report["checks"]["health"]["detail"].lower()
    assert report["checks"]["security"] == {"status": "skipped", "detail": "not run: the health check failed"}
    assert result.stderr == ""


def test_check_command_names_the_failing_health_check_in_both_formats(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_, base):
        _break_data_dir(tmp_path)
        human = _check(tmp_path, base)
        machine = _check(tmp_path, base, "--json")
    assert human.returncode == machine.returncode == 1
    assert human.stderr == "❌ Application health check failed: HTTP 503, failing checks: data_store\n"
    assert json.loads(machine.stdout)["checks"]["health"] == {
        "status": "fail",
        "detail": "HTTP 503, failing checks: data_store",
    }


def test_check_command_fails_the_security_check_while_the_rate_limit_storage_is_down(tmp_path: Path) -> None:
    # Fail-open: the instance stays healthy, but its rate limiting is degraded.
    storage = f"redis://127.0.0.1:{free_port()}/0"
    with running_service(tmp_path, AI_DIY_RATE_LIMIT_STORAGE=storage) as (_, base):
        human = _check(tmp_path, base)
        machine = _check(tmp_path, base, "--json")
    assert human.returncode == machine.returncode == 1
    assert human.stdout.splitlines()[1].startswith("✅ Application is healthy")
    assert human.stderr == "❌ Security systems not active (security_status: degraded, HTTP 200)\n"
    report = json.loads(machine.stdout)
    assert report["status"] == "fail" and report["checks"]["health"]["status"] == "ok"
    assert report["checks"]["security"] == {"status": "fail", "detail": "security_status: degraded, HTTP 200"}


def test_check_command_checks_the_port_the_environment_configures(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_, base):
        port = base.rsplit(":", 1)[1]
        result = _check_configured(tmp_path, "--json", cwd=tmp_path, AI_DIY_PORT=port)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["url"] == base


def test_check_command_checks_the_port_dotenv_configures_on_loopback_for_a_wildcard_host(tmp_path: Path) -> None:
    with running_service(tmp_path) as (_, base):
        port = base.rsplit(":", 1)[1]
        workdir = tmp_path / "checkout"
        workdir.mkdir()
        (workdir / ".env").write_text(f"AI_DIY_HOST=0.0.0.0\nAI_DIY_PORT={port}\n")
        result = _check_configured(tmp_path, cwd=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "=== Health check complete ==="
