"""Health checks fail on demand, and only the one named."""

from __future__ import annotations

from service.faults.health import failing_on_demand
from service.faults.registry import FaultKind, FaultRegistry
from service.health import CheckResult, HealthChecker


def test_health_named_check_fails_while_the_fault_is_on() -> None:
    checks = {"config": lambda: CheckResult(True, {}), "log_sink": lambda: CheckResult(True, {})}
    registry = FaultRegistry(frozenset(checks))
    checker = HealthChecker(failing_on_demand(checks, registry))
    assert all(result.ok for result in checker.run().values())
    registry.switch_on(FaultKind.HEALTH_FAILING, "log_sink", 60)
    results = checker.run()
    assert results["config"].ok and not results["log_sink"].ok
    assert results["log_sink"].detail == {"error": "fault injected"}
    registry.clear()
    assert all(result.ok for result in checker.run().values())
