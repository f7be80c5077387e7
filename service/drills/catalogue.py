"""Every alert and severity, with what fires it in a drill and the receiver it must page.

Three ways to fire an alert:
- `traffic`: requests alone, against the service as shipped (rate limit, traversal,
  auth failures, input validation, unusual security events);
- `fault`: a fault switched on through /admin/faults (service/faults), with the
  traffic its alert needs to count (an error ratio needs requests to fail);
- `process`: the drill acts on a process or on Prometheus' view of it (the down,
  absent and metrics-missing alerts), which the service cannot do to itself.

The receiver is the shipped Alertmanager routing's (alerts/alertmanager.yml): critical
pages `pager`, warning goes to `ticket`. A test fails when an alert rule has no drill
here, as one fails when it has no promtool case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Via(StrEnum):
    """What the drill does to fire the alert."""

    TRAFFIC = "traffic"
    FAULT = "fault"
    PROCESS = "process"


RECEIVERS = {"critical": "pager", "warning": "ticket"}


@dataclass(frozen=True)
class Drill:
    """One alert at one severity, and how a drill fires it."""

    alert: str
    severity: str
    via: Via
    action: str
    """The fault kind, traffic pattern or process action."""
    amount: float | int | str = ""
    """The fault's value or the traffic's request count; empty when the action says it all."""

    @property
    def name(self) -> str:
        """How an operator names the drill: `AiDiyHighErrorRate:critical`."""
        return f"{self.alert}:{self.severity}"

    @property
    def receiver(self) -> str:
        """The receiver the page must reach."""
        return RECEIVERS[self.severity]

    @property
    def fault(self) -> str:
        """The table's `fault` column: what was done, e.g. `fault error_ratio=0.1`."""
        if self.amount == "":
            return f"{self.via.value} {self.action}"
        amount = format(self.amount, "g") if isinstance(self.amount, float) else str(self.amount)
        return f"{self.via.value} {self.action}={amount}"

    @property
    def exclusive(self) -> bool:
        """Whether it needs the machine to itself: a CPU drill must get a whole core to cross its threshold."""
        return self.action == "cpu_burn"

    @property
    def runbook(self) -> str:
        """The command that prints the alert's runbook section."""
        return f"ai-diy runbook {self.alert}"


DRILLS = (
    Drill("AiDiyServiceDown", "critical", Via.PROCESS, "stop-service"),
    Drill("AiDiyTargetMissing", "critical", Via.PROCESS, "drop-scrape-target"),
    Drill("AiDiyMetricsMissing", "warning", Via.PROCESS, "scrape-a-stand-in"),
    Drill("AiDiyHealthCheckFailing", "critical", Via.FAULT, "health_failing", "data_store"),
    Drill("AiDiySecurityInactive", "critical", Via.FAULT, "rate_limit_storage_unreachable"),
    Drill("AiDiyLogLinesDropped", "warning", Via.FAULT, "log_sink_blocked"),
    Drill("AiDiyHighErrorRate", "critical", Via.FAULT, "error_ratio", 0.1),
    Drill("AiDiyHighErrorRate", "warning", Via.FAULT, "error_ratio", 0.02),
    Drill("AiDiyHighResponseTime", "critical", Via.FAULT, "latency", 6.0),
    Drill("AiDiyHighResponseTime", "warning", Via.FAULT, "latency", 3.0),
    Drill("AiDiyLatencyObjectiveMissed", "warning", Via.FAULT, "latency", 1.5),
    Drill("AiDiyHighMemoryUsage", "critical", Via.FAULT, "memory_ballast", "97%"),
    Drill("AiDiyHighMemoryUsage", "warning", Via.FAULT, "memory_ballast", "85%"),
    Drill("AiDiyCpuSaturated", "warning", Via.FAULT, "cpu_burn", 1.0),
    Drill("AiDiyRateLimitViolations", "critical", Via.TRAFFIC, "refused-requests", 60),
    Drill("AiDiyRateLimitViolations", "warning", Via.TRAFFIC, "refused-requests", 15),
    Drill("AiDiySecurityEventsUnusual", "warning", Via.TRAFFIC, "suspicious-requests", 15),
    Drill("AiDiyPathTraversalAttempt", "warning", Via.TRAFFIC, "path-traversal-requests", 1),
    Drill("AiDiyInputValidationFailures", "warning", Via.TRAFFIC, "invalid-document-names", 35),
    Drill("AiDiyAuthFailures", "critical", Via.TRAFFIC, "wrong-admin-token-requests", 25),
    Drill("AiDiyAuthFailures", "warning", Via.TRAFFIC, "wrong-admin-token-requests", 8),
    Drill("AiDiyErrorBudgetBurn", "critical", Via.FAULT, "error_ratio", 0.2),
    Drill("AiDiyErrorBudgetBurn", "warning", Via.FAULT, "error_ratio", 0.01),
)


class UnknownDrill(LookupError):
    """A name that is no drill; the message lists what is."""


def select(names: list[str]) -> list[Drill]:
    """The drills named (`ALERT` for every severity of it, `ALERT:severity` for one, in any case), all when none is."""
    if not names:
        return list(DRILLS)
    chosen: list[Drill] = []
    for name in names:
        alert, _, severity = name.strip().lower().partition(":")
        matched = [d for d in DRILLS if d.alert.lower() == alert and severity in ("", d.severity)]
        if not matched:
            known = ", ".join(dict.fromkeys(d.alert for d in DRILLS))
            raise UnknownDrill(f"no drill {name!r}: expected ALERT or ALERT:critical|warning, ALERT one of {known}")
        chosen += [d for d in matched if d not in chosen]
    return chosen
