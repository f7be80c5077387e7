"""RateLimiter opens the storage the settings name, Sentinel's included, without reaching it at start."""

from __future__ import annotations

import pytest
from limits.aio.storage import RedisSentinelStorage
from prometheus_client import CollectorRegistry

from service.security.events import SecurityEvents
from service.security.limiter import RateLimiter
from tests.support.net import free_port

pytestmark = pytest.mark.anyio


async def test_limiter_follows_sentinels_and_degrades_when_none_answers() -> None:
    uri = f"redis+sentinel://127.0.0.1:{free_port()},127.0.0.1:{free_port()}/mymaster"
    limiter = RateLimiter("5/minute", uri, events=SecurityEvents(CollectorRegistry()), timeout=0.5)
    assert isinstance(limiter.storage, RedisSentinelStorage)
    assert limiter.scheme == "redis+sentinel"
    # No sentinel listens: the hit cannot be decided, and the limiter says so instead of raising.
    assert await limiter.check("203.0.113.7", "203.0.113.7") is None
    assert limiter.storage_healthy is False


async def test_limiter_cut_off_fails_every_hit_and_probe_until_its_time_is_up() -> None:
    now = [100.0]
    limiter = RateLimiter("5/minute", "memory://", events=SecurityEvents(CollectorRegistry()), clock=lambda: now[0])
    heard: list[bool] = []
    limiter.add_listener(heard.append)
    limiter.cut_off(30)
    assert not limiter.storage_healthy and not limiter.local, "requests take the remote path while cut off"
    assert await limiter.check("203.0.113.1", "203.0.113.1") is None
    assert not await limiter.probe()
    now[0] += 30
    decision = await limiter.check("203.0.113.1", "203.0.113.1")
    assert decision is not None and decision.allowed
    assert limiter.storage_healthy and limiter.local, "the in-process windows are back"
    assert heard == [False, True]


async def test_limiter_reconnect_ends_a_cut_off_at_once() -> None:
    limiter = RateLimiter("5/minute", "memory://", events=SecurityEvents(CollectorRegistry()))
    limiter.cut_off(600)
    limiter.reconnect()
    assert limiter.storage_healthy and limiter.local
    assert limiter.hit_local("203.0.113.1").allowed
