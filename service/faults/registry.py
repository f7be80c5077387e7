"""The faults switched on, each bounded in size and in time.

One entry per kind at most, so the registry never grows; every value has a ceiling and
every fault an expiry, checked whenever the registry is read, so a drill that dies
without switching its faults off leaves a service that heals by itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from .cpu import CpuBurn

MAX_SECONDS = 900.0
"""No fault lasts longer than 15 minutes."""
MAX_LATENCY_SECONDS = 10.0
MAX_BALLAST_MIB = 256
MAX_LOG_ROOM = 10_000
"""A blocked log sink holds at most this many lines (the writer's own buffer size) before dropping."""
_MIB = 1024 * 1024


class FaultKind(StrEnum):
    """What can be broken, and what each value means."""

    ERROR_RATIO = "error_ratio"
    """Share of /api/* requests answered 500, 0 < value <= 1."""
    LATENCY = "latency"
    """Seconds added before each /api/* request, 0 < value <= MAX_LATENCY_SECONDS."""
    MEMORY_BALLAST = "memory_ballast"
    """MiB of resident memory held, 0 < value <= MAX_BALLAST_MIB."""
    HEALTH_FAILING = "health_failing"
    """Name of the health check that fails."""
    CPU_BURN = "cpu_burn"
    """Share of one core kept busy, 0 < value <= 1."""
    LOG_SINK_BLOCKED = "log_sink_blocked"
    """The log writer stops writing; `value` lines wait in its buffer, the rest are dropped and counted."""
    RATE_LIMIT_STORAGE_UNREACHABLE = "rate_limit_storage_unreachable"
    """The rate limiter cannot reach its storage (value: true); fail-open or fail-closed as configured."""


class Effect(Protocol):
    """What a fault does to a part of the service outside the registry, and how it is undone.

    `start` is bounded by `seconds` on its own, so a fault whose expiry nobody reads still ends.
    """

    def start(self, value: float | str, seconds: float) -> None: ...

    def stop(self) -> None: ...


class FaultError(ValueError):
    """A switch the registry refuses; the message is one line for the caller."""


@dataclass(frozen=True)
class Fault:
    """One fault switched on."""

    kind: FaultKind
    value: float | str
    expires_at: float

    def as_json(self, now: float) -> dict[str, Any]:
        return {"kind": self.kind.value, "value": self.value, "seconds_left": round(max(0.0, self.expires_at - now), 1)}


def _number(kind: FaultKind, value: Any, ceiling: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= ceiling:
        raise FaultError(f"{kind.value}: expected a number above 0 and at most {ceiling:g}, got {value!r}")
    return float(value)


class FaultRegistry:
    """The faults in force; `armed` is False while none is, so the request path skips everything."""

    def __init__(
        self,
        checks: frozenset[str] = frozenset(),
        *,
        effects: dict[FaultKind, Effect] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.checks = checks
        self._effects = dict(effects or {})
        self.armed = False
        self._clock = clock
        self._faults: dict[FaultKind, Fault] = {}
        self._ballast: bytearray | None = None
        self._burn: CpuBurn | None = None
        self._owed = 0.0

    def _validated(self, kind: FaultKind, value: Any) -> float | str:
        if kind in (FaultKind.ERROR_RATIO, FaultKind.CPU_BURN):
            return _number(kind, value, 1.0)
        if kind is FaultKind.LATENCY:
            return _number(kind, value, MAX_LATENCY_SECONDS)
        if kind is FaultKind.MEMORY_BALLAST:
            return _number(kind, value, MAX_BALLAST_MIB)
        if kind is FaultKind.LOG_SINK_BLOCKED:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LOG_ROOM:
                raise FaultError(f"{kind.value}: expected whole lines from 0 to {MAX_LOG_ROOM}, got {value!r}")
            return float(value)
        if kind is FaultKind.RATE_LIMIT_STORAGE_UNREACHABLE:
            if value is not True:
                raise FaultError(f"{kind.value}: expected true, got {value!r}")
            return "true"
        if value not in self.checks:
            raise FaultError(f"{kind.value}: expected one of {', '.join(sorted(self.checks))}, got {value!r}")
        return str(value)

    def switch_on(self, kind: FaultKind, value: Any, seconds: Any) -> Fault:
        """Start (or replace) a fault for `seconds`; FaultError when value or seconds is out of bounds."""
        valid = self._validated(kind, value)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= MAX_SECONDS:
            raise FaultError(f"seconds: expected a number above 0 and at most {MAX_SECONDS:g}, got {seconds!r}")
        if kind in (FaultKind.LOG_SINK_BLOCKED, FaultKind.RATE_LIMIT_STORAGE_UNREACHABLE):
            effect = self._effects.get(kind)
            if effect is None:
                raise FaultError(f"{kind.value}: not available in this process (nothing here to break)")
            effect.start(valid, float(seconds))
        if kind is FaultKind.MEMORY_BALLAST:
            # Written, not just allocated: a zeroed allocation is not resident until touched.
            self._ballast = bytearray(b"\x01") * math.ceil(float(valid) * _MIB)
        if kind is FaultKind.ERROR_RATIO:
            self._owed = 0.0
        fault = Fault(kind, valid, self._clock() + float(seconds))
        if kind is FaultKind.CPU_BURN:
            if self._burn is not None:
                self._burn.stop()
            self._burn = CpuBurn(float(valid), fault.expires_at, clock=self._clock)
        self._faults[kind] = fault
        self.armed = True
        return fault

    def switch_off(self, kind: FaultKind) -> bool:
        """End a fault; False when it was not on."""
        fault = self._faults.pop(kind, None)
        effect = self._effects.get(kind)
        if fault is not None and effect is not None:
            effect.stop()
        if kind is FaultKind.MEMORY_BALLAST:
            self._ballast = None
        if kind is FaultKind.CPU_BURN and self._burn is not None:
            self._burn.stop()
            self._burn = None
        self.armed = bool(self._faults)
        return fault is not None

    def clear(self) -> list[FaultKind]:
        """End every fault (the drill's end, the process's shutdown); the kinds that were on."""
        kinds = list(self._faults)
        for kind in kinds:
            self.switch_off(kind)
        return kinds

    def active(self) -> dict[FaultKind, Fault]:
        """The faults in force now (expired ones are switched off first)."""
        now = self._clock()
        for kind in [kind for kind, fault in self._faults.items() if fault.expires_at <= now]:
            self.switch_off(kind)
        return dict(self._faults)

    def now(self) -> float:
        return self._clock()

    def burning(self) -> bool:
        """Whether a CPU burner thread is running."""
        return self._burn is not None and self._burn.running

    def ballast_bytes(self) -> int:
        """Bytes of memory ballast held."""
        return len(self._ballast) if self._ballast is not None else 0

    def latency(self) -> float:
        """Seconds to add to this request (0 when no latency fault is on)."""
        fault = self.active().get(FaultKind.LATENCY)
        return float(fault.value) if fault else 0.0

    def error_due(self) -> bool:
        """Whether this request is one of the failing share: exactly `ratio` of them, evenly spread, no randomness."""
        fault = self.active().get(FaultKind.ERROR_RATIO)
        if fault is None:
            return False
        self._owed += float(fault.value)
        if self._owed >= 1.0 - 1e-9:
            self._owed -= 1.0
            return True
        return False

    def check_failing(self, name: str) -> bool:
        """Whether the health check `name` is made to fail."""
        fault = self.active().get(FaultKind.HEALTH_FAILING)
        return fault is not None and fault.value == name
