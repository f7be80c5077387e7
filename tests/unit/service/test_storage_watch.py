"""StorageWatch: a remote rate-limit storage asked in the background; the in-process one never."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from service.security.events import SecurityEvents
from service.security.limiter import RateLimiter
from service.storage_watch import StorageWatch
from tests.support.net import free_port

pytestmark = pytest.mark.anyio


def _limiter(uri: str, registry: CollectorRegistry) -> RateLimiter:
    return RateLimiter("5/minute", uri, events=SecurityEvents(registry), timeout=0.2)


async def test_storage_watch_marks_an_unreachable_storage_unhealthy_without_any_hit() -> None:
    registry = CollectorRegistry()
    limiter = _limiter(f"redis://127.0.0.1:{free_port()}/0", registry)
    heard: list[bool] = []
    changed = asyncio.Event()

    def hear(healthy: bool) -> None:
        heard.append(healthy)
        changed.set()

    limiter.add_listener(hear)
    watch = StorageWatch(limiter, interval=0.05)
    watch.start()
    try:
        async with asyncio.timeout(5):
            await changed.wait()
    finally:
        await watch.stop()
    assert heard == [False] and not watch.running
    errors = registry.get_sample_value("ai_diy_rate_limiter_errors_total")
    assert errors is not None and errors >= 1


async def test_storage_watch_leaves_the_in_process_storage_alone() -> None:
    watch = StorageWatch(_limiter("memory://", CollectorRegistry()))
    watch.start()
    assert not watch.running
    await watch.stop()
