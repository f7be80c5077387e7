"""The private stack one drill runs on: the service, Prometheus, Alertmanager and a webhook receiver.

Everything listens on free loopback ports and lives in a work directory of its own.
Prometheus loads only the drill's time-compressed rules (alerts/drill/) and scrapes and
evaluates every SCRAPE_INTERVAL_MS; Alertmanager routes with the shipped tree and
receivers (alerts/alertmanager.yml), its webhooks pointed at the receiver here and its
group timers in seconds. Every process is started by this module and stopped by its PID,
in reverse order, whatever ends the drill (its end, an error, Ctrl-C).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from service.ops.checkout import ALERTMANAGER_NAMES, PROMETHEUS_NAMES, find_binary

SCRAPE_INTERVAL_MS = 500
"""The drill rules are compressed for this interval (alerts/drill.py says the same)."""
LOOKBACK_SCRAPES = 20
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
SHIPPED_RECEIVER_URLS = {"pager": "http://127.0.0.1:5001/page", "ticket": "http://127.0.0.1:5001/ticket"}


class StackError(RuntimeError):
    """A part of the stack could not start; the message is one line."""


@dataclass(frozen=True)
class Notification:
    """One alert of one webhook delivery, as the receiver saw it."""

    receiver: str
    alert: str
    severity: str
    status: str
    at: float


@dataclass
class Receiver:
    """Records what Alertmanager posts to /page and /ticket."""

    port: int = 0
    notifications: list[Notification] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, alert: str, severity: str, status: str) -> Notification | None:
        """The first notification of `alert` at `severity` in `status`, if any."""
        with self.lock:
            return next(
                (n for n in self.notifications if (n.alert, n.severity, n.status) == (alert, severity, status)), None
            )


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free loopback port, in a thread of this process."""
    sink = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            now = time.monotonic()
            with sink.lock:
                for alert in body.get("alerts", []):
                    labels = alert.get("labels", {})
                    sink.notifications.append(
                        Notification(
                            body.get("receiver", self.path.strip("/")),
                            labels.get("alertname", ""),
                            labels.get("severity", ""),
                            alert.get("status", ""),
                            now,
                        )
                    )
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # the drill prints its own progress
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="drill-receiver", daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_TIMEOUT)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310  # loopback URL built here
            return bool(answer.status == 200)
    except OSError:
        return False


class Managed:
    """One process of the stack: started, waited for, and stopped by its PID (again and again, for the down drill)."""

    def __init__(
        self, name: str, argv: list[str], workdir: Path, ready_url: str, env: dict[str, str] | None = None
    ) -> None:
        self.name, self.argv, self.workdir, self.ready_url, self.env = name, argv, workdir, ready_url, env
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    def start(self) -> int:
        """Start it and wait until `ready_url` answers 200; StackError when it exits or stays silent."""
        with (self.workdir / f"{self.name}.log").open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603  # argv built by this module
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.workdir
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not _ready(self.ready_url):
            if self._process.poll() is not None:
                raise StackError(f"{self.name} exited with {self._process.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                raise StackError(f"{self.name} did not answer {self.ready_url} within {START_TIMEOUT:g} s")
            time.sleep(0.2)
        return self._process.pid

    def signal(self, signum: int) -> None:
        """Send `signum` to the process this object started (Prometheus reloads its config on SIGHUP)."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signum)

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL when it does not end within STOP_TIMEOUT; nothing when it is not running."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)


@contextmanager
def started(
    name: str, argv: list[str], workdir: Path, ready_url: str, env: dict[str, str] | None = None
) -> Iterator[Managed]:
    """Start a process and wait until it is ready; it is stopped by its PID on the way out."""
    process = Managed(name, argv, workdir, ready_url, env)
    try:
        process.start()
        yield process
    finally:
        process.stop()


@dataclass(frozen=True)
class Stack:
    """Where a running drill stack answers, and its processes (the process drills act on them)."""

    service_url: str
    prometheus_url: str
    admin_token: str
    receiver: Receiver
    service: Managed
    prometheus: Managed
    prometheus_config: Path
    """The config Prometheus runs; rewrite it and `reload_prometheus` to change what it scrapes."""

    @property
    def service_pid(self) -> int:
        return self.service.pid

    def reload_prometheus(self, config: dict[str, Any]) -> None:
        """Write `config` and have Prometheus load it (SIGHUP), as an operator's change of targets would."""
        self.prometheus_config.write_text(yaml.safe_dump(config, sort_keys=False))
        self.prometheus.signal(signal.SIGHUP)


def prometheus_config(source: Path, *, service: str, prometheus: str, alertmanager: str, rules: Path) -> dict[str, Any]:
    """deploy/prometheus.yml for the drill: its targets, its interval, its rules file only."""
    config: dict[str, Any] = yaml.safe_load((source / "deploy" / "prometheus.yml").read_text(encoding="utf-8"))
    interval = f"{SCRAPE_INTERVAL_MS}ms"
    config["global"].update(scrape_interval=interval, evaluation_interval=interval, scrape_timeout=interval)
    config["rule_files"] = [str(rules)]
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [alertmanager]
    for job in config["scrape_configs"]:
        job["static_configs"][0]["targets"] = [service if job["job_name"] == "ai-diy" else prometheus]
    return config


def alertmanager_config(source: Path, receiver_url: str) -> str:
    """The shipped routing and receivers, webhooks sent here, group timers in seconds."""
    text = (source / "alerts" / "alertmanager.yml").read_text(encoding="utf-8")
    for name, url in SHIPPED_RECEIVER_URLS.items():
        if url not in text:
            raise StackError(f"alerts/alertmanager.yml no longer sends {name} to {url}: the drill cannot receive it")
        text = text.replace(url, f"{receiver_url}/{url.rsplit('/', 1)[1]}")
    config = yaml.safe_load(text)
    config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    return yaml.safe_dump(config, sort_keys=False)


@contextmanager
def running(source: Path, workdir: Path, rules: Path, service_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """The whole stack for one drill; everything is stopped on the way out."""
    prometheus_binary, alertmanager_binary = find_binary(PROMETHEUS_NAMES), find_binary(ALERTMANAGER_NAMES)
    if prometheus_binary is None or alertmanager_binary is None:
        raise StackError("a drill needs prometheus and prometheus-alertmanager (Debian: apt-get install both)")
    service_port, prometheus_port, alertmanager_port = free_port(), free_port(), free_port()
    token = secrets.token_urlsafe(24)
    with ExitStack() as stack:
        sink = stack.enter_context(receiver())
        (workdir / "alertmanager.yml").write_text(alertmanager_config(source, f"http://127.0.0.1:{sink.port}"))
        alertmanager = f"127.0.0.1:{alertmanager_port}"
        stack.enter_context(
            started(
                "alertmanager",
                [
                    alertmanager_binary,
                    f"--config.file={workdir / 'alertmanager.yml'}",
                    f"--storage.path={workdir / 'alertmanager-data'}",
                    f"--web.listen-address={alertmanager}",
                    "--cluster.listen-address=",
                ],
                workdir,
                f"http://{alertmanager}/-/ready",
            )
        )
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AI_DIY_", "OTEL_"))}
        env.update(
            AI_DIY_HOST="127.0.0.1",
            AI_DIY_PORT=str(service_port),
            AI_DIY_DATA_DIR=str(workdir / "data"),
            AI_DIY_LOG_DIR=str(workdir / "logs"),
            AI_DIY_ADMIN_TOKEN=token,
            **(service_env or {}),
        )
        service = f"127.0.0.1:{service_port}"
        service_process = stack.enter_context(
            started(
                "service", [sys.executable, "-m", "service.cli", "serve"], workdir, f"http://{service}/health/live", env
            )
        )
        config = prometheus_config(
            source, service=service, prometheus=f"127.0.0.1:{prometheus_port}", alertmanager=alertmanager, rules=rules
        )
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        prometheus_process = stack.enter_context(
            started(
                "prometheus",
                [
                    prometheus_binary,
                    f"--config.file={workdir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                    f"--web.listen-address=127.0.0.1:{prometheus_port}",
                    # The 5m default spans 20 production scrapes; 20 of the drill's scrapes, compressed alike,
                    # so a target that disappears is absent in seconds, as it would be in minutes.
                    f"--query.lookback-delta={LOOKBACK_SCRAPES * SCRAPE_INTERVAL_MS}ms",
                ],
                workdir,
                f"http://127.0.0.1:{prometheus_port}/-/ready",
            )
        )
        yield Stack(
            f"http://{service}",
            f"http://127.0.0.1:{prometheus_port}",
            token,
            sink,
            service_process,
            prometheus_process,
            workdir / "prometheus.yml",
        )
