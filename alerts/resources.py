"""Process resources (the runbook's "Memory Usage: > 80 % warning, > 95 % critical" and
"Resource Usage: memory and CPU within limits")."""

from __future__ import annotations

from typing import Any

from signals.catalogue import CPU, MEMORY
from signals.target import Target

from .kit import percent, record, signal_alerts


def groups(target: Target) -> list[dict[str, Any]]:
    """One group, recording rules first: the alerts read this evaluation's values."""
    sel = target.sel
    # Memory share of the limit the kernel enforces (cgroup limit, else host RAM).
    # Workers share one cgroup, so their RSS adds up against one limit; `max` picks that
    # limit once whether or not a `pid` label is present.
    rules = [
        record(
            "instance:ai_diy_memory_usage:ratio",
            f"sum by (job, instance) (process_resident_memory_bytes{{{sel}}})\n"
            f"/ max by (job, instance) (ai_diy_process_memory_limit_bytes{{{sel}}})\n",
        )
    ]
    # for 5m: RSS moves with garbage collection and request bursts; five minutes above
    # the line is growth, not a spike. Critical keeps the same delay because at 95 % the
    # restart in the runbook is the remedy either way.
    endings = {"critical": "; the kernel will kill it soon.", "warning": "."}
    rules += signal_alerts(
        target,
        MEMORY,
        wait="5m",
        summary=lambda _, line: f"AI-DIY uses more than {percent(line)} of its memory limit",
        description=lambda severity, line: (
            "{{ $labels.instance }} uses {{ $value | humanizePercentage }} of its memory limit "
            f"({severity} above {percent(line)}){endings[severity]}"
        ),
    )
    # Each hypercorn worker runs one asyncio event loop on one thread, so a worker can
    # never use more than one core: 0.9 CPU-second per second means its loop is saturated
    # and requests queue, however many cores the host has. Checked per series (per worker
    # `pid` when there are several). for 15m: CPU bursts during exports and benchmarks
    # are expected; a quarter of an hour is not a burst.
    rules += signal_alerts(
        target,
        CPU,
        wait="15m",
        summary=lambda _, __: "An AI-DIY worker is using a whole CPU core",
        description=lambda severity, line: (
            "{{ $labels.instance }} spends {{ $value | humanizePercentage }} of one core on CPU; "
            f"its event loop is saturated ({severity} above {percent(line)})."
        ),
    )
    return [{"name": "ai-diy-resources", "rules": rules}]
