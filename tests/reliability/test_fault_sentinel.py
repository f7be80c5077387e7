"""The rate-limit Redis master killed under Sentinel: the replica is promoted and the limit holds.

Real processes on loopback: a master, its replica and three sentinels (quorum two,
the master declared down after one second), and `ai-diy serve` with
`AI_DIY_RATE_LIMIT_STORAGE=redis+sentinel://…`. The gap between the kill and the
first request the new master counts is measured and printed (docs/reliability.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.support.net import wait_for
from tests.support.processes import running_service
from tests.support.redis_server import RedisSentinel, RedisServer, redis_cli, sentinel_uri

pytestmark = pytest.mark.integration

LIMIT = 20
GAP_TIMEOUT = 30.0  # sentinel needs ~1 s to call the master down, then an election and a promotion
STATUS_IP = "192.0.2.200"  # asks for the status: its own budget, untouched by the clients below


@dataclass
class Sentinels:
    master: RedisServer
    replica: RedisServer
    sentinels: list[RedisSentinel] = field(default_factory=list)

    def named_master(self) -> set[int | None]:
        return {sentinel.master_port_now() for sentinel in self.sentinels}


@contextmanager
def sentinel_group(workdir: Path) -> Iterator[Sentinels]:
    """A master, one replica in sync with it, and three sentinels that know both and each other."""
    with ExitStack() as stack:
        master = RedisServer(workdir, name="master")
        master.start()
        stack.callback(master.stop)
        replica = RedisServer(workdir, replica_of=master.port, name="replica")
        replica.start()
        stack.callback(replica.stop)
        wait_for(
            lambda: replica.info("replication").get("master_link_status") == "up", timeout=15, what="replica in sync"
        )
        group = Sentinels(master, replica)
        for _ in range(3):
            sentinel = RedisSentinel(workdir, master.port)
            sentinel.start()
            stack.callback(sentinel.stop)
            group.sentinels.append(sentinel)
        # Until every sentinel knows the replica and its two fellows, a dead master would stay dead.
        for sentinel in group.sentinels:
            wait_for(partial(sentinel.sees, replicas=1, other_sentinels=2), timeout=30, what="sentinels acquainted")
        yield group


def _get(client: httpx.Client, path: str, ip: str) -> httpx.Response:
    return client.get(path, headers={"X-Forwarded-For": ip})


def _counted(response: httpx.Response) -> bool:
    """The storage decided this request: only then does it carry the RateLimit headers."""
    return "ratelimit" in response.headers


def _security_state(client: httpx.Client) -> str:
    """What /api/security/status says, or `refused` when fail-closed turns it away with the rest of /api."""
    response = _get(client, "/api/security/status", STATUS_IP)
    if response.status_code == 503 and response.json()["error"]["code"] == "rate_limiter_unavailable":
        return "refused"
    assert response.status_code == 200, response.text
    answer: str = response.json()["security_status"]
    return answer


def _storage_healthy(client: httpx.Client) -> bool:
    answer: bool = client.get("/health").json()["checks"]["security"]["rate_limit_storage_healthy"]
    return answer


@pytest.mark.parametrize("fail_closed", [False, True], ids=["fail-open", "fail-closed"])
def test_fault_sentinel_promotes_the_replica_and_the_limit_holds(tmp_path: Path, fail_closed: bool) -> None:
    with (
        sentinel_group(tmp_path) as group,
        running_service(
            tmp_path,
            AI_DIY_RATE_LIMIT_STORAGE=sentinel_uri(group.sentinels),
            AI_DIY_RATE_LIMIT=f"{LIMIT}/minute",
            AI_DIY_RATE_LIMIT_FAIL_CLOSED=str(fail_closed).lower(),
            AI_DIY_TRUSTED_PROXIES="127.0.0.1",
            AI_DIY_RESOURCE_LOG_INTERVAL="0",
        ) as (_, base),
        httpx.Client(base_url=base, timeout=5) as client,
    ):
        assert _security_state(client) == "active"
        # A client spends its budget through the master; the replica has every hit before the fault.
        spent = [_get(client, "/api/env", "192.0.2.1").status_code for _ in range(LIMIT + 1)]
        assert spent == [200] * LIMIT + [429]
        assert redis_cli(group.master.port, "WAIT", "1", "5000") == "1"

        group.master.kill()
        killed_at = time.monotonic()
        gap: list[tuple[float, int, bool]] = []  # (seconds since the kill, status, counted by the storage)
        promoted_after = None
        states: set[str] = set()
        storage_down_seen = False
        # Each probe is a new client: its one hit, if counted, spends nobody's budget.
        for index in range(int(GAP_TIMEOUT / 0.05)):
            response = _get(client, "/api/env", f"198.18.{index // 250}.{index % 250 + 1}")
            elapsed = time.monotonic() - killed_at
            gap.append((elapsed, response.status_code, _counted(response)))
            states.add(_security_state(client))
            storage_down_seen = storage_down_seen or not _storage_healthy(client)
            # Promoted once a sentinel names the replica: the service asks the first sentinel that
            # answers, so it may count through the new master before the other sentinels agree.
            if promoted_after is None and group.replica.port in group.named_master():
                promoted_after = elapsed
            if _counted(response) or elapsed > GAP_TIMEOUT:
                break
            time.sleep(0.05)

        recovered_after, _, counted = gap[-1]
        assert counted, f"no request was counted again within {GAP_TIMEOUT}s of the kill: {gap[-5:]}"
        assert promoted_after is not None and group.replica.info("replication")["role"] == "master"
        uncounted = [status for _, status, was_counted in gap if not was_counted]
        assert uncounted, "the fail-over left no gap at all: the master was not the storage"
        assert storage_down_seen
        if fail_closed:
            # Refused like every /api route while the storage cannot count; /health says why.
            assert set(uncounted) == {503} and "refused" in states
        else:
            assert set(uncounted) == {200} and "degraded" in states

        # Through the promoted replica: the spent client stays refused, a fresh one gets exactly its budget.
        assert _get(client, "/api/env", "192.0.2.1").status_code == 429
        fresh = [_get(client, "/api/env", "192.0.2.2").status_code for _ in range(LIMIT + 1)]
        assert fresh == [200] * LIMIT + [429]
        wait_for(lambda: _security_state(client) == "active", timeout=10, what="security status active again")
        assert _storage_healthy(client)
    mode = "fail-closed" if fail_closed else "fail-open"
    print(
        f"\nsentinel fail-over ({mode}): promoted after {promoted_after:.2f}s, first counted request after "
        f"{recovered_after:.2f}s, {len(uncounted)} requests in the gap answered {sorted(set(uncounted))}"
    )
