"""The drill runner on real processes: a traffic drill pages and resolves; every process it started is gone after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from service.drills import stack
from service.drills.catalogue import select
from service.drills.runner import rules_file, run_drill
from tests.support import binaries
from tests.support.net import wait_for
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


def test_runner_fault_drill_pages_its_receiver_and_resolves(tmp_path: Path) -> None:
    (drill,) = select(["AiDiySecurityInactive"])
    result = run_drill(drill, source=ROOT, workdir=tmp_path)
    assert result.passed, (result, (tmp_path / "service.log").read_text(errors="replace")[-2000:])
    assert result.receiver == "pager"
    audit = tmp_path / "logs"
    switched = [line for path in audit.glob("ai_diy_audit_*.jsonl") for line in path.read_text().splitlines()]
    assert [json.loads(line)["message"] for line in switched] == ["fault switched on", "fault switched off"]


def test_runner_process_drill_stops_the_service_and_starts_it_again(tmp_path: Path) -> None:
    (drill,) = select(["AiDiyServiceDown"])
    result = run_drill(drill, source=ROOT, workdir=tmp_path)
    assert result.passed, (result, (tmp_path / "prometheus.log").read_text(errors="replace")[-2000:])
    started = (tmp_path / "service.log").read_text().count("AI-DIY 1.0.0 started")
    assert started == 2, "the drill started the service again to resolve the page"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_drill_command_stops_every_process_when_interrupted(tmp_path: Path, signum: signal.Signals) -> None:
    command = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "drill", "AiDiyAuthFailures:warning", "--workdir", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        drill = psutil.Process(command.pid)
        wait_for(
            (tmp_path / "AiDiyAuthFailures-warning" / "prometheus.log").exists,
            timeout=60,
            what="the drill's Prometheus started",
        )
        started = wait_for(lambda: drill.children(recursive=True) or None, timeout=10, what="the drill's processes")
        command.send_signal(signum)
        _, err = command.communicate(timeout=60)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait(10)
    assert command.returncode == 130, err
    assert [process.pid for process in started if process.is_running() and process.status() != "zombie"] == []
    # The operator is told what happened and where the drill's files are.
    told = f"interrupted: every drill's processes are stopped; configs and logs of the drills: {tmp_path}"
    assert told in err.decode()


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
