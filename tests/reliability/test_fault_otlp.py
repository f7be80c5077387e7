"""An OTLP collector that refuses or hangs costs requests nothing and holds no memory."""
from __future__ import annotations

import pytest

from tests.support.net import free_port
from tests.support.processes import running_service

from .blackhole import BlackHole
from .loadgen import Result, load
from .mix import DOCUMENT, Mix
from .probes import rss

pytestmark = pytest.mark.integration

CONNECTIONS = 16
# Median latency with a broken collector against tracing off, same machine, same run.
# Spans cost something; a request waiting on the exporter would cost 100x.
LATENCY_RATIO_BOUND = 2.0
# Between two identical load phases against a hung collector: the span queue is
# bounded (2048 spans), so memory must plateau rather than grow with the traffic.
RSS_PHASE_GROWTH_BOUND = 24 * 1024 * 1024

BASE_ENV = {
    "AI_DIY_TRUSTED_PROXIES": "127.0.0.1",
    "AI_DIY_RATE_LIMIT": "100000/minute",
    "AI_DIY_RESOURCE_LOG_INTERVAL": "0",
    "OTEL_BSP_SCHEDULE_DELAY": "200",
}


def _measure(tmp_path, phase: float, **env: str) -> tuple[Result, Result, int, int, int]:
    """Warm-up, then two equal load phases: (phase 1, phase 2, rss warm, rss after 1, rss after 2)."""
    appdocs = tmp_path / "data" / "appdocs"
    appdocs.mkdir(parents=True, exist_ok=True)
    (appdocs / "doc.json").write_bytes(DOCUMENT)
    with running_service(tmp_path, **BASE_ENV, **env) as (proc, base):
        port = int(base.rsplit(":", 1)[1])
        load(port, Mix(abusers=0, round_number=0), connections=CONNECTIONS, duration=1.0)
        rss_warm = rss(proc.pid)
        first = load(port, Mix(abusers=0, round_number=1), connections=CONNECTIONS, duration=phase)
        rss_first = rss(proc.pid)
        second = load(port, Mix(abusers=0, round_number=2), connections=CONNECTIONS, duration=phase)
        rss_second = rss(proc.pid)
    for result in (first, second):
        assert result.errors == [], result.errors[:5]
        assert result.server_errors == 0, result.statuses
        assert result.sent == result.answered > 0
    return first, second, rss_warm, rss_first, rss_second


@pytest.mark.parametrize(
    "phase",
    [pytest.param(2.0, id="2s"), pytest.param(20.0, id="20s", marks=pytest.mark.heavy)],
)
def test_fault_otlp_unreachable_collector_costs_no_latency_and_no_memory(tmp_path, phase) -> None:
    off = _measure(tmp_path / "off", phase, OTEL_SDK_DISABLED="true")
    refused = _measure(tmp_path / "refused", phase, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}")
    with BlackHole() as hole:
        hung = _measure(tmp_path / "hung", phase, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{hole.port}")
        accepted = hole.accepted
    # The service really tried to export to the hung collector (and waited on it in vain).
    assert accepted >= 1

    baseline = off[1].median_latency()
    report = {}
    for name, (first, second, rss_warm, rss_first, rss_second) in {"refused": refused, "hung": hung}.items():
        ratio = second.median_latency() / baseline
        report[name] = (round(ratio, 2), (rss_second - rss_first) // 1024)
        assert ratio < LATENCY_RATIO_BOUND, (name, ratio)
        assert rss_second - rss_first < RSS_PHASE_GROWTH_BOUND, (name, rss_first, rss_second)
    print(f"\notlp faults: median off {baseline * 1000:.1f} ms; (latency ratio, RSS growth KiB) {report}")
