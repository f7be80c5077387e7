"""Resources: memory against its limit, RSS, CPU, file descriptors, threads, uptime and restarts.

Memory, CPU and dropped-log-line panels plot the alerts' own expressions (the memory
recording rule, the per-worker CPU rate over 5 minutes, the 10-minute drop count) with
the alerts' lines.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash_b

from signals.catalogue import CPU, LOG_LINES_DROPPED, MEMORY

from .kit import SEL, alert_lines, dashboard, query, runbook_links, stat, threshold_steps, timeseries

UID = "ai-diy-resources"

# Recorded per instance: every worker's RSS against the one memory limit they share.
_MEMORY_RATIO = MEMORY.expr(SEL)


def build() -> dash_b.Dashboard:
    """The Resources dashboard."""
    board = dashboard(
        UID, "AI-DIY / Resources", "Memory, CPU, file descriptors, threads and restarts of the AI-DIY processes."
    )
    board = (
        board.with_panel(
            stat(
                "Memory of limit (max)",
                query(f"max({_MEMORY_RATIO})"),
                unit="percentunit",
                description=(
                    "Highest RSS / memory limit (cgroup limit, else host memory) over the instances, with "
                    "the memory alert's lines."
                ),
                thresholds=alert_lines(MEMORY),
            ).links(runbook_links(MEMORY.alert))
        )
        .with_panel(
            stat(
                "Uptime (min)",
                query(f"min(time() - process_start_time_seconds{{{SEL}}})"),
                unit="s",
                description="Time since the most recently started process.",
                thresholds=threshold_steps((None, "orange"), (300, "green")),
            )
        )
        .with_panel(
            stat(
                "Restarts (1h)",
                query(f"sum(changes(process_start_time_seconds{{{SEL}}}[1h]))"),
                unit="short",
                description="Process restarts in the last hour (changes of the start time).",
                thresholds=threshold_steps((None, "green"), (1, "orange"), (3, "red")),
            )
        )
        .with_panel(
            stat(
                "Open file descriptors (max)",
                query(f"max(process_open_fds{{{SEL}}} / process_max_fds{{{SEL}}})"),
                unit="percentunit",
                description="Highest share of the file descriptor limit in use.",
                thresholds=threshold_steps((None, "green"), (0.8, "orange"), (0.95, "red")),
            )
        )
    )
    board = board.with_panel(
        timeseries(
            "Memory percent of limit",
            [query(_MEMORY_RATIO, "{{instance}}")],
            unit="percentunit",
            description=(
                "RSS of all workers / memory limit per instance (the memory alert's recording rule), with "
                "its warning and critical lines."
            ),
            thresholds=alert_lines(MEMORY),
        ).links(runbook_links(MEMORY.alert))
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
            "CPU per worker",
            [query(CPU.expr(SEL), "{{instance}} {{pid}}")],
            unit="percentunit",
            description=(
                "CPU time per second of each worker over 5 minutes (1 = one core busy), user + system. "
                "A worker runs one event loop on one core: the line is where the CPU alert says it is saturated."
            ),
            thresholds=alert_lines(CPU),
        ).links(runbook_links(CPU.alert))
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
    board = board.with_panel(
        timeseries(
            "Log lines dropped (10m)",
            [query(LOG_LINES_DROPPED.expr(SEL), "{{instance}} {{reason}}")],
            unit="short",
            description=(
                "Log lines dropped over 10 minutes by reason (full writer queue, failing sink): any drop is a gap "
                "in the JSONL logs, security and audit included, and the line is where the alert fires."
            ),
            thresholds=alert_lines(LOG_LINES_DROPPED),
            width=24,
        ).links(runbook_links(LOG_LINES_DROPPED.alert))
    )
    return board
