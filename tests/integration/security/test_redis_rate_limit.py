"""Two service instances sharing a real Redis: one global limit, fail-open through an outage, recovery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.security.conftest import serve_stack
from tests.support import binaries
from tests.support.net import free_port, port_open, wait_for
from tests.support.processes import Process

pytestmark = pytest.mark.integration

LIMIT = 20


def _start_redis(tmp_path: Path, port: int, run: int) -> Process:
    binary = binaries.require("redis-server")
    proc = Process(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        log=tmp_path / f"redis-{run}.out",
        cwd=tmp_path,
    )
    wait_for(lambda: port_open(port), timeout=10, what="redis port")
    return proc


def _metric(client: httpx.Client, name: str) -> float:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    raise AssertionError(f"{name} not exposed")


def _status(client: httpx.Client) -> str:
    answer: str = client.get("/api/security/status").json()["security_status"]
    return answer


@pytest.fixture
def redis_port() -> int:
    return free_port()


@pytest.fixture
def clients(tmp_path: Path, docs_root: Path, redis_port: int) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    env = {
        "SEC_DOCS_ROOT": str(docs_root),
        "SEC_STORAGE": f"redis://127.0.0.1:{redis_port}/0",
        "SEC_LIMIT": f"{LIMIT}/minute",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        serve_stack(tmp_path / "a", "a", **env) as base_a,
        serve_stack(tmp_path / "b", "b", **env) as base_b,
        httpx.Client(base_url=base_a, timeout=10) as a,
        httpx.Client(base_url=base_b, timeout=10) as b,
    ):
        yield a, b


def test_redis_rate_limit_global_fail_open_and_recovery(
    tmp_path: Path, redis_port: int, clients: tuple[httpx.Client, httpx.Client]
) -> None:
    a, b = clients
    redis = _start_redis(tmp_path, redis_port, run=1)
    try:
        # One budget for the client across both instances.
        codes = [(a if i % 2 else b).get("/api/env").status_code for i in range(LIMIT + 4)]
        assert codes == [200] * LIMIT + [429] * 4
        assert _metric(a, "ai_diy_rate_limit_violations_total") + _metric(b, "ai_diy_rate_limit_violations_total") == 4
        assert _metric(a, "ai_diy_security_active") == 1
    finally:
        redis.stop()

    # Redis gone: both instances keep answering (fail-open) and say so.
    outage = [(a if i % 2 else b).get("/api/env").status_code for i in range(10)]
    assert outage == [200] * 10
    for client in (a, b):
        assert _status(client) == "degraded"
        assert _metric(client, "ai_diy_rate_limiter_errors_total") >= 1
        assert _metric(client, "ai_diy_security_active") == 0

    redis = _start_redis(tmp_path, redis_port, run=2)
    try:
        for client in (a, b):

            def active(c: httpx.Client = client) -> bool:
                return _status(c) == "active"

            wait_for(active, timeout=15, what="security status active again")
            assert _metric(client, "ai_diy_security_active") == 1
        # The new Redis starts empty; status calls made once it answered may have used
        # a little of the budget, so: at most LIMIT successes, then only refusals.
        codes = [(a if i % 2 else b).get("/api/env").status_code for i in range(LIMIT + 2)]
        allowed = codes.count(200)
        assert LIMIT - 4 <= allowed <= LIMIT
        assert codes == [200] * allowed + [429] * (LIMIT + 2 - allowed)
    finally:
        redis.stop()
