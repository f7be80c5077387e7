"""Health checks that fail on demand: the named check reports a failure while the fault is on."""

from __future__ import annotations

from service.health import Check, CheckResult

from .registry import FaultRegistry


def failing_on_demand(checks: dict[str, Check], registry: FaultRegistry) -> dict[str, Check]:
    """The same checks, each answering a failure while `health_failing` names it."""

    def wrap(name: str, check: Check) -> Check:
        def run() -> CheckResult:
            if registry.armed and registry.check_failing(name):
                return CheckResult(False, {"error": "fault injected"})
            return check()

        return run

    return {name: wrap(name, check) for name, check in checks.items()}
