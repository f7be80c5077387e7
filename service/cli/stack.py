"""`ai-diy stack`: the service with a local Prometheus and an Alertmanager pair, without Docker.

The configs are the compose stack's own (deploy/compose/prometheus.yml, alerts/),
rewritten for loopback: the service replicas found by DNS in compose become one
static 127.0.0.1 target, the two Alertmanagers gossip on loopback ports, and storage
goes to a temporary directory. Prometheus and Alertmanager are optional: each runs
when its binary is installed. Everything started here is stopped by PID on Ctrl-C or
SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from observability.errors import ConfigError
from service.cli._common import EXIT_FAILURE, EXIT_OK
from service.ops.checkout import ALERTMANAGER_NAMES, PROMETHEUS_NAMES, find_binary, find_source
from service.settings import Settings, load_settings

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "stack", help="run the service with a local Prometheus and Alertmanager (no Docker needed)"
    )
    parser.add_argument(
        "--prometheus-port", type=int, default=9090, help="Prometheus port on 127.0.0.1 (default: %(default)s)"
    )
    parser.add_argument(
        "--alertmanager-port",
        type=int,
        default=9093,
        help="first Alertmanager's port on 127.0.0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--alertmanager-2-port",
        type=int,
        default=9095,
        help="second Alertmanager's port on 127.0.0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--scrape-interval", default="15s", help="Prometheus scrape and rule interval (default: %(default)s)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="directory for generated configs and storage (default: a new temp dir)"
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="checkout holding deploy/compose/ and alerts/ (default: found from here)",
    )
    parser.set_defaults(func=run)


def local_prometheus_config(
    source: Path, *, service_target: str, prometheus_port: int, alertmanager_ports: Sequence[int], interval: str
) -> dict[str, Any]:
    """The compose Prometheus config with loopback targets and the checkout's rule files.

    Alerts go to every Alertmanager in `alertmanager_ports` (none: no alerting at all).
    """
    config: dict[str, Any] = yaml.safe_load((source / "deploy" / "compose" / "prometheus.yml").read_text())
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    config["rule_files"] = [str(source / "alerts" / "*.rules.yml")]
    alertmanagers = [f"127.0.0.1:{port}" for port in alertmanager_ports]
    local = {
        "ai-diy": [service_target],
        "prometheus": [f"127.0.0.1:{prometheus_port}"],
        "alertmanager": alertmanagers,
    }
    jobs = []
    for job in config["scrape_configs"]:
        targets = local.get(job["job_name"])
        if not targets:
            continue  # a compose-only component (or Alertmanager when it does not run here)
        kept = {k: v for k, v in job.items() if not k.endswith("_sd_configs") and k != "static_configs"}
        kept["static_configs"] = [{"targets": targets}]
        jobs.append(kept)
    config["scrape_configs"] = jobs
    if alertmanagers:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]}
    else:
        config.pop("alerting", None)
    return config


@dataclass
class Component:
    """One process of the stack and the URL that shows it is up."""

    name: str
    argv: list[str]
    ready_url: str
    url: str
    env: dict[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, logs: Path) -> None:
        # Own session: a Ctrl-C in the terminal reaches this command, which stops the children in order.
        with open(logs / f"{self.name}.log", "wb") as log:
            self.popen = subprocess.Popen(  # noqa: S603  # our own argument list, no shell
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.ready_url, timeout=1) as response:  # noqa: S310  # our own loopback URL
                status: int = response.status
                return 200 <= status < 300
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL when it outlives STOP_TIMEOUT."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(STOP_TIMEOUT)


def plan(settings: Settings, args: argparse.Namespace, source: Path, workdir: Path) -> list[Component]:
    """The components to run, in start order, with their generated configs written to workdir."""
    api = f"http://127.0.0.1:{settings.port}"
    metrics_port = settings.metrics_port or settings.port
    components = [
        Component("ai-diy", [sys.executable, "-m", "service.cli", "serve"], f"{api}/health", api, env=_service_env())
    ]
    alertmanager = find_binary(ALERTMANAGER_NAMES)
    am_config = source / "alerts" / "alertmanager.yml"
    am_ports: list[int] = []
    if alertmanager and am_config.is_file():
        am_ports = [args.alertmanager_port, args.alertmanager_2_port]
        components.extend(alertmanager_pair(alertmanager, am_config, am_ports, workdir))
    else:
        print("alertmanager: not started (binary or alerts/alertmanager.yml missing)", file=sys.stderr)
    prometheus = find_binary(PROMETHEUS_NAMES)
    if prometheus:
        config = local_prometheus_config(
            source,
            service_target=f"127.0.0.1:{metrics_port}",
            prometheus_port=args.prometheus_port,
            alertmanager_ports=am_ports,
            interval=args.scrape_interval,
        )
        config_path = workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        prom_url = f"http://127.0.0.1:{args.prometheus_port}"
        components.append(
            Component(
                "prometheus",
                [
                    prometheus,
                    f"--config.file={config_path}",
                    f"--storage.tsdb.path={workdir / 'prometheus'}",
                    f"--web.listen-address=127.0.0.1:{args.prometheus_port}",
                    "--enable-feature=exemplar-storage",
                ],
                f"{prom_url}/-/ready",
                prom_url,
            )
        )
    else:
        print("prometheus: not started (binary not installed)", file=sys.stderr)
    return components


def alertmanager_pair(binary: str, config: Path, ports: Sequence[int], workdir: Path) -> list[Component]:
    """Alertmanagers on `ports`, clustered as in compose.

    Each gossips on a free loopback port, peered with the others.
    """
    gossip = [_unused_loopback_port() for _ in ports]
    members = []
    for index, (port, own) in enumerate(zip(ports, gossip, strict=True)):
        url = f"http://127.0.0.1:{port}"
        name = "alertmanager" if index == 0 else f"alertmanager-{index + 1}"
        members.append(
            Component(
                name,
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.path={workdir / name}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    f"--cluster.listen-address=127.0.0.1:{own}",
                    # Alertmanager refuses to guess an address to advertise on loopback.
                    f"--cluster.advertise-address=127.0.0.1:{own}",
                    *(f"--cluster.peer=127.0.0.1:{peer}" for peer in gossip if peer != own),
                ],
                f"{url}/-/ready",
                url,
            )
        )
    return members


def _unused_loopback_port() -> int:
    """A TCP port nothing listens on now: the gossip ports are internal, so any free one does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _service_env() -> dict[str, str]:
    env = dict(os.environ)
    # The service must listen where Prometheus scrapes it.
    env["AI_DIY_HOST"] = "127.0.0.1"
    return env


@contextmanager
def _stop_signals() -> Iterator[list[int]]:
    """Turn SIGTERM/SIGINT into a flag the wait loop reads, and restore the old handlers after."""
    received: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda signum, _frame: received.append(signum))
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _wait_ready(component: Component, received: list[int]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and not received:
        if not component.running():
            return False
        if component.ready():
            return True
        time.sleep(0.2)
    return False


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    source = find_source(args.source)
    if source is None:
        raise ConfigError(
            "--source: deploy/compose/prometheus.yml not found; run from a source checkout or pass --source"
        )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ai-diy-stack-"))
    workdir.mkdir(parents=True, exist_ok=True)
    components = plan(settings, args, source, workdir)
    exit_code = EXIT_OK
    with _stop_signals() as received:
        try:
            for component in components:
                component.start(workdir)
                if not _wait_ready(component, received):
                    if not received:
                        print(
                            f"{component.name}: not ready, see {workdir / (component.name + '.log')}", file=sys.stderr
                        )
                        exit_code = EXIT_FAILURE
                    return exit_code
            for component in components:
                print(f"{component.name:<13} {component.url}")
            print(f"logs and data: {workdir}  (Ctrl-C stops everything)", flush=True)
            while not received:
                stopped = [c.name for c in components if not c.running()]
                if stopped:
                    print(f"stack: {', '.join(stopped)} exited; stopping the rest", file=sys.stderr)
                    exit_code = EXIT_FAILURE
                    break
                time.sleep(0.2)
        finally:
            # Reverse order: Prometheus stops scraping before the service goes away.
            for component in reversed(components):
                component.stop()
    return exit_code
