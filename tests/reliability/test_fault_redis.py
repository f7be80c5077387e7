"""Redis, the shared rate-limit storage, killed and restarted under load."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.net import wait_for
from tests.support.processes import running_service
from tests.support.redis_server import RedisServer

from .loadgen import load_until_stopped
from .mix import Mix
from .probes import get, get_json, metric_sum, samples

pytestmark = pytest.mark.integration

LIMIT = 20


def _status(base: str) -> str:
    answer: str = get_json(f"{base}/api/security/status", {"X-Forwarded-For": "192.0.2.200"})[1]["security_status"]
    return answer


def _burst(base: str, ip: str, count: int) -> list[int]:
    return [get(f"{base}/api/env", {"X-Forwarded-For": ip})[0] for _ in range(count)]


def test_fault_redis_killed_and_restarted_under_load(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with running_service(
            tmp_path,
            AI_DIY_RATE_LIMIT_STORAGE=redis.url,
            AI_DIY_RATE_LIMIT=f"{LIMIT}/minute",
            AI_DIY_TRUSTED_PROXIES="127.0.0.1",
            AI_DIY_RESOURCE_LOG_INTERVAL="0",
        ) as (_proc, base):
            port = int(base.rsplit(":", 1)[1])
            assert _status(base) == "active"
            # The limit works through Redis before the fault.
            assert _burst(base, "192.0.2.1", LIMIT + 1) == [200] * LIMIT + [429]

            # Short rounds until the block ends, so the load spans the whole outage.
            with load_until_stopped(
                port,
                lambda round_number: Mix(abusers=0, round_number=round_number, uses_per_ip=LIMIT // 2),
                rounds=100,
                connections=16,
                duration=0.5,
            ) as results:
                redis.kill()
                wait_for(lambda: _status(base) == "degraded", timeout=10, what="security status degraded")
                health = get_json(f"{base}/health")[1]
                errors_during = metric_sum(samples(base), "ai_diy_rate_limiter_errors_total")
                # Fail-open: requests keep being answered while the storage is gone.
                assert _burst(base, "192.0.2.2", 3) == [200, 200, 200]
                redis.start()
                wait_for(lambda: _status(base) == "active", timeout=15, what="security status active again")
            # The limit is enforced again, through the restarted (empty) Redis.
            assert _burst(base, "192.0.2.3", LIMIT + 1) == [200] * LIMIT + [429]
            active = metric_sum(samples(base), "ai_diy_security_active")
    finally:
        redis.stop()
    print(
        f"\nredis outage: {results.sent} requests, by route and status {dict(results.by_label)}, "
        f"limiter errors {errors_during}"
    )
    assert results.errors == [], results.errors[:5]
    # Fail-open means every endpoint keeps answering, /health included: a shared Redis
    # outage must not take every replica out of a load balancer at once.
    assert results.server_errors == 0, {k: n for k, n in results.by_label.items() if k[1] >= 500}
    assert results.sent == results.answered > 0
    assert errors_during >= 1
    assert health["checks"]["security"]["rate_limit_storage_healthy"] is False
    assert active == 1
