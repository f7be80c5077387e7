"""64 concurrent connections over a realistic mix: every request answered, counted, bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.net import wait_for
from tests.support.processes import running_service

from .loadgen import Result, label_of, load
from .mix import ABUSED_PATH, DOCUMENT, Mix
from .probes import get, requests_counted, rss, samples

pytestmark = pytest.mark.integration

CONNECTIONS = 64
LIMIT = 10
# RSS may grow this much between the end of warm-up and the end of the last round:
# allocator arenas, the rate limiter's per-client windows, the log queue at its peak.
RSS_GROWTH_BOUND = 48 * 1024 * 1024

SERVICE_ENV = {
    "AI_DIY_TRUSTED_PROXIES": "127.0.0.1",
    "AI_DIY_RATE_LIMIT": f"{LIMIT}/minute",
    "AI_DIY_RESOURCE_LOG_INTERVAL": "0",
}


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _counted(base: str) -> int:
    return requests_counted(samples(base))


def _assert_all_answered(result: Result) -> None:
    assert result.errors == [], result.errors[:5]
    assert result.sent == result.answered
    assert result.server_errors == 0, result.statuses
    assert result.sent > CONNECTIONS


ABUSED = label_of(ABUSED_PATH)


def _assert_mix_outcome(result: Result, abusers: int) -> None:
    by = result.by_label
    assert by[("/health", 200)] > 0 and by[("/api/env", 200)] > 0
    assert by[("/api/appdocs", 200)] > 0
    assert by[("/no/such", 404)] > 0 and by[("/api/appdocs", 404)] > 0
    # Ordinary clients never reach the limit; each abuser (new in every round) gets
    # exactly LIMIT answers: the window is a minute, longer than a round.
    # Abusers are independent keys, so the sum equals abusers * LIMIT only when each
    # one sent at least LIMIT requests.
    ordinary_refused = sum(n for (label, status), n in by.items() if status == 429 and label != ABUSED)
    assert ordinary_refused == 0, by
    assert by[(ABUSED, 200)] == abusers * LIMIT, by
    assert by[(ABUSED, 429)] > 0


def _series(base: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    return set(samples(base))


@pytest.mark.parametrize(
    "duration",
    [pytest.param(3.0, id="3s"), pytest.param(30.0, id="30s", marks=pytest.mark.heavy)],
)
def test_load_64_connections_answered_counted_and_bounded(tmp_path: Path, duration: float) -> None:
    appdocs = tmp_path / "data" / "appdocs"
    appdocs.mkdir(parents=True)
    (appdocs / "doc.json").write_bytes(DOCUMENT)
    abusers = 4
    with running_service(tmp_path, env=SERVICE_ENV) as (proc, base):
        port = _port(base)
        # Warm-up: every route and status once, so later rounds only repeat series.
        warm = load(port, Mix(abusers=0, round_number=200, uses_per_ip=LIMIT // 2), connections=8, duration=1.0)
        _assert_all_answered(warm)
        assert get(f"{base}/api/config/models", {"X-Forwarded-For": "198.51.100.1"})[0] == 200
        rss_warm = rss(proc.pid)
        # The service has answered exactly these requests so far (readiness only opens
        # the port). Reading the counter once would race the last ones' observation.
        before = warm.sent + 1
        wait_for(lambda: _counted(base) >= before, timeout=5, what="warm-up counted")
        assert _counted(base) == before

        first = load(
            port,
            Mix(abusers=abusers, round_number=1, uses_per_ip=LIMIT // 2),
            connections=CONNECTIONS,
            duration=duration,
        )
        _assert_all_answered(first)
        _assert_mix_outcome(first, abusers)
        # Every request the client sent is in the histogram (the last ones are observed
        # just after their final byte, hence the short wait), and none more.
        expected = before + first.sent
        wait_for(lambda: _counted(base) >= expected, timeout=5, what="requests counted")
        assert _counted(base) == expected
        series_first = _series(base)

        second = load(
            port,
            Mix(abusers=abusers, round_number=2, uses_per_ip=LIMIT // 2),
            connections=CONNECTIONS,
            duration=duration,
        )
        _assert_all_answered(second)
        _assert_mix_outcome(second, abusers)
        expected += second.sent
        wait_for(lambda: _counted(base) >= expected, timeout=5, what="requests counted")
        assert _counted(base) == expected
        series_second = _series(base)
        rss_end = rss(proc.pid)

    assert series_second - series_first == set(), sorted(series_second - series_first)[:10]
    assert rss_end - rss_warm < RSS_GROWTH_BOUND, (rss_warm, rss_end)
    print(
        f"\nload {duration}s x2: sent {first.sent}+{second.sent}, statuses {dict(first.statuses + second.statuses)}, "
        f"median {first.median_latency() * 1000:.1f} ms, series {len(series_second)}, "
        f"rss warm {rss_warm / 2**20:.1f} MiB end {rss_end / 2**20:.1f} MiB"
    )
