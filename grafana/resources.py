"""Resources: memory against its limit, RSS, CPU, file descriptors, threads, uptime and restarts."""
from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b

from .kit import SEL, dashboard, query, stat, threshold_steps, timeseries

UID = "ai-diy-resources"

# Summed per instance: with several workers each worker's process metrics carry a `pid` label.
_MEMORY_PERCENT = (
    f"sum by (instance) (process_resident_memory_bytes{{{SEL}}})"
    f" / max by (instance) (ai_diy_process_memory_limit_bytes{{{SEL}}})"
)
_MEMORY_STEPS = ((None, "green"), (0.8, "orange"), (0.95, "red"))


def build() -> dash_b.Dashboard:
    """The Resources dashboard."""
    board = dashboard(UID, "AI-DIY / Resources", "Memory, CPU, file descriptors, threads and restarts of the AI-DIY processes.")
    board = board.with_panel(
        stat(
            "Memory of limit (max)",
            query(f"max({_MEMORY_PERCENT})"),
            unit="percentunit",
            description="Highest RSS / memory limit (cgroup limit, else host memory) over the instances; 80 % warns, 95 % is critical.",
            thresholds=threshold_steps(*_MEMORY_STEPS),
        )
    ).with_panel(
        stat(
            "Uptime (min)",
            query(f"min(time() - process_start_time_seconds{{{SEL}}})"),
            unit="s",
            description="Time since the most recently started process.",
            thresholds=threshold_steps((None, "orange"), (300, "green")),
        )
    ).with_panel(
        stat(
            "Restarts (1h)",
            query(f"sum(changes(process_start_time_seconds{{{SEL}}}[1h]))"),
            unit="short",
            description="Process restarts in the last hour (changes of the start time).",
            thresholds=threshold_steps((None, "green"), (1, "orange"), (3, "red")),
        )
    ).with_panel(
        stat(
            "Open file descriptors (max)",
            query(f"max(process_open_fds{{{SEL}}} / process_max_fds{{{SEL}}})"),
            unit="percentunit",
            description="Highest share of the file descriptor limit in use.",
            thresholds=threshold_steps((None, "green"), (0.8, "orange"), (0.95, "red")),
        )
    )
    board = board.with_panel(
        timeseries(
            "Memory percent of limit",
            [query(_MEMORY_PERCENT, "{{instance}}")],
            unit="percentunit",
            description="RSS / memory limit per instance; lines at 80 % (warning) and 95 % (critical).",
            thresholds=threshold_steps(*_MEMORY_STEPS),
        )
    ).with_panel(
        timeseries(
            "Resident memory",
            [
                query(f"sum by (instance) (process_resident_memory_bytes{{{SEL}}})", "RSS {{instance}}", ref="A"),
                query(f"max by (instance) (ai_diy_process_memory_limit_bytes{{{SEL}}})", "limit {{instance}}", ref="B"),
            ],
            unit="bytes",
            description="Resident set size and the memory limit it is measured against.",
        )
    )
    board = board.with_panel(
        timeseries(
            "CPU",
            [query(f"sum by (instance) (rate(process_cpu_seconds_total{{{SEL}}}[$__rate_interval]))", "{{instance}}")],
            unit="percentunit",
            description="CPU time per second (1 = one core busy), user + system.",
        )
    ).with_panel(
        timeseries(
            "Open file descriptors",
            [
                query(f"sum by (instance) (process_open_fds{{{SEL}}})", "open {{instance}}", ref="A"),
                query(f"min by (instance) (process_max_fds{{{SEL}}})", "limit {{instance}}", ref="B"),
            ],
            unit="short",
            description="Open file descriptors and their limit.",
        )
    )
    board = board.with_panel(
        timeseries(
            "Threads",
            [query(f"sum by (instance) (ai_diy_process_threads{{{SEL}}})", "{{instance}}")],
            unit="short",
            description="OS threads per instance.",
        )
    ).with_panel(
        timeseries(
            "Uptime",
            [query(f"time() - process_start_time_seconds{{{SEL}}}", "{{instance}}")],
            unit="s",
            description="Seconds since each process started; a drop to zero is a restart.",
        )
    )
    return board
