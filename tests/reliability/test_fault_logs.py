"""The log directory vanishes or the disk fills: requests succeed, /health and metrics say so, logging resumes."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.support.binaries import unavailable
from tests.support.net import wait_for
from tests.support.processes import running_service

from .loadgen import Result, load_until_stopped
from .mix import ORDINARY_PATHS, Mix
from .probes import access_records, get, get_json, log_records, metric_sum, samples

pytestmark = pytest.mark.integration

# /health is read by the probes while the sink fails; the load keeps to the API.
API_PATHS = tuple(p for p in ORDINARY_PATHS if p != "/health")
ENV = {"AI_DIY_TRUSTED_PROXIES": "127.0.0.1", "AI_DIY_RATE_LIMIT": "100000/minute", "AI_DIY_RESOURCE_LOG_INTERVAL": "0"}


def _log_sink(base: str) -> str:
    answer: str = get_json(f"{base}/health")[1]["checks"]["log_sink"]["status"]
    return answer


def _dropped(base: str) -> float:
    return metric_sum(samples(base), "ai_diy_log_lines_dropped_total")


def _background_load(port: int, user_agent: str) -> AbstractContextManager[Result]:
    return load_until_stopped(
        port,
        lambda round_number: Mix(abusers=0, round_number=round_number, paths=API_PATHS, user_agent=user_agent),
        rounds=200,
        connections=8,
        duration=0.3,
    )


def _marked(log_dir: Path, marker: str) -> int:
    return sum(1 for r in access_records(log_dir) if (r.get("details") or {}).get("user_agent") == marker)


def _exercise(tmp_path: Path, base: str, break_it: Callable[[], None], repair: Callable[[], None]) -> dict[str, float]:
    log_dir = tmp_path / "logs"
    port = int(base.rsplit(":", 1)[1])
    for _ in range(5):
        assert get(f"{base}/api/env", {"User-Agent": "before"})[0] == 200
    wait_for(lambda: _marked(log_dir, "before") == 5, timeout=5, what="access lines written")
    assert _log_sink(base) == "ok"
    dropped_before = _dropped(base)
    with _background_load(port, "during") as during:
        break_it()
        wait_for(lambda: _log_sink(base) == "degraded", timeout=10, what="log_sink degraded in /health")
        wait_for(lambda: _dropped(base) > dropped_before, timeout=10, what="dropped lines counted")
        health = get_json(f"{base}/health")
        ready, live = get(f"{base}/health/ready")[0], get(f"{base}/health/live")[0]
        gauge = metric_sum(samples(base), "ai_diy_health_status", check="log_sink")
        repair()
        wait_for(lambda: _log_sink(base) == "ok", timeout=10, what="log_sink ok again")
    for _ in range(5):
        assert get(f"{base}/api/env", {"User-Agent": "after"})[0] == 200
    wait_for(lambda: _marked(log_dir, "after") == 5, timeout=10, what="logging resumed")
    assert during.errors == [], during.errors[:5]
    assert during.server_errors == 0, during.statuses
    assert during.sent == during.answered > 0
    # Degraded, not down: a log volume shared by every replica must not pull them all
    # out of the load balancer; the gauge (and so the alert) still shows the check failing.
    assert health[0] == 200 and health[1]["status"] == "degraded" and health[1]["degraded"] == ["log_sink"]
    assert (ready, live, gauge) == (200, 200, 0)
    # Every line that did reach the file is whole: no fragment of a dropped line.
    log_records(log_dir)
    return {"requests": during.sent, "dropped": _dropped(base) - dropped_before}


def test_fault_logs_directory_replaced_by_a_file(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    moved = tmp_path / "logs.away"

    def break_it() -> None:
        log_dir.rename(moved)
        log_dir.write_text("a file where the log directory was\n")

    def repair() -> None:
        log_dir.unlink()
        moved.rename(log_dir)

    with running_service(tmp_path, env=ENV) as (_, base):
        seen = _exercise(tmp_path, base, break_it, repair)
    print(f"\nlog dir replaced: {seen}")


def _mount_tmpfs(path: Path, size: str) -> None:
    """A tiny tmpfs at path; without one the test fails under CI=true and skips elsewhere."""
    problem = None
    if os.geteuid() != 0 or shutil.which("mount") is None:
        problem = "mounting a tmpfs needs root and mount(8)"
    else:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            problem = f"cannot mount a tmpfs here: {result.stderr.strip()}"
    if problem is not None:
        unavailable(problem)


def test_fault_logs_disk_full(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    _mount_tmpfs(log_dir, "2m")
    filler = log_dir / "filler"
    try:

        def break_it() -> None:
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                for _ in range(4096):
                    os.write(fd, b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc  # the disk is full: the point of the test
            finally:
                os.close(fd)
            assert shutil.disk_usage(log_dir).free < 4096 * 4

        def repair() -> None:
            filler.unlink()

        with running_service(tmp_path, env=ENV) as (_, base):
            seen = _exercise(tmp_path, base, break_it, repair)
    finally:
        subprocess.run(["umount", str(log_dir)], check=True)
    print(f"\ndisk full: {seen}")


def test_fault_logs_blocked_writes_never_hold_requests(tmp_path: Path) -> None:
    """The day's log file is a pipe nobody reads: the writer blocks, requests do not."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    day_file = log_dir / f"ai_diy_api_{time.strftime('%Y%m%d', time.gmtime())}.jsonl"
    os.mkfifo(day_file)
    # A reader that never reads: the writer's writes block once the pipe's buffer is full.
    reader = os.open(day_file, os.O_RDONLY | os.O_NONBLOCK)
    drained = bytearray()
    try:
        with running_service(tmp_path, env=ENV) as (_, base):
            port = int(base.rsplit(":", 1)[1])
            with _background_load(port, "during") as during:
                wait_for(
                    lambda: _queue_full_drops(base) > 0,
                    timeout=60,
                    interval=0.5,
                    what="lines dropped while the writer is blocked",
                )
            assert during.errors == [], during.errors[:5]
            assert during.server_errors == 0, during.statuses
            assert during.sent == during.answered > 0
            assert get(f"{base}/health")[0] == 200  # a stalled file is no failed request

            # The pipe is read again: the writer comes back and new lines arrive.
            os.set_blocking(reader, True)
            stop = threading.Event()

            def drain() -> None:
                while not stop.is_set():
                    chunk = os.read(reader, 65536)
                    if not chunk:
                        return
                    drained.extend(chunk)

            thread = threading.Thread(target=drain, daemon=True)
            thread.start()
            for _ in range(5):
                assert get(f"{base}/api/env", {"User-Agent": "after-unblock"})[0] == 200
            wait_for(lambda: b"after-unblock" in drained, timeout=30, what="logging resumed after the pipe drained")
        stop.set()
        thread.join(10)
    finally:
        os.close(reader)


def test_fault_logs_blocked_writes_never_hold_shutdown(tmp_path: Path) -> None:
    """SIGTERM while the writer is stuck on a full pipe: the process still exits, cleanly and soon."""
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    day_file = log_dir / f"ai_diy_api_{time.strftime('%Y%m%d', time.gmtime())}.jsonl"
    os.mkfifo(day_file)
    reader = os.open(day_file, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with running_service(tmp_path, AI_DIY_DRAIN_TIMEOUT="2", env=ENV) as (proc, base):
            port = int(base.rsplit(":", 1)[1])

            with _background_load(port, "fill"):
                wait_for(
                    lambda: _queue_full_drops(base) > 0, timeout=60, interval=0.5, what="the writer stuck on the pipe"
                )
            proc.signal(signal.SIGTERM)
            # Drain (2 s) plus the log sink's bounded wait for its stuck writer (5 s), with room to spare.
            code = proc.popen.wait(timeout=20)
        assert code == 0, proc.output()[-2000:]
    finally:
        os.close(reader)


def _queue_full_drops(base: str) -> float:
    return metric_sum(samples(base), "ai_diy_log_lines_dropped_total", reason="queue_full")
