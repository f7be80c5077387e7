"""The service deployed as the systemd unit deploys it, with Redis and Prometheus, for the documents' commands.

Laid out in a temporary directory that stands for the unit's paths (/var/lib/ai-diy,
/var/log/ai-diy, /etc/ai-diy/ai-diy.env, /opt/ai-diy/venv/bin) and the documents'
(/var/backups/ai-diy, /etc/prometheus/prometheus.yml). Commands run in bash after the
runbook's own set-up block, with those paths mapped; `systemctl` and `journalctl`
are the stand-ins of systemd_standin. Everything started here is stopped by PID.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support import binaries
from tests.support.alerting_stack import copy_rules, prometheus_config
from tests.support.environment import is_service_setting
from tests.support.net import free_port, wait_for
from tests.support.processes import ROOT, Process
from tests.support.redis_server import RedisServer

from . import markdown

UNITS = ROOT / "deploy" / "systemd"
VENV_BIN = Path(sys.executable).parent
TOKEN = "runbook-admin-token"
# Clients the traffic comes from (the service trusts the loopback proxy's X-Forwarded-For).
USER, HAMMER, PROBER = "192.0.2.10", "203.0.113.9", "198.51.100.7"


@dataclass(frozen=True)
class Result:
    """What one command did."""

    command: str
    code: int
    out: str
    err: str

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


class Deployment:
    """One deployed service and the tools around it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / "var-lib-ai-diy"
        self.logs = root / "var-log-ai-diy"
        self.env_file = root / "etc-ai-diy" / "ai-diy.env"
        self.backups = root / "var-backups-ai-diy"
        self.prometheus_root = root / "prometheus"
        self.bin = root / "bin"
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.prom_port = free_port()
        self.prom = f"http://127.0.0.1:{self.prom_port}"
        self.paths = {
            "/var/lib/ai-diy": str(self.state),
            "/var/log/ai-diy": str(self.logs),
            "/etc/ai-diy/ai-diy.env": str(self.env_file),
            "/opt/ai-diy/venv/bin": str(VENV_BIN),
            "/var/backups/ai-diy": str(self.backups),
            "/etc/prometheus/prometheus.yml": str(self.prometheus_root / "deploy" / "prometheus.yml"),
            "http://localhost:9090": self.prom,
        }
        self.redis = RedisServer(root, port=free_port())
        self.prometheus: Process | None = None
        self.faults: set[str] = set()
        self.traffic_seen: dict[str, list[int]] = {}

    # -- set-up ---------------------------------------------------------------------

    def settings(self) -> str:
        """The environment file, as an operator writes it."""
        return (
            f"AI_DIY_HOST=127.0.0.1\nAI_DIY_PORT={self.port}\nAI_DIY_TRUSTED_PROXIES=127.0.0.1\n"
            f"AI_DIY_ADMIN_TOKEN={TOKEN}\nAI_DIY_RATE_LIMIT_STORAGE={self.redis.url}\nAI_DIY_RESOURCE_LOG_INTERVAL=5\n"
        )

    def install(self) -> None:
        for directory in (self.state, self.logs, self.env_file.parent, self.backups, self.bin):
            directory.mkdir(parents=True)
        self.env_file.write_text(self.settings())
        self.env_file.chmod(0o640)
        config = self.root / "standin.json"
        config.write_text(
            json.dumps(
                {
                    "units": {path.stem: str(path) for path in sorted(UNITS.glob("*.service"))},
                    "paths": self.paths,
                    "state": str(self.root / "systemd"),
                    "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
                }
            )
        )
        for tool in ("systemctl", "journalctl"):
            script = self.bin / tool
            script.write_text(
                f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m "
                f'tests.integration.runbook.systemd_standin {config} {tool} "$@"\n'
            )
            script.chmod(0o755)

    def start_prometheus(self) -> None:
        binary = binaries.require("prometheus")
        (self.prometheus_root / "deploy").mkdir(parents=True)
        copy_rules(self.prometheus_root / "alerts")
        # No Alertmanager here: a closed loopback port, whose errors Prometheus only logs.
        config = prometheus_config(
            service_port=self.port, alertmanager_url=f"http://127.0.0.1:{free_port()}", prometheus_port=self.prom_port
        )
        (self.prometheus_root / "deploy" / "prometheus.yml").write_text(config)
        self.prometheus = Process(
            [
                binary,
                f"--config.file={self.prometheus_root / 'deploy' / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.prometheus_root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.prom_port}",
                "--web.enable-lifecycle",
            ],
            log=self.prometheus_root / "prometheus.out",
        )
        wait_for(
            lambda: httpx.get(f"{self.prom}/-/ready", timeout=1).status_code == 200, timeout=30, what="prometheus ready"
        )
        wait_for(self.scraped, timeout=30, what="Prometheus scraping the service")

    def scraped(self) -> bool:
        targets = httpx.get(f"{self.prom}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return any(t["labels"]["job"] == "ai-diy" and t["health"] == "up" for t in targets)

    def query(self, promql: str) -> dict[str, Any]:
        """Prometheus's answer to an instant query (errors included)."""
        answer: dict[str, Any] = httpx.get(f"{self.prom}/api/v1/query", params={"query": promql}, timeout=10).json()
        return answer

    def start(self) -> None:
        self.install()
        self.redis.start()
        result = self.systemctl("start", "ai-diy")
        assert result.returncode == 0, result.stdout + result.stderr + self.journal()
        wait_for(
            lambda: httpx.get(f"{self.api}/health", timeout=2).status_code == 200, timeout=30, what="service healthy"
        )
        self.start_prometheus()

    def serving(self) -> None:
        """Running and answering, whatever an earlier procedure left: started again if stopped.

        `systemctl start` returns once the process runs, before it listens; wait for that too.
        """
        if self.main_pid() == 0:
            result = self.systemctl("start", "ai-diy")
            assert result.returncode == 0, result.stdout + result.stderr + self.journal()
        wait_for(
            lambda: httpx.get(f"{self.api}/health/live", timeout=2).status_code == 200, timeout=30, what="service live"
        )

    def stop(self) -> None:
        self.systemctl("stop", "ai-diy")
        if self.prometheus is not None:
            self.prometheus.stop()
        self.redis.stop()

    # -- running things -------------------------------------------------------------

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "systemctl"), *args], capture_output=True, text=True, timeout=90, check=False
        )

    def journal(self) -> str:
        path = self.root / "systemd" / "ai-diy" / "journal.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def main_pid(self) -> int:
        return int(self.systemctl("show", "-p", "MainPID", "--value", "ai-diy").stdout.strip() or 0)

    def map(self, text: str) -> str:
        for unit_path in sorted(self.paths, key=len, reverse=True):
            text = text.replace(unit_path, self.paths[unit_path])
        return text

    def script(self, command: str, document: Path) -> str:
        """The command after the document's set-up block, with the unit's paths mapped."""
        return self.map(f"set -o pipefail\n{markdown.setup(document)}\n{command}\n")

    def run(self, command: str, document: Path, *, timeout: float = 90) -> Result:
        env = {k: v for k, v in os.environ.items() if not is_service_setting(k)}
        env["PATH"] = f"{self.bin}:{env.get('PATH', '/usr/bin:/bin')}"
        done = subprocess.run(
            ["bash", "-c", self.script(command, document)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        return Result(command, done.returncode, done.stdout, done.stderr)

    def follow(self, command: str, document: Path, *, during: Any, seconds: float = 3.0) -> Result:
        """A command that follows a log until interrupted: run it, do `during()`, then Ctrl-C (SIGINT) it."""
        env = {k: v for k, v in os.environ.items() if not is_service_setting(k)}
        env["PATH"] = f"{self.bin}:{env.get('PATH', '/usr/bin:/bin')}"
        process = subprocess.Popen(
            ["bash", "-c", self.script(command, document)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        try:
            time.sleep(1.0)
            during()
            time.sleep(seconds)
        finally:
            os.killpg(process.pid, signal.SIGINT)
            out, err = process.communicate(timeout=30)
        return Result(command, process.returncode, out, err)

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for path in sorted(self.logs.glob("ai_diy_api_*.jsonl")):
            lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return lines

    # -- traffic --------------------------------------------------------------------

    def traffic(self) -> dict[str, list[int]]:
        """The incident: users, 5xx, 429s, traversal, failed logins, bad input, slow uploads."""
        seen: dict[str, list[int]] = {}

        def get(client: httpx.Client, path: str, ip: str, label: str, **kwargs: Any) -> None:
            seen.setdefault(label, []).append(client.get(path, headers={"X-Forwarded-For": ip}, **kwargs).status_code)

        slow = [
            threading.Thread(target=self._slow_upload, args=(name, seconds))
            for name, seconds in (("slow.md", 5.4), ("slowish.md", 1.4))
        ]
        for thread in slow:
            thread.start()
        auth = {"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": USER}
        with httpx.Client(base_url=self.api, timeout=30) as client:
            for path in ("/api/env", "/api/config/models", "/api/appdocs", "/api/data/status") * 5:
                get(client, path, USER, "users")
            seen["writes"] = [
                client.put("/api/appdocs/notes/readme.md", content=b"# Notes\n", headers=auth).status_code,
                client.put("/api/appdocs/data/models.json", content=b'{"models": ["a"]}', headers=auth).status_code,
            ]
            get(client, "/no/such/page", USER, "not_found")
            with self.data_store_fault():
                for _ in range(5):
                    get(client, "/api/data/status", USER, "server_errors")
            for _ in range(110):  # the runbook's rate-limit loop, from one client
                get(client, "/api/env", HAMMER, "hammer")
            for path in ("/api/appdocs/..%2f..%2fetc%2fpasswd", "/api/appdocs/%2e%2e/%2e%2e/etc/shadow"):
                get(client, path, PROBER, "traversal")
            wrong = {"Authorization": "Bearer guess", "X-Forwarded-For": PROBER}
            seen["auth"] = [client.put("/api/appdocs/x.md", content=b"x", headers=wrong).status_code for _ in range(2)]
            seen["bad_input"] = [
                client.put("/api/appdocs/bad.json", content=b'{"unclosed": ', headers=auth).status_code,
                client.put("/api/appdocs/big.md", content=b"x" * 1_100_000, headers=auth).status_code,
            ]
        for thread in slow:
            thread.join(30)
        return seen

    @contextmanager
    def data_store_fault(self) -> Iterator[None]:
        """A regular file where the data directory should be, then the directory back."""
        data, moved = self.state / "data", self.state / "data.moved"
        data.rename(moved)
        data.write_text("not a directory\n")
        self.faults.add("data_store")
        try:
            yield
        finally:
            data.unlink()
            moved.rename(data)
            self.faults.discard("data_store")

    def _slow_upload(self, name: str, seconds: float) -> None:
        """A client that sends its document's body slowly: a slow request, as the server sees it."""
        body = b"# slowly sent\n" * 20
        head = (
            f"PUT /api/appdocs/{name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"X-Forwarded-For: {USER}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(head + body[:10])
            time.sleep(seconds)
            sock.sendall(body[10:])
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
