"""What the alerts fire on, in one place: selectors, thresholds, windows and the objective.

The rules (alerts/) and the dashboards (grafana/) both import this module, so a panel
that draws an alert's line plots the alert's own expression with the alert's own numbers.
Change a threshold here, run `make generate`, and the rules, the promtool expectations
that break, the dashboards and the Kubernetes resources all follow.

Thresholds are the operational runbook's "Critical Metrics Thresholds" and "Key Metrics
to Monitor"; why each window and `for:` is what it is is said where the alert is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

JOB = "ai-diy"
"""Prometheus job of the service in every configuration shipped here; a generator parameter."""
SERVICE = "ai-diy"
"""The `service` label of every alert (Alertmanager routes on it), whatever the job is called."""
RUNBOOK_BASE_URL = "https://github.com/ai-diy/ai-diy/blob/main/docs/runbook.md"
"""Where docs/runbook.md is published; each alert links to `<base>#<lower-case alert name>`."""
GRAFANA_BASE_URL = "http://localhost:3000"
"""Where Grafana is reached (the compose stack's); each alert links to `<base>/d/<uid>?viewPanel=<id>`."""

DURATION = "http_server_request_duration_seconds"
PROBE_ROUTES = ("/health", "/health/live", "/health/ready", "/metrics")
"""Load balancers and Prometheus, not users: left out of every error ratio and latency."""
SLO = "availability"
OBJECTIVE = 0.999
"""Share of user requests answered without a 5xx, over OBJECTIVE_WINDOW."""
OBJECTIVE_WINDOW = "30d"
"""The window the objective and its error budget are measured over."""


def job_selector(job: str = JOB) -> str:
    """The label matcher every rule starts from."""
    return f'job="{job}"'


def user_traffic(selector: str) -> str:
    """`selector` narrowed to user requests: probe routes left out."""
    return f'{selector}, http_route!~"{"|".join(PROBE_ROUTES)}"'


def slo_selector(selector: str) -> str:
    """The labels of the availability SLO's recorded series."""
    return f'{selector}, slo="{SLO}"'


@dataclass(frozen=True)
class Signal:
    """A quantity an alert compares with its thresholds (`> line`), as PromQL.

    `template` holds `$sel` where the label matchers go: the rules put the job there,
    the dashboards the job and the `$instance` variable.
    """

    alert: str
    template: str
    thresholds: dict[str, float]
    """Severity -> line, critical first; the alert fires strictly above the line."""

    def expr(self, selector: str) -> str:
        """The PromQL for these label matchers."""
        return Template(self.template).substitute(sel=selector)

    @property
    def lines(self) -> list[float]:
        """The thresholds, lowest first (the order dashboards draw them in)."""
        return sorted(self.thresholds.values())


# Share of user requests answered 5xx over 5 minutes (recorded in slo.rules.yml).
ERROR_RATIO = Signal(
    "AiDiyHighErrorRate",
    f'slo:sli_error:ratio_rate5m{{$sel, slo="{SLO}"}}',
    {"critical": 0.05, "warning": 0.01},
)
ERROR_RATIO_MIN_RATE = "1/3"
"""User requests per second the error-rate alert needs (100 in its 5-minute window)."""

MEAN_LATENCY = Signal(
    "AiDiyHighResponseTime",
    f"job:{DURATION}:mean5m{{$sel}}",
    {"critical": 5, "warning": 2},
)
P95_LATENCY = Signal(
    "AiDiyLatencyObjectiveMissed",
    f"job:{DURATION}:p95_5m{{$sel}}",
    {"warning": 1},
)
LATENCY_MIN_RATE = "0.1"
"""User requests per second the latency alerts need (30 in their 5-minute window)."""

MEMORY = Signal(
    "AiDiyHighMemoryUsage",
    "instance:ai_diy_memory_usage:ratio{$sel}",
    {"critical": 0.95, "warning": 0.8},
)
CPU = Signal(
    "AiDiyCpuSaturated",
    "rate(process_cpu_seconds_total{$sel}[5m])",
    {"warning": 0.9},
)

RATE_LIMIT_REFUSALS = Signal(
    "AiDiyRateLimitViolations",
    "sum by (job) (increase(ai_diy_rate_limit_violations_total{$sel}[1h]))",
    {"critical": 50, "warning": 10},
)
SECURITY_EVENTS = Signal(
    "AiDiySecurityEventsUnusual",
    # Refusals and invalid document names are counted by their own alerts (rate-limit
    # violations, input-validation failures); this one is for everything else.
    (
        "sum by (job) (increase(ai_diy_security_events_total{$sel, "
        'event!~"rate_limit_exceeded|invalid_document_name"}[1h]))'
    ),
    {"warning": 10},
)
PATH_TRAVERSAL = Signal(
    "AiDiyPathTraversalAttempt",
    'sum by (job) (increase(ai_diy_security_events_total{$sel, event="path_traversal_attempt"}[15m]))',
    {"warning": 0},
)
INPUT_VALIDATION = Signal(
    "AiDiyInputValidationFailures",
    "sum by (job) (increase(ai_diy_input_validation_failures_total{$sel}[1h]))",
    {"warning": 30},
)
AUTH_FAILURES = Signal(
    "AiDiyAuthFailures",
    "sum by (job) (increase(ai_diy_auth_failures_total{$sel}[15m]))",
    {"critical": 20, "warning": 5},
)
LOG_LINES_DROPPED = Signal(
    "AiDiyLogLinesDropped",
    "sum by (job, instance, reason) (increase(ai_diy_log_lines_dropped_total{$sel}[10m]))",
    {"warning": 0},
)

SIGNALS = (
    ERROR_RATIO,
    MEAN_LATENCY,
    P95_LATENCY,
    MEMORY,
    CPU,
    RATE_LIMIT_REFUSALS,
    SECURITY_EVENTS,
    PATH_TRAVERSAL,
    INPUT_VALIDATION,
    AUTH_FAILURES,
    LOG_LINES_DROPPED,
)


@dataclass(frozen=True)
class BurnRate:
    """Page or ticket when both windows burn the error budget `factor` times too fast."""

    short: str
    long: str
    factor: float


BURN_ALERT = "AiDiyErrorBudgetBurn"
# Multiwindow, multi-burn-rate (Google SRE workbook, chapter 5), by severity.
BURN_RATES = {
    "critical": (BurnRate("5m", "1h", 14.4), BurnRate("30m", "6h", 6)),
    "warning": (BurnRate("2h", "1d", 3), BurnRate("6h", "3d", 1)),
}
BURN_MIN_RATE = "0.05"
"""User requests per second over the last hour the burn-rate alerts need (180)."""

_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def window_seconds(window: str) -> int:
    """`5m` -> 300."""
    return int(window[:-1]) * _SECONDS[window[-1]]


BURN_WINDOWS = tuple(
    sorted({w for rates in BURN_RATES.values() for rate in rates for w in (rate.short, rate.long)}, key=window_seconds)
)
"""Every window an error ratio is recorded over: 5m 30m 1h 2h 6h 1d 3d."""
BURN_FACTORS = tuple(sorted({rate.factor for rates in BURN_RATES.values() for rate in rates}))
