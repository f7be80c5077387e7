"""Degraded is not down: what /health, /health/ready and /health/live answer under real faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.net import wait_for
from tests.support.processes import running_service
from tests.support.redis_server import RedisServer

from .probes import get, get_json, metric_sum, samples

pytestmark = pytest.mark.integration


def _probes(base: str) -> dict[str, tuple[int, dict[str, Any]]]:
    return {path: get_json(f"{base}{path}") for path in ("/health", "/health/ready", "/health/live")}


def _gauge(base: str, check: str) -> float:
    return metric_sum(samples(base), "ai_diy_health_status", check=check)


@pytest.mark.parametrize("fail_closed", [False, True], ids=["fail-open", "fail-closed"])
def test_health_redis_lost_is_degraded_under_fail_open_and_not_ready_under_fail_closed(
    tmp_path: Path, fail_closed: bool
) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with running_service(
            tmp_path,
            AI_DIY_RATE_LIMIT_STORAGE=redis.url,
            AI_DIY_RATE_LIMIT_FAIL_CLOSED=str(fail_closed).lower(),
            AI_DIY_RESOURCE_LOG_INTERVAL="0",
        ) as (_proc, base):
            assert {path: answer[0] for path, answer in _probes(base).items()} == dict.fromkeys(_probes(base), 200)
            redis.kill()
            wait_for(
                lambda: (
                    get(f"{base}/api/env")[0] in ((503,) if fail_closed else (200,))
                    and get_json(f"{base}/health")[1]["checks"]["security"]["status"] != "ok"
                ),
                timeout=15,
                what="storage loss seen",
            )
            answers = _probes(base)
            gauge = _gauge(base, "security")
            api = get(f"{base}/api/env")[0]
    finally:
        redis.stop()
    health, ready, live = answers["/health"], answers["/health/ready"], answers["/health/live"]
    if fail_closed:  # /api/* is refused: requests would be answered wrongly
        assert api == 503
        assert health[0] == 503 and health[1]["status"] == "unhealthy" and health[1]["failing"] == ["security"]
        assert ready == (503, {"status": "not_ready", "degraded": [], "failing": ["security"]})
    else:  # /api/* is answered, without a shared limit
        assert api == 200
        assert health[0] == 200 and health[1]["status"] == "degraded" and health[1]["degraded"] == ["security"]
        assert ready == (200, {"status": "ready", "degraded": ["security"], "failing": []})
    assert live[0] == 200 and live[1]["status"] == "alive"
    assert gauge == 0


def test_health_read_only_log_directory_is_degraded_and_unreadable_data_is_not_ready(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_service(tmp_path, AI_DIY_RESOURCE_LOG_INTERVAL="0") as (_proc, base):
        # The log directory becomes a file (root ignores permission bits, so chmod would not stop writes).
        (tmp_path / "logs").rename(tmp_path / "logs.away")
        (tmp_path / "logs").write_text("not a directory")
        get(f"{base}/api/env")
        wait_for(
            lambda: get_json(f"{base}/health")[1]["checks"]["log_sink"]["status"] == "degraded",
            timeout=10,
            what="log sink degraded",
        )
        degraded = _probes(base)
        assert get(f"{base}/api/appdocs")[0] == 200  # requests are still answered right
        # Then the data directory goes the same way: documents can no longer be read.
        data.rename(tmp_path / "data.away")
        data.write_text("not a directory")
        down = _probes(base)
        assert get(f"{base}/api/appdocs")[0] == 503
    assert degraded["/health"][0] == 200 and degraded["/health"][1]["degraded"] == ["log_sink"]
    assert degraded["/health/ready"][0] == 200 and degraded["/health/live"][0] == 200
    assert down["/health"][0] == 503 and down["/health"][1]["failing"] == ["data_store"]
    assert down["/health"][1]["degraded"] == ["log_sink"]
    assert down["/health/ready"] == (503, {"status": "not_ready", "degraded": ["log_sink"], "failing": ["data_store"]})
    assert down["/health/live"][0] == 200
