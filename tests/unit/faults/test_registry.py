"""The fault registry: bounded values, bounded time, one fault per kind, exact error shares."""

from __future__ import annotations

import pytest

from service.faults.registry import MAX_SECONDS, FaultError, FaultKind, FaultRegistry


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_registry_is_disarmed_until_a_fault_is_switched_on() -> None:
    registry = FaultRegistry()
    assert not registry.armed and registry.active() == {}
    registry.switch_on(FaultKind.LATENCY, 0.5, 60)
    assert registry.armed and registry.latency() == 0.5
    assert registry.switch_off(FaultKind.LATENCY) and not registry.armed
    assert not registry.switch_off(FaultKind.LATENCY)


def test_registry_fault_expires_by_itself() -> None:
    clock = Clock()
    registry = FaultRegistry(clock=clock)
    registry.switch_on(FaultKind.ERROR_RATIO, 1, 30)
    clock.now += 29.9
    assert registry.error_due()
    clock.now += 0.1
    assert not registry.error_due()
    assert registry.active() == {} and not registry.armed


@pytest.mark.parametrize(
    ("kind", "value", "seconds", "message"),
    [
        (FaultKind.ERROR_RATIO, 1.5, 10, "error_ratio: expected a number above 0 and at most 1"),
        (FaultKind.ERROR_RATIO, True, 10, "error_ratio: expected a number"),
        (FaultKind.LATENCY, 60, 10, "latency: expected a number above 0 and at most 10"),
        (FaultKind.MEMORY_BALLAST, 4096, 10, "memory_ballast: expected a number above 0 and at most 256"),
        (FaultKind.HEALTH_FAILING, "disk", 10, "health_failing: expected one of config, log_sink"),
        (FaultKind.LATENCY, 1, MAX_SECONDS + 1, "seconds: expected a number above 0 and at most 900"),
        (FaultKind.LATENCY, 1, "10", "seconds: expected a number"),
    ],
)
def test_registry_refuses_values_out_of_bounds(kind: FaultKind, value: object, seconds: object, message: str) -> None:
    registry = FaultRegistry(frozenset({"config", "log_sink"}))
    with pytest.raises(FaultError, match=message):
        registry.switch_on(kind, value, seconds)
    assert not registry.armed


def test_registry_error_ratio_fails_exactly_that_share_evenly() -> None:
    registry = FaultRegistry()
    registry.switch_on(FaultKind.ERROR_RATIO, 0.25, 60)
    outcomes = [registry.error_due() for _ in range(12)]
    assert outcomes == [False, False, False, True] * 3


def test_registry_memory_ballast_is_held_until_switched_off() -> None:
    registry = FaultRegistry()
    registry.switch_on(FaultKind.MEMORY_BALLAST, 2, 60)
    assert registry.ballast_bytes() == 2 * 1024 * 1024
    registry.switch_on(FaultKind.MEMORY_BALLAST, 1, 60)
    assert registry.ballast_bytes() == 1024 * 1024, "a new size replaces the old ballast"
    assert registry.clear() == [FaultKind.MEMORY_BALLAST]
    assert registry.ballast_bytes() == 0


def test_registry_health_failing_names_one_check() -> None:
    registry = FaultRegistry(frozenset({"config", "log_sink"}))
    registry.switch_on(FaultKind.HEALTH_FAILING, "log_sink", 60)
    assert registry.check_failing("log_sink") and not registry.check_failing("config")


def test_registry_cpu_burn_runs_a_burner_until_switched_off() -> None:
    registry = FaultRegistry()
    registry.switch_on(FaultKind.CPU_BURN, 0.2, 60)
    assert registry.burning()
    registry.switch_on(FaultKind.CPU_BURN, 0.1, 60)
    assert registry.burning(), "a new share replaces the burner"
    registry.switch_off(FaultKind.CPU_BURN)
    assert not registry.burning()


class Recorded:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def start(self, value: float | str, seconds: float) -> None:
        self.calls.append(("start", value, seconds))

    def stop(self) -> None:
        self.calls.append(("stop",))


def test_registry_starts_and_stops_an_effect_once_each() -> None:
    clock = Clock()
    effect = Recorded()
    registry = FaultRegistry(effects={FaultKind.LOG_SINK_BLOCKED: effect}, clock=clock)
    registry.switch_on(FaultKind.LOG_SINK_BLOCKED, 50, 20)
    clock.now += 20
    assert registry.active() == {}, "expired"
    assert not registry.switch_off(FaultKind.LOG_SINK_BLOCKED)
    assert effect.calls == [("start", 50.0, 20.0), ("stop",)]


def test_registry_refuses_a_fault_with_nothing_to_act_on() -> None:
    registry = FaultRegistry()
    with pytest.raises(FaultError, match="rate_limit_storage_unreachable: not available in this process"):
        registry.switch_on(FaultKind.RATE_LIMIT_STORAGE_UNREACHABLE, True, 10)
    assert not registry.armed
