"""The CPU burner spends CPU while it runs and ends at its deadline by itself."""

from __future__ import annotations

import time

from service.faults.cpu import CpuBurn
from tests.support.net import wait_for


def test_cpu_burn_spends_cpu_then_stops_at_its_deadline() -> None:
    start = time.process_time()
    burn = CpuBurn(1.0, time.monotonic() + 0.5)
    wait_for(lambda: not burn.running, timeout=10, what="burner past its deadline")
    assert time.process_time() > start, "the burner used no CPU"


def test_cpu_burn_stop_ends_it_before_its_deadline() -> None:
    burn = CpuBurn(0.5, time.monotonic() + 600)
    assert burn.running
    burn.stop()
    assert not burn.running
