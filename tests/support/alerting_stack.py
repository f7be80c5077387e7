"""Real Prometheus, Alertmanager and a webhook receiver on loopback.

The alerting, dashboard, runbook and exemplar tests share them.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support import binaries
from tests.support.net import free_port, wait_for
from tests.support.processes import ROOT, Process

ALERTS = ROOT / "alerts"
DEFAULT_PAGER_URL = "http://127.0.0.1:5001/page"
DEFAULT_TICKET_URL = "http://127.0.0.1:5001/ticket"


@dataclass
class Notification:
    """One webhook delivery from Alertmanager."""

    receiver_path: str
    body: dict[str, Any]

    def alerts(self, status: str | None = None) -> list[dict[str, Any]]:
        return [alert for alert in self.body["alerts"] if status is None or alert["status"] == status]


@dataclass
class WebhookSink:
    """Collects what Alertmanager posts, like a pager or chat integration would."""

    port: int
    notifications: list[Notification] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def received(
        self, path: str, alertname: str, *, status: str = "firing", severity: str | None = None
    ) -> list[dict[str, Any]]:
        with self.lock:
            notes = list(self.notifications)
        return [
            alert
            for note in notes
            if note.receiver_path == path
            for alert in note.alerts(status)
            if alert["labels"].get("alertname") == alertname
            and (severity is None or alert["labels"].get("severity") == severity)
        ]

    def senders(self, path: str, alertname: str, *, status: str = "firing") -> list[str]:
        """The `externalURL` of every notification that carried `alertname` in `status`: who sent each."""
        with self.lock:
            notes = list(self.notifications)
        return [
            note.body["externalURL"]
            for note in notes
            if note.receiver_path == path
            and any(a["labels"].get("alertname") == alertname for a in note.alerts(status))
        ]


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    """An http.server thread on 127.0.0.1 recording every POST."""
    sink = WebhookSink(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with sink.lock:
                sink.notifications.append(Notification(self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def render_alertmanager_config(sink: WebhookSink, *, fast: bool = True) -> str:
    """alerts/alertmanager.yml with the receiver URLs substituted, as the file's header documents.

    fast: group timers in seconds instead of minutes so a test sees notifications
    promptly; routing, grouping and inhibition are untouched.
    """
    text = (ALERTS / "alertmanager.yml").read_text(encoding="utf-8")
    assert DEFAULT_PAGER_URL in text and DEFAULT_TICKET_URL in text
    text = text.replace(DEFAULT_PAGER_URL, f"{sink.base_url}/page").replace(
        DEFAULT_TICKET_URL, f"{sink.base_url}/ticket"
    )
    if fast:
        config = yaml.safe_load(text)
        config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
        text = yaml.safe_dump(config, sort_keys=False)
    return text


@dataclass
class RunningAlertmanager:
    """One prometheus-alertmanager process started by a test.

    Its external URL is `url`, so the `externalURL` of a webhook notification names
    the member that sent it.
    """

    url: str
    process: Process


def _start_alertmanager(workdir: Path, config_text: str, extra_args: list[str]) -> RunningAlertmanager:
    binary = binaries.require("alertmanager")
    port = free_port()
    workdir.mkdir()
    config = workdir / "alertmanager.yml"
    config.write_text(config_text, encoding="utf-8")
    url = f"http://127.0.0.1:{port}"
    proc = Process(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url={url}",
            *extra_args,
        ],
        log=workdir / "alertmanager.out",
    )
    try:
        wait_for(lambda: _ready(url, proc), timeout=30, what="alertmanager ready")
    except BaseException:
        proc.stop()
        raise
    return RunningAlertmanager(url, proc)


@contextmanager
def alertmanager(tmp_path: Path, config_text: str) -> Iterator[str]:
    """prometheus-alertmanager on a free loopback port, clustering off; yields its base URL."""
    running = _start_alertmanager(tmp_path / "alertmanager", config_text, ["--cluster.listen-address="])
    try:
        yield running.url
    finally:
        running.process.stop()


@contextmanager
def alertmanager_pair(
    tmp_path: Path, config_text: str, *, peer_timeout: str = "15s"
) -> Iterator[list[RunningAlertmanager]]:
    """Two prometheus-alertmanager processes gossiping on loopback, as the deployed HA pair.

    Each advertises its own loopback gossip address (Alertmanager will not guess one
    on 127.0.0.1) and names the other as its peer. A gossip interval shorter than the
    200 ms default makes the cluster settle in about a second instead of several;
    `peer_timeout` is how long the second member waits for the first to notify, so
    deduplication holds only when the notification log crosses the gossip within it.
    """
    gossip = [free_port(), free_port()]
    members: list[RunningAlertmanager] = []
    try:
        for index, own in enumerate(gossip):
            other = gossip[1 - index]
            members.append(
                _start_alertmanager(
                    tmp_path / f"alertmanager-{index + 1}",
                    config_text,
                    [
                        f"--cluster.listen-address=127.0.0.1:{own}",
                        f"--cluster.advertise-address=127.0.0.1:{own}",
                        f"--cluster.peer=127.0.0.1:{other}",
                        "--cluster.gossip-interval=50ms",
                        "--cluster.pushpull-interval=2s",
                        "--cluster.probe-interval=200ms",
                        "--cluster.probe-timeout=100ms",
                        f"--cluster.peer-timeout={peer_timeout}",
                    ],
                )
            )
        yield members
    finally:
        for member in members:
            member.process.stop()


def cluster_peers(url: str) -> int:
    """How many members this Alertmanager sees in its ready cluster (0 while it settles)."""
    cluster = httpx.get(f"{url}/api/v2/status", timeout=5).json()["cluster"]
    return len(cluster.get("peers") or []) if cluster["status"] == "ready" else 0


def prometheus_config(
    *, service_port: int, alertmanager_url: str | Sequence[str] = (), prometheus_port: int, interval: str = "1s"
) -> str:
    """deploy/prometheus.yml with loopback ports of this test and a short scrape/evaluation interval.

    alertmanager_url: one URL, or every member of an Alertmanager cluster (Prometheus
    sends to each); none drops the alerting section.
    """
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"].update(scrape_interval=interval, evaluation_interval=interval, scrape_timeout=interval)
    urls = [alertmanager_url] if isinstance(alertmanager_url, str) else list(alertmanager_url)
    if urls:
        config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [
            url.removeprefix("http://") for url in urls
        ]
    else:
        del config["alerting"]
    for job in config["scrape_configs"]:
        target = f"127.0.0.1:{service_port}" if job["job_name"] == "ai-diy" else f"127.0.0.1:{prometheus_port}"
        job["static_configs"][0]["targets"] = [target]
    return yaml.safe_dump(config, sort_keys=False)


def copy_rules(destination: Path, *, for_duration: str | None = None) -> None:
    """alerts/*.rules.yml into destination; optionally every `for:` replaced (windows and thresholds untouched)."""
    destination.mkdir(parents=True)
    for path in sorted(ALERTS.glob("*.rules.yml")):
        text = path.read_text(encoding="utf-8")
        if for_duration is not None:
            text = re.sub(r"^(\s+for:\s*)\S+", rf"\g<1>{for_duration}", text, flags=re.MULTILINE)
        (destination / path.name).write_text(text, encoding="utf-8")


@contextmanager
def prometheus(
    tmp_path: Path,
    *,
    service_port: int,
    alertmanager_url: str | Sequence[str] = (),
    for_duration: str | None = None,
    drill_rules: Path | None = None,
    interval: str = "1s",
) -> Iterator[str]:
    """Prometheus laid out as deployed (deploy/ and alerts/ side by side); yields its base URL.

    drill_rules: load that time-compressed rules file (alerts/drill/) instead of the production rules.
    """
    binary = binaries.require("prometheus")
    port = free_port()
    root = tmp_path / "prometheus"
    (root / "deploy").mkdir(parents=True)
    if drill_rules is None:
        copy_rules(root / "alerts", for_duration=for_duration)
    else:
        (root / "alerts").mkdir()
        (root / "alerts" / "drill.rules.yml").write_text(drill_rules.read_text(encoding="utf-8"), encoding="utf-8")
    config = root / "deploy" / "prometheus.yml"
    config.write_text(
        prometheus_config(
            service_port=service_port, alertmanager_url=alertmanager_url, prometheus_port=port, interval=interval
        ),
        encoding="utf-8",
    )
    proc = Process(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--enable-feature=exemplar-storage",
        ],
        log=root / "prometheus.out",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url, proc), timeout=30, what="prometheus ready")
        yield url
    finally:
        proc.stop()


def break_data_dir(data_dir: Path) -> None:
    """The data-store fault: a regular file where the running service's data directory was.

    Made after the start: the start-up check refuses a data directory that is a file.
    """
    shutil.rmtree(data_dir)
    data_dir.write_text("a regular file where the data directory should be\n")


def repair_data_dir(data_dir: Path) -> None:
    """Remove the fault: the data directory is a directory again."""
    data_dir.unlink()
    (data_dir / "appdocs").mkdir(parents=True)


def _ready(url: str, proc: Process) -> bool:
    if proc.popen.poll() is not None:
        raise RuntimeError(f"{proc.argv[0]} exited with {proc.popen.returncode}:\n{proc.output()}")
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False
