"""promtool checks the PrometheusRule's groups as Prometheus will load them."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import binaries
from tests.unit.kubernetes import manifests as m

pytestmark = pytest.mark.integration


def _check_rules(groups: list[dict[str, Any]], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # The operator hands Prometheus exactly spec.groups, as one rules file.
    path = tmp_path / "prometheusrule.rules.yml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    return subprocess.run(
        [binaries.require("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _groups() -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = m.one(m.documents(), "PrometheusRule")["spec"]["groups"]
    return answer


def test_promtool_accepts_the_prometheusrule_groups(tmp_path: Path) -> None:
    groups = _groups()
    result = _check_rules(groups, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rules = sum(len(group["rules"]) for group in groups)
    assert f"SUCCESS: {rules} rules found" in result.stdout


def test_promtool_refuses_a_prometheusrule_with_a_broken_expression(tmp_path: Path) -> None:
    groups = copy.deepcopy(_groups())
    groups[0]["rules"][0]["expr"] = "up{job="
    result = _check_rules(groups, tmp_path)
    assert result.returncode != 0
