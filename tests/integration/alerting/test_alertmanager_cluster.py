"""Two clustered Alertmanagers behind one Prometheus: one page per alert group, and pages outlive a member.

Prometheus sends every alert to both members, as deploy/prometheus.yml and the
compose stack do; the members gossip their notification logs, so the one whose
turn comes second finds the group already notified and stays silent. The faults
are real (a data store that cannot be read, the service SIGKILLed) and the rules
are alerts/*.rules.yml with every `for:` shortened to 2 s.
"""

from __future__ import annotations

import signal
import time
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.support.alerting_stack import (
    RunningAlertmanager,
    WebhookSink,
    alertmanager_pair,
    break_data_dir,
    cluster_peers,
    prometheus,
    render_alertmanager_config,
    repair_data_dir,
    webhook_sink,
)
from tests.support.net import free_port, wait_for
from tests.support.processes import running_service

pytestmark = pytest.mark.integration

PEER_TIMEOUT = 3.0  # seconds the second member waits for the first to notify
NOTIFY_TIMEOUT = 90.0


def _paged_by(sink: WebhookSink, alertname: str, *, status: str = "firing") -> list[str]:
    return wait_for(
        lambda: sink.senders("/page", alertname, status=status),
        timeout=NOTIFY_TIMEOUT,
        interval=0.2,
        what=f"{status} {alertname} page",
    )


def _holds(member: RunningAlertmanager, alertname: str) -> bool:
    alerts = httpx.get(f"{member.url}/api/v2/alerts", params={"filter": f'alertname="{alertname}"'}, timeout=5).json()
    return any(alert["status"]["state"] == "active" for alert in alerts)


def _pages_stay(sink: WebhookSink, alertname: str, count: int, seconds: float) -> list[str]:
    """Poll for `seconds`: the pages of `alertname` must stay at `count` (a duplicate would show here)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        senders = sink.senders("/page", alertname)
        assert len(senders) == count, f"{alertname} paged {len(senders)} times, by {senders}"
        time.sleep(0.2)
    return sink.senders("/page", alertname)


def test_alertmanager_pair_pages_once_per_group_and_survives_losing_a_member(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "data"
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()

    with (
        webhook_sink() as sink,
        alertmanager_pair(tmp_path, render_alertmanager_config(sink), peer_timeout=f"{PEER_TIMEOUT:g}s") as pair,
    ):
        for member in pair:

            def in_a_cluster_of_two(url: str = member.url) -> bool:
                return cluster_peers(url) == 2

            wait_for(in_a_cluster_of_two, timeout=30, what=f"{member.url} in a cluster of two")
        with prometheus(tmp_path, service_port=port, alertmanager_url=[m.url for m in pair], for_duration="2s"):
            with running_service(tmp_path / "first", AI_DIY_PORT=str(port), AI_DIY_DATA_DIR=str(data_dir)) as (
                service,
                _,
            ):
                break_data_dir(data_dir)
                # The store cannot be read: AiDiyHealthCheckFailing reaches both members, and one page goes out.
                _paged_by(sink, "AiDiyHealthCheckFailing")
                for member in pair:
                    wait_for(
                        partial(_holds, member, "AiDiyHealthCheckFailing"), timeout=30, what=f"alert at {member.url}"
                    )
                # The other member's turn comes PEER_TIMEOUT later: well past it, still one page.
                [sender] = _pages_stay(sink, "AiDiyHealthCheckFailing", 1, seconds=3 * PEER_TIMEOUT)

                # Lose the member that paged, then a new fault: the survivor pages it.
                [lost] = [m for m in pair if m.url == sender]
                [survivor] = [m for m in pair if m is not lost]
                lost.process.signal(signal.SIGKILL)
                lost.process.popen.wait(10)
                service.signal(signal.SIGKILL)
                assert _paged_by(sink, "AiDiyServiceDown") == [survivor.url]
                # The killed service took its health series with it: that group's resolution still arrives.
                assert _paged_by(sink, "AiDiyHealthCheckFailing", status="resolved") == [survivor.url]

            # Back on the same port with a readable store: the outage page resolves, through the survivor.
            repair_data_dir(data_dir)
            with running_service(tmp_path / "second", AI_DIY_PORT=str(port), AI_DIY_DATA_DIR=str(data_dir)):
                assert _paged_by(sink, "AiDiyServiceDown", status="resolved") == [survivor.url]
    assert sink.senders("/page", "AiDiyServiceDown") == [survivor.url]
    assert sink.senders("/page", "AiDiyHealthCheckFailing") == [sender]
