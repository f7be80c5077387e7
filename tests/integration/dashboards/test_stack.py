"""`ai-diy stack` starts the service, Prometheus and an Alertmanager pair, and stops them all on SIGTERM."""

from __future__ import annotations

import json
import signal
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.alerting_stack import cluster_peers
from tests.support.binaries import require
from tests.support.net import free_port, port_open, wait_for
from tests.support.processes import ROOT, Process, service_env

pytestmark = pytest.mark.integration


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status, response.read()


def _ai_diy_target_up(prometheus: str) -> bool:
    _, body = _get(f"{prometheus}/api/v1/targets?state=active")
    targets = json.loads(body)["data"]["activeTargets"]
    service = [t for t in targets if t["labels"]["job"] == "ai-diy"]
    if service and service[0]["lastError"]:
        raise RuntimeError(f"scrape of the service: {service[0]['lastError']}")  # kept by wait_for for its message
    return bool(service) and service[0]["health"] == "up"


def test_stack_starts_service_prometheus_and_alertmanager_pair_and_stops_them_on_sigterm(tmp_path: Path) -> None:
    require("prometheus")
    require("alertmanager")
    api, prom, am, am2 = free_port(), free_port(), free_port(), free_port()
    env = service_env(tmp_path, AI_DIY_PORT=str(api))
    stack = Process(
        [
            sys.executable,
            "-m",
            "service.cli",
            "stack",
            "--prometheus-port",
            str(prom),
            "--alertmanager-port",
            str(am),
            "--alertmanager-2-port",
            str(am2),
            "--scrape-interval",
            "1s",
            "--workdir",
            str(tmp_path / "stack"),
            "--source",
            str(ROOT),
        ],
        log=tmp_path / "stack.out",
        env=env,
        cwd=tmp_path,
    )
    try:
        wait_for(lambda: "Ctrl-C" in stack.output() or stack.popen.poll() is not None, timeout=60, what="stack ready")
        assert stack.popen.poll() is None, stack.output()
        output = stack.output()
        for port in (api, prom, am, am2):
            assert f"http://127.0.0.1:{port}" in output
        assert _get(f"http://127.0.0.1:{api}/health")[0] == 200
        assert _get(f"http://127.0.0.1:{prom}/-/ready")[0] == 200
        for port in (am, am2):
            assert _get(f"http://127.0.0.1:{port}/-/ready")[0] == 200

            def clustered(url: str = f"http://127.0.0.1:{port}") -> bool:
                return cluster_peers(url) == 2

            wait_for(clustered, timeout=30, what="Alertmanager pair clustered")
        wait_for(
            lambda: _ai_diy_target_up(f"http://127.0.0.1:{prom}"), timeout=20, what="Prometheus scraping the service"
        )
        stack.signal(signal.SIGTERM)
        assert stack.popen.wait(30) == 0, stack.output()
        for port in (api, prom, am, am2):
            assert not port_open(port), f"port {port} still answers after the stack stopped"
    finally:
        stack.stop()
