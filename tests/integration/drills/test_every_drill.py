"""Every drill, as an operator runs them: `ai-diy drill --json`, each alert paged at its receiver and resolved."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from service.drills.catalogue import DRILLS
from tests.support import binaries
from tests.support.processes import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.heavy]

# The bound of the whole run: about 5 minutes on two cores, four drills at a time, the CPU drill alone.
RUN_TIMEOUT = 20 * 60


def test_every_drill_pages_its_receiver_and_resolves(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    binaries.require("prometheus")
    binaries.require("alertmanager")
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-m", "service.cli", "drill", "--json", "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    record_property("seconds", round(time.monotonic() - started))
    table = json.loads(finished.stdout)
    failed = [(d["alert"], d["severity"], d["receiver"]) for d in table["drills"] if not d["passed"]]
    assert failed == [], finished.stderr[-3000:]
    assert finished.returncode == 0
    assert [(d["alert"], d["severity"]) for d in table["drills"]] == [(d.alert, d.severity) for d in DRILLS]
