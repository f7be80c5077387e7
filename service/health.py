"""The checks behind /health, shared with the `ai_diy_health_status` gauge."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Check = Callable[[], "CheckResult"]


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "fail", **self.detail}


class HealthChecker:
    """Named checks run together; each result also sets the per-check gauge.

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
