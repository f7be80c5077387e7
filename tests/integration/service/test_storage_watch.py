"""The rate-limit storage watched in the background: an outage and its end show on an idle instance."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.net import free_port, wait_for
from tests.support.processes import running_service
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.integration

# Probes run every second, each bounded by 0.5 s: a change shows within a few seconds.
# The wait is generous for a loaded machine; no /api request is made at any point.
SHOWS_WITHIN = 15.0


def _health(base: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
            body: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read())
    return body


def _security_active(base: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ai_diy_security_active":
                return sample.value
    raise AssertionError("ai_diy_security_active is not exported")


def _state(base: str) -> tuple[str, str, float]:
    health = _health(base)
    return health["status"], health["checks"]["security"]["status"], _security_active(base)


def test_storage_watch_outage_and_recovery_show_without_api_traffic(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with running_service(tmp_path, AI_DIY_RATE_LIMIT_STORAGE=redis.url, AI_DIY_RESOURCE_LOG_INTERVAL="0") as (
            _proc,
            base,
        ):
            assert _state(base) == ("healthy", "ok", 1.0)

            redis.kill()  # by its PID; the service gets no /api request
            wait_for(
                lambda: _state(base) == ("degraded", "degraded", 0.0),
                timeout=SHOWS_WITHIN,
                what="/health degraded and ai_diy_security_active 0",
            )

            redis.start()  # the same port
            wait_for(
                lambda: _state(base) == ("healthy", "ok", 1.0),
                timeout=SHOWS_WITHIN,
                what="/health healthy and ai_diy_security_active 1",
            )
    finally:
        redis.stop()


def test_storage_watch_unreachable_sentinels_show_degraded_on_an_idle_instance(tmp_path: Path) -> None:
    closed = [free_port(), free_port()]
    uri = f"redis+sentinel://127.0.0.1:{closed[0]},127.0.0.1:{closed[1]}/main"
    with running_service(tmp_path, AI_DIY_RATE_LIMIT_STORAGE=uri, AI_DIY_RESOURCE_LOG_INTERVAL="0") as (_proc, base):
        wait_for(
            lambda: _state(base) == ("degraded", "degraded", 0.0),
            timeout=SHOWS_WITHIN,
            what="/health degraded and ai_diy_security_active 0",
        )
