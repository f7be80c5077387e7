from __future__ import annotations

import logging
import threading

import pytest

from observability.periodic import Periodic


def test_periodic_keeps_running_after_a_failing_round(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    third = threading.Event()

    def action() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("first round breaks")
        if len(calls) >= 3:
            third.set()

    periodic = Periodic("probe", 0.01, action, logging.getLogger("test.periodic"))
    with caplog.at_level(logging.ERROR, logger="test.periodic"):
        periodic.start()
        assert third.wait(5), "the action stopped after its first failure"
        periodic.stop()
    assert not periodic.running
    failures = [r for r in caplog.records if r.name == "test.periodic"]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert failures[0].event == "probe_failed"  # type: ignore[attr-defined]  # a field logged with extra=


def test_periodic_with_interval_zero_never_starts() -> None:
    periodic = Periodic("off", 0, lambda: None, logging.getLogger("test.periodic"))
    periodic.start()
    assert not periodic.running
