"""The drill runner on real processes: a traffic drill pages and resolves; every process it started is gone after."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.drills import stack
from service.drills.catalogue import select
from service.drills.runner import rules_file, run_drill
from tests.support import binaries
from tests.support.processes import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _binaries() -> None:
    binaries.require("prometheus")
    binaries.require("alertmanager")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_runner_traffic_drill_pages_its_receiver_and_resolves(tmp_path: Path) -> None:
    (drill,) = select(["AiDiyPathTraversalAttempt"])
    said: list[str] = []
    result = run_drill(drill, source=ROOT, workdir=tmp_path, progress=said.append)
    assert result.passed, (result, said, (tmp_path / "prometheus.log").read_text(errors="replace")[-2000:])
    assert result.receiver == "ticket"
    assert said[-1].endswith("see ai-diy runbook AiDiyPathTraversalAttempt")


def test_stack_stops_every_process_it_started_when_interrupted(tmp_path: Path) -> None:
    (drill,) = select(["AiDiyAuthFailures:critical"])
    pid = 0
    with pytest.raises(KeyboardInterrupt), stack.running(ROOT, tmp_path, rules_file(ROOT, drill)) as running:
        pid = running.service_pid
        assert not _gone(pid)
        raise KeyboardInterrupt  # what Ctrl-C raises in the drill's main thread
    assert pid and _gone(pid)
    logs = sorted(path.name for path in tmp_path.glob("*.log"))
    assert logs == ["alertmanager.log", "prometheus.log", "service.log"]
