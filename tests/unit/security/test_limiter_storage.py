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
