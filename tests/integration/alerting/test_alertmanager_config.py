"""amtool accepts alerts/alertmanager.yml and routes each severity to its receiver."""

from __future__ import annotations

import subprocess

import pytest

from tests.support import alert_rules as r
from tests.support import binaries

pytestmark = pytest.mark.integration

CONFIG = r.ALERTS / "alertmanager.yml"


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binaries.require("amtool"), *args], capture_output=True, text=True, timeout=60, check=False)


def test_amtool_check_config_accepts() -> None:
    result = _amtool("check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=AiDiyServiceDown", "instance=api:8000"], "pager"),
        (["severity=warning", "alertname=AiDiyHighErrorRate", "instance=api:8000"], "ticket"),
        (["alertname=SomethingWithoutSeverity"], "ticket"),
    ],
    ids=["critical-pages", "warning-tickets", "unknown-severity-tickets"],
)
def test_amtool_routes_severity_to_receiver(labels: list[str], receiver: str) -> None:
    result = _amtool("config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receiver}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [receiver]


def test_amtool_routes_test_detects_a_wrong_receiver() -> None:
    result = _amtool(
        "config", "routes", "test", f"--config.file={CONFIG}", "--verify.receivers=ticket", "severity=critical"
    )
    assert result.returncode != 0


def test_alertmanager_groups_and_inhibits_by_alertname_and_instance() -> None:
    config = r.load(CONFIG)
    assert config["route"]["group_by"] == ["alertname", "instance"]
    severity, security = config["inhibit_rules"]
    assert severity["source_matchers"] == ['severity="critical"']
    assert severity["target_matchers"] == ['severity="warning"']
    assert severity["equal"] == ["alertname", "instance"]
    # One cause, one page: the security state, not also its health check.
    assert security["source_matchers"] == ['alertname="AiDiySecurityInactive"']
    assert security["target_matchers"] == ['alertname="AiDiyHealthCheckFailing"', 'check="security"']
    assert security["equal"] == ["instance"]


def test_alertmanager_receivers_default_to_loopback() -> None:
    receivers = {receiver["name"]: receiver for receiver in r.load(CONFIG)["receivers"]}
    assert set(receivers) == {"pager", "ticket"}
    for receiver in receivers.values():
        (webhook,) = receiver["webhook_configs"]
        assert webhook["url"].startswith("http://127.0.0.1:")
        assert webhook["send_resolved"] is True
