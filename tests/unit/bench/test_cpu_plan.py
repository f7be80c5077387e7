"""The benchmark keeps its servers and wrk on separate CPUs, so they do not take turns on one."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.server import CpuPlan, Server, cpu_plan
from bench.workspace import create_workspace

ALLOWED = sorted(os.sched_getaffinity(0))
needs_two_cpus = pytest.mark.skipif(len(ALLOWED) < 2, reason="pinning needs two CPUs; with one the plan is unpinned")


def test_unpinned_plan_leaves_placement_to_the_scheduler() -> None:
    plan = cpu_plan(pin=False)
    assert plan == CpuPlan()
    assert plan.describe() == "not pinned"


@needs_two_cpus
def test_pinned_plan_gives_the_server_one_cpu_and_wrk_the_others() -> None:
    plan = cpu_plan(pin=True)
    assert plan.server == frozenset(ALLOWED[:1])
    assert plan.wrk == frozenset(ALLOWED[1:])
    assert plan.describe().startswith(f"server on CPU {ALLOWED[0]}, wrk on CPU ")


@pytest.mark.integration
@needs_two_cpus
def test_pinned_server_process_runs_only_on_its_cpu(tmp_path: Path) -> None:
    server = Server("bare", create_workspace(tmp_path / "ws"), cpus=frozenset(ALLOWED[:1]))
    try:
        assert os.sched_getaffinity(server.popen.pid) == set(ALLOWED[:1])
        assert server.cpu_seconds() > 0  # it imported the app: CPU time is counted
    finally:
        server.stop()
