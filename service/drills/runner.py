"""Run one drill on its private stack: fire the alert, wait for the page, undo the cause, wait for the resolution.

Every wait is bounded; a drill that does not page or resolve within its bound is a
failed drill, not a hung one. Progress goes to `progress` (the terminal, or nowhere).
How a drill fires its alert is its `Via`:
- traffic: the offending requests, once (service/drills/traffic.py);
- fault: a fault switched on through /admin/faults, with steady requests where the
  alert's signal is made of requests (errors, latency, log lines), switched off after
  the page;
- process: the service stopped and started again, or Prometheus' view of it changed
  (the target dropped, or a stand-in that serves no AI-DIY metrics scraped instead).
"""

from __future__ import annotations

import concurrent.futures
import copy
import http.client
import json
import math
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from . import stack
from .catalogue import Drill, Via
from .report import Result
from .traffic import requests_for

RATE_LIMIT = 100
"""Requests per minute the traffic drills' service allows a client (set explicitly, so they know it)."""
STEADY_RATE_LIMIT = "1000000/minute"
"""The other drills send steady requests from one client; the limiter must not be what they measure."""
MEMORY_LIMIT_MIB = 256
"""The memory drills' service measures its memory against this budget, so a bounded ballast crosses 80 % and 95 %."""
PAGE_TIMEOUT = 240.0
RESOLVE_TIMEOUT = 360.0
SCRAPED_TIMEOUT = 30.0
POLL = 0.5
STEADY_CLIENTS = 4
STEADY_PAUSE = 0.04
"""Each steady client's pause between requests: at most about 100 requests a second in all."""
PARALLEL = 4
"""Drills run side by side by default: each mostly waits for Prometheus' windows and Alertmanager."""
STEADY_FAULTS = {"error_ratio", "latency", "log_sink_blocked"}
"""Faults whose alert counts requests: the drill sends steady requests while they are on."""
_MIB = 1024 * 1024


class DrillUnavailable(RuntimeError):
    """This drill cannot run here; the message is one line."""


class DrillCancelled(Exception):
    """The run was interrupted (Ctrl-C, SIGTERM): the drill stops waiting and its stack is stopped."""


def rules_file(source: Path, drill: Drill) -> Path:
    """The time-compressed rules the drill's Prometheus loads (alerts/drill/index.yml names it)."""
    directory = source / "alerts" / "drill"
    index = yaml.safe_load((directory / "index.yml").read_text(encoding="utf-8"))
    if drill.name not in index:
        raise DrillUnavailable("alerts/drill/index.yml does not name it: run make generate")
    return directory / str(index[drill.name])


def service_env(drill: Drill) -> dict[str, str]:
    """The settings the drill's service runs with: fault injection on, and what the drill counts on."""
    env = {"AI_DIY_FAULT_INJECTION": "true", "AI_DIY_MEMORY_LIMIT_MIB": str(MEMORY_LIMIT_MIB)}
    env["AI_DIY_RATE_LIMIT"] = f"{RATE_LIMIT}/minute" if drill.via is Via.TRAFFIC else STEADY_RATE_LIMIT
    return env


def _query(prometheus_url: str, expression: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"query": expression})
    try:
        with urllib.request.urlopen(f"{prometheus_url}/api/v1/query?{query}", timeout=5) as answer:  # noqa: S310
            result: list[dict[str, Any]] = json.load(answer)["data"]["result"]
            return result
    except OSError:
        return []


def _scraped(prometheus_url: str) -> bool:
    return bool(_query(prometheus_url, 'up{job="ai-diy"} == 1 and on (instance) ai_diy_build_info{job="ai-diy"}'))


def _call(running: stack.Stack, method: str, path: str, body: bytes | None = None) -> Any:
    """One request to the drill's service with the admin token; its JSON answer."""
    request = urllib.request.Request(  # noqa: S310  # the drill's own loopback service
        running.service_url + path,
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {running.admin_token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return json.load(answer)
    except urllib.error.HTTPError as refused:
        detail = refused.read().decode(errors="replace")[:300]
        refused.close()
        raise stack.StackError(f"{method} {path} answered {refused.code}: {detail}") from None


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


@contextmanager
def steady_requests(service_url: str, *, until: float, path: str = "/api/env") -> Iterator[None]:
    """GET `path` from a few clients on kept-alive connections until the block ends (or `until`, a monotonic time)."""
    stop = threading.Event()
    address = urllib.parse.urlsplit(service_url)

    def client() -> None:
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
        try:
            while not stop.is_set() and time.monotonic() < until:
                try:
                    connection.request("GET", path)
                    connection.getresponse().read()
                except (OSError, http.client.HTTPException):
                    connection.close()  # a refused or dropped request: reconnect and go on
                stop.wait(STEADY_PAUSE)
        finally:
            connection.close()

    clients = [threading.Thread(target=client, name=f"drill-client-{n}", daemon=True) for n in range(STEADY_CLIENTS)]
    for thread in clients:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in clients:
            thread.join(40)


def ballast_mib(running: stack.Stack, share: str) -> int:
    """MiB of ballast that takes the service's resident memory to `share` (e.g. "97%") of its memory budget."""
    samples = {
        name: _query(running.prometheus_url, f'{name}{{job="ai-diy"}}')
        for name in ("process_resident_memory_bytes", "ai_diy_process_memory_limit_bytes")
    }
    if not all(samples.values()):
        raise stack.StackError("Prometheus has no memory figures of the service yet")
    resident = float(samples["process_resident_memory_bytes"][0]["value"][1])
    limit = float(samples["ai_diy_process_memory_limit_bytes"][0]["value"][1])
    wanted = float(share.rstrip("%")) / 100 * limit - resident
    if wanted <= 0:
        raise DrillUnavailable(f"the service already uses {resident / limit:.0%} of its memory budget")
    return math.ceil(wanted / _MIB)


class _StandIn:
    """An HTTP server whose /metrics is valid and empty: a target that answers but is not AI-DIY."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"# no AI-DIY metrics here\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.target = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="drill-stand-in", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(stack.STOP_TIMEOUT)


class _Cause:
    """What fires one drill's alert: `fire` brings it about, `remove` undoes it, `close` releases what it holds."""

    def __init__(self, drill: Drill, running: stack.Stack, seconds: float) -> None:
        self.drill, self.running, self.seconds = drill, running, seconds
        self._config = yaml.safe_load(running.prometheus_config.read_text(encoding="utf-8"))
        self._stand_in: _StandIn | None = None

    def fire(self) -> None:
        drill, running = self.drill, self.running
        if drill.via is Via.TRAFFIC:
            _send(running.service_url, drill, running.admin_token)
        elif drill.via is Via.FAULT:
            value: Any = drill.amount
            if drill.action == "memory_ballast":
                value = ballast_mib(running, str(drill.amount))
            elif drill.action == "log_sink_blocked":
                value = 0
            elif drill.action == "rate_limit_storage_unreachable":
                value = True
            body = json.dumps({"value": value, "seconds": math.ceil(self.seconds)}).encode()
            _call(running, "PUT", f"/admin/faults/{drill.action}", body)
        elif drill.action == "stop-service":
            running.service.stop()
        elif drill.action == "drop-scrape-target":
            config = copy.deepcopy(self._config)
            config["scrape_configs"] = [job for job in config["scrape_configs"] if job["job_name"] != "ai-diy"]
            running.reload_prometheus(config)
        elif drill.action == "scrape-a-stand-in":
            self._stand_in = _StandIn()
            config = copy.deepcopy(self._config)
            for job in config["scrape_configs"]:
                if job["job_name"] == "ai-diy":
                    job["static_configs"][0]["targets"] = [self._stand_in.target]
            running.reload_prometheus(config)
        else:
            raise DrillUnavailable(f"no way to bring about {drill.fault!r}")

    def remove(self) -> None:
        drill, running = self.drill, self.running
        if drill.via is Via.FAULT:
            _call(running, "DELETE", f"/admin/faults/{drill.action}")
        elif drill.action == "stop-service":
            running.service.start()
        elif drill.via is Via.PROCESS:
            running.reload_prometheus(self._config)

    def close(self) -> None:
        if self._stand_in is not None:
            self._stand_in.close()


_NEVER = threading.Event()


def _wait(condition: Callable[[], object], timeout: float, cancelled: threading.Event = _NEVER) -> float | None:
    """Seconds until `condition()` is truthy, or None when `timeout` passes first; DrillCancelled on `cancelled`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        if cancelled.wait(POLL):
            raise DrillCancelled("interrupted")
    return None


@contextmanager
def _steady(drill: Drill, running: stack.Stack, until: float) -> Iterator[None]:
    if drill.via is Via.FAULT and drill.action in STEADY_FAULTS:
        with steady_requests(running.service_url, until=until):
            yield
    else:
        yield


def run_drill(
    drill: Drill,
    *,
    source: Path,
    workdir: Path,
    progress: Callable[[str], None] = lambda _: None,
    page_timeout: float = PAGE_TIMEOUT,
    resolve_timeout: float = RESOLVE_TIMEOUT,
    cancelled: threading.Event = _NEVER,
) -> Result:
    """Run one drill from start to resolution; its processes are stopped and its fault removed whatever happens."""
    rules = rules_file(source, drill)
    workdir.mkdir(parents=True, exist_ok=True)
    progress(f"{drill.name}: starting the service, Prometheus ({rules.name}) and Alertmanager")
    with stack.running(source, workdir, rules, service_env(drill)) as running:
        if _wait(lambda: _scraped(running.prometheus_url), SCRAPED_TIMEOUT, cancelled) is None:
            raise stack.StackError(f"Prometheus did not scrape the service within {SCRAPED_TIMEOUT:g} s")
        cause = _Cause(drill, running, page_timeout + 30)
        started = time.monotonic()
        with _steady(drill, running, until=started + page_timeout + resolve_timeout):
            progress(f"{drill.name}: {drill.fault}")
            removed = False
            try:
                cause.fire()
                progress(f"{drill.name}: waiting for the page at {drill.receiver}")
                paged = _wait(
                    lambda: running.receiver.seen(drill.alert, drill.severity, "firing"), page_timeout, cancelled
                )
                page = running.receiver.seen(drill.alert, drill.severity, "firing")
                resolved = None
                cause.remove()
                removed = True
                if paged is not None:
                    progress(f"{drill.name}: paged after {paged:.0f} s; cause removed, waiting for the resolution")
                    resolved = _wait(
                        lambda: running.receiver.seen(drill.alert, drill.severity, "resolved"),
                        resolve_timeout,
                        cancelled,
                    )
            finally:
                if not removed and drill.via is not Via.TRAFFIC:
                    _undo_quietly(cause)
                cause.close()
        progress(f"{drill.name}: done after {time.monotonic() - started:.0f} s; see {drill.runbook}")
    return Result(drill, paged, resolved, page.receiver if page else None)


def _undo_quietly(cause: _Cause) -> None:
    """Remove the cause on the way out of a failed drill; the stack is stopped next, which removes it anyway."""
    try:
        cause.remove()
    except (stack.StackError, OSError) as failed:  # the stack's stop ends every fault with the service
        print(f"{cause.drill.name}: could not remove the cause before stopping: {failed}", file=sys.stderr)


def run_drills(
    drills: list[Drill],
    *,
    source: Path,
    workdir: Path,
    parallel: int = PARALLEL,
    progress: Callable[[str], None] = lambda _: None,
    problem: Callable[[str], None] = lambda _: None,
) -> list[Result]:
    """Run `drills`, `parallel` at a time (those needing a core of their own after, alone); results in their order.

    A drill that cannot start is a failed drill (`problem` hears why). On Ctrl-C every
    running drill stops waiting, stops its stack, and KeyboardInterrupt goes on up.
    """
    cancelled = threading.Event()
    results: dict[Drill, Result] = {}

    def one(drill: Drill) -> Result:
        try:
            return run_drill(
                drill,
                source=source,
                workdir=workdir / drill.name.replace(":", "-"),
                progress=progress,
                cancelled=cancelled,
            )
        except (DrillUnavailable, stack.StackError) as failed:
            problem(f"{drill.name}: {failed}")
            return Result(drill, None, None, None)

    shared = [drill for drill in drills if not drill.exclusive]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="drill") as pool:
        pending = {pool.submit(one, drill) for drill in shared}
        try:
            while pending:
                done, pending = concurrent.futures.wait(pending, timeout=POLL)
                for future in done:
                    result = future.result()
                    results[result.drill] = result
        except BaseException:
            cancelled.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    for drill in drills:
        if drill.exclusive:
            results[drill] = one(drill)
    return [results[drill] for drill in drills]
