"""The checks behind /health, /health/ready and /health/live, shared with the `ai_diy_health_status` gauge.

A check passes, fails, or is degraded: not passing, but every request is still
answered right (a full log disk, the rate-limit storage lost under fail-open, a
read-only data store that still serves its documents). Degraded keeps /health and
/health/ready at 200 so that one shared fault does not pull every replica out of a
load balancer at once; the gauge shows 0 for it all the same, so alerts see it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Check = Callable[[], "CheckResult"]

OK, DEGRADED, FAIL = "ok", "degraded", "fail"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: dict[str, Any]
    # Only for a check that does not pass: requests are still answered right.
    degraded: bool = False

    @property
    def status(self) -> str:
        return OK if self.ok else DEGRADED if self.degraded else FAIL

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, **self.detail}


@dataclass(frozen=True)
class Verdict:
    """What a set of check results means for the instance as a whole."""

    degraded: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, results: Mapping[str, CheckResult]) -> Verdict:
        return cls(
            degraded=[name for name, result in results.items() if result.status == DEGRADED],
            failing=[name for name, result in results.items() if result.status == FAIL],
        )

    @property
    def ready(self) -> bool:
        """Whether requests are answered right (degraded checks allowed)."""
        return not self.failing


class HealthChecker:
    """Named checks run together; each result also sets the per-check gauge (1 only when it passes).

    Checks are plain blocking callables (a stat() or two): the route runs them off
    the event loop.
    """

    def __init__(self, checks: dict[str, Check], on_result: Callable[[str, bool], None] | None = None) -> None:
        self.checks = checks
        self.on_result = on_result

    def run(self) -> dict[str, CheckResult]:
        results = {}
        for name, check in self.checks.items():
            try:
                result = check()
            except Exception as exc:  # a broken check is a failed check, and says why
                result = CheckResult(False, {"error": f"{type(exc).__name__}: {exc}"})
            results[name] = result
            if self.on_result is not None:
                self.on_result(name, result.ok)
        return results
