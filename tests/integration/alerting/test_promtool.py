"""promtool validates every rules file, runs every rules unit test and checks the Prometheus config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from alerts import drill
from tests.support import alert_rules as r
from tests.support import binaries

pytestmark = pytest.mark.integration

PROMETHEUS_CONFIG = r.ROOT / "deploy" / "prometheus.yml"


def _promtool(*args: str | Path, cwd: Path = r.ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binaries.require("promtool"), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("path", r.rule_files(), ids=lambda p: p.name)
def test_promtool_check_rules_accepts(path: Path) -> None:
    result = _promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", r.test_files(), ids=lambda p: p.name)
def test_promtool_test_rules_passes(path: Path) -> None:
    result = _promtool("test", "rules", path.name, cwd=path.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules_fails_when_a_threshold_moves(tmp_path: Path) -> None:
    # The unit tests must be able to fail: move the critical error-rate line from 5 % to
    # 6 % and the 5.1 % case has to break.
    (tmp_path / "tests").mkdir()
    for path in r.rule_files():
        text = path.read_text(encoding="utf-8")
        if path.name == "errors.rules.yml":
            assert "> 0.05\n" in text
            text = text.replace("> 0.05\n", "> 0.06\n")
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    test = r.ALERTS / "tests" / "errors.test.yml"
    (tmp_path / "tests" / test.name).write_text(test.read_text(encoding="utf-8"), encoding="utf-8")
    result = _promtool("test", "rules", test.name, cwd=tmp_path / "tests")
    assert result.returncode != 0
    assert "AiDiyHighErrorRate" in result.stdout + result.stderr


def test_promtool_check_config_accepts_the_prometheus_config_and_finds_every_rules_file() -> None:
    result = _promtool("check", "config", PROMETHEUS_CONFIG)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"SUCCESS: {len(r.rule_files())} rule files found" in output


def test_prometheus_config_scrapes_the_ai_diy_job_and_sends_to_both_alertmanagers() -> None:
    config = r.load(PROMETHEUS_CONFIG)
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"ai-diy", "prometheus"} <= jobs
    assert config["rule_files"] == ["../alerts/*.rules.yml"]
    # Both members of the Alertmanager pair get every alert.
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:9093",
        "127.0.0.1:9095",
    ]
    assert "--enable-feature=exemplar-storage" in PROMETHEUS_CONFIG.read_text(encoding="utf-8")


def test_promtool_check_rules_accepts_the_drill_rules() -> None:
    paths = sorted((r.ROOT / drill.DIRECTORY).glob("*.rules.yml"))
    assert paths
    result = _promtool("check", "rules", *paths)
    assert result.returncode == 0, result.stdout + result.stderr
