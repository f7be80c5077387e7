"""Each drill expects the receiver the shipped Alertmanager routing really picks (amtool's verdict)."""

from __future__ import annotations

import subprocess

import pytest

from service.drills.catalogue import DRILLS, Drill
from tests.support import alert_rules as r
from tests.support import binaries

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("drill", DRILLS, ids=lambda d: d.name)
def test_drill_expected_receiver_is_the_shipped_routing_choice(drill: Drill) -> None:
    result = subprocess.run(
        [
            binaries.require("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={r.ALERTS / 'alertmanager.yml'}",
            f"alertname={drill.alert}",
            f"severity={drill.severity}",
            "service=ai-diy",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [drill.receiver]
