"""An OTLP collector that refuses or hangs costs requests nothing and holds no memory.

Three services run side by side: tracing off, a collector port nobody listens on,
and a collector that accepts and never answers. They are driven in interleaved
slices so that whatever else the machine does weighs on all three alike; the
latency comparison is a ratio within this one run.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.processes import running_service

from .blackhole import BlackHole
from .loadgen import Result, load
from .mix import DOCUMENT, Mix
from .probes import rss

pytestmark = pytest.mark.integration

CONNECTIONS = 16
SLICE = 0.5
# Median latency with a broken collector against tracing off. Spans cost a little;
# a request waiting on the exporter would cost its 2 s timeout, hundreds of times more.
LATENCY_RATIO_BOUND = 2.0
# Between the middle and the end of the run against a broken collector: the span
# queue is bounded (2048 spans), so memory must plateau rather than grow with traffic.
RSS_GROWTH_BOUND = 24 * 1024 * 1024

BASE_ENV = {
    "AI_DIY_TRUSTED_PROXIES": "127.0.0.1",
    "AI_DIY_RATE_LIMIT": "100000/minute",
    "AI_DIY_RESOURCE_LOG_INTERVAL": "0",
    # Export often, so the exporter meets the broken collector many times per run.
    "OTEL_BSP_SCHEDULE_DELAY": "200",
}


@pytest.mark.parametrize(
    "rounds",
    [pytest.param(6, id="6-rounds"), pytest.param(60, id="60-rounds", marks=pytest.mark.heavy)],
)
def test_fault_otlp_unreachable_collector_costs_no_latency_and_no_memory(tmp_path: Path, rounds: int) -> None:
    with ExitStack() as stack:
        hole = stack.enter_context(BlackHole())
        variants = {
            "off": {"OTEL_SDK_DISABLED": "true"},
            "refused": {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"},
            "hung": {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{hole.port}"},
        }
        services = {}
        for name, env in variants.items():
            root = tmp_path / name
            (root / "data" / "appdocs").mkdir(parents=True)
            (root / "data" / "appdocs" / "doc.json").write_bytes(DOCUMENT)
            proc, base = stack.enter_context(running_service(root, env={**BASE_ENV, **env}))
            services[name] = (proc, int(base.rsplit(":", 1)[1]))
        for _, port in services.values():
            load(port, Mix(abusers=0, round_number=250), connections=CONNECTIONS, duration=1.0)
        results = {name: Result() for name in services}
        rss_mid: dict[str, int] = {}
        for round_number in range(rounds):
            for name, (_, port) in services.items():
                mix = Mix(abusers=0, round_number=round_number)
                results[name].merge(load(port, mix, connections=CONNECTIONS, duration=SLICE))
            if round_number == rounds // 2 - 1:
                rss_mid = {name: rss(proc.pid) for name, (proc, _) in services.items()}
        rss_end = {name: rss(proc.pid) for name, (proc, _) in services.items()}
        accepted = hole.accepted

    for name, result in results.items():
        assert result.errors == [], (name, result.errors[:5])
        assert result.server_errors == 0, (name, result.statuses)
        assert result.sent == result.answered > 0
    # The service really tried to export to the hung collector (and waited on it in vain).
    assert accepted >= 1
    baseline = results["off"].median_latency()
    report = {}
    for name in ("refused", "hung"):
        ratio = results[name].median_latency() / baseline
        growth = rss_end[name] - rss_mid[name]
        report[name] = {"latency_ratio": round(ratio, 2), "rss_growth_kib": growth // 1024}
        assert ratio < LATENCY_RATIO_BOUND, (name, ratio)
        assert growth < RSS_GROWTH_BOUND, (name, rss_mid[name], rss_end[name])
    print(f"\notlp faults: median off {baseline * 1000:.1f} ms; {report}; hung collector connections {accepted}")
