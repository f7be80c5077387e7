"""The benchmark keeps its servers and wrk on separate CPUs, so they do not take turns on one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.server import CpuPlan, Server, cpu_plan
from bench.workspace import create_workspace


def test_unpinned_plan_leaves_placement_to_the_scheduler() -> None:
    plan = cpu_plan(pin=False, allowed=[0, 1, 2, 3])
    assert plan == CpuPlan()
    assert plan.describe() == "not pinned"


def test_pinned_plan_gives_the_server_one_cpu_and_wrk_the_others() -> None:
    plan = cpu_plan(pin=True, allowed=[3, 1, 2])
    assert plan.server == frozenset({1})
    assert plan.wrk == frozenset({2, 3})
    assert plan.describe() == "server on CPU 1, wrk on CPU 2,3"


def test_one_cpu_is_not_pinned_because_wrk_would_have_none() -> None:
    assert cpu_plan(pin=True, allowed=[5]) == CpuPlan()


@pytest.mark.integration
def test_pinned_server_process_runs_only_on_its_cpu(tmp_path: Path) -> None:
    first = min(os.sched_getaffinity(0))
    server = Server("bare", create_workspace(tmp_path / "ws"), cpus=frozenset({first}))
    try:
        assert os.sched_getaffinity(server.popen.pid) == {first}
        assert server.cpu_seconds() > 0  # it imported the app: CPU time is counted
    finally:
        server.stop()
