"""Run one drill on its private stack: fire the alert, wait for the page, stop, wait for the resolution.

Every wait is bounded; a drill that does not page or resolve within its bound is a
failed drill, not a hung one. Progress goes to `progress` (the terminal, or nowhere).
Only traffic drills run here so far: the faults need the service's fault-injection
setting, and the process drills their own actions.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import yaml

from . import stack
from .catalogue import Drill, Via
from .report import Result
from .traffic import requests_for

RATE_LIMIT = 100
"""Requests per minute the drill's service allows a client (set explicitly, so traffic drills know it)."""
PAGE_TIMEOUT = 240.0
RESOLVE_TIMEOUT = 360.0
SCRAPED_TIMEOUT = 30.0
POLL = 0.5


class DrillUnavailable(RuntimeError):
    """This drill cannot run here; the message is one line."""


def rules_file(source: Path, drill: Drill) -> Path:
    """The time-compressed rules the drill's Prometheus loads (alerts/drill/index.yml names it)."""
    directory = source / "alerts" / "drill"
    index = yaml.safe_load((directory / "index.yml").read_text(encoding="utf-8"))
    if drill.name not in index:
        raise DrillUnavailable("alerts/drill/index.yml does not name it: run make generate")
    return directory / str(index[drill.name])


def _scraped(prometheus_url: str) -> bool:
    query = urllib.parse.urlencode({"query": 'up{job="ai-diy"} == 1'})
    try:
        with urllib.request.urlopen(f"{prometheus_url}/api/v1/query?{query}", timeout=5) as answer:  # noqa: S310
            return bool(json.load(answer)["data"]["result"])
    except OSError:
        return False


def _send(base: str, drill: Drill, admin_token: str) -> None:
    for request in requests_for(drill, allowance=RATE_LIMIT, admin_token=admin_token):
        sent = urllib.request.Request(  # noqa: S310  # the drill's own loopback service
            base + request.path, data=request.body or None, headers=request.headers, method=request.method
        )
        try:
            with urllib.request.urlopen(sent, timeout=10):  # noqa: S310
                pass
        except urllib.error.HTTPError as refused:  # the offending requests are meant to be refused
            refused.close()


def _wait(condition: Callable[[], object], timeout: float) -> float | None:
    """Seconds until `condition()` is truthy, or None when `timeout` passes first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(POLL)
    return None


def run_drill(
    drill: Drill,
    *,
    source: Path,
    workdir: Path,
    progress: Callable[[str], None] = lambda _: None,
    page_timeout: float = PAGE_TIMEOUT,
    resolve_timeout: float = RESOLVE_TIMEOUT,
) -> Result:
    """Run one drill from start to resolution; its processes are stopped whatever happens."""
    if drill.via is not Via.TRAFFIC:
        raise DrillUnavailable(f"{drill.via.value} drills do not run yet; traffic drills do")
    rules = rules_file(source, drill)
    workdir.mkdir(parents=True, exist_ok=True)
    progress(f"{drill.name}: starting the service, Prometheus ({rules.name}) and Alertmanager")
    with stack.running(source, workdir, rules, {"AI_DIY_RATE_LIMIT": f"{RATE_LIMIT}/minute"}) as running:
        if _wait(lambda: _scraped(running.prometheus_url), SCRAPED_TIMEOUT) is None:
            raise stack.StackError(f"Prometheus did not scrape the service within {SCRAPED_TIMEOUT:g} s")
        progress(f"{drill.name}: {drill.fault}")
        _send(running.service_url, drill, running.admin_token)
        sent = time.monotonic()
        progress(f"{drill.name}: waiting for the page at {drill.receiver}")
        paged = _wait(lambda: running.receiver.seen(drill.alert, drill.severity, "firing"), page_timeout)
        page = running.receiver.seen(drill.alert, drill.severity, "firing")
        resolved = None
        if paged is not None:
            progress(f"{drill.name}: paged after {paged:.0f} s; traffic stopped, waiting for the resolution")
            resolved = _wait(lambda: running.receiver.seen(drill.alert, drill.severity, "resolved"), resolve_timeout)
        progress(f"{drill.name}: done after {time.monotonic() - sent:.0f} s; see {drill.runbook}")
    return Result(drill, paged, resolved, page.receiver if page else None)
