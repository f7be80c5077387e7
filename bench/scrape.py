"""The cost of one `/metrics` scrape once many requests have created their series."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from .driver import Caller, Lifespan, Probe
from .inprocess import Driver
from .variants import Built

METRICS = Probe("GET", "/metrics")


@dataclass
class Scrape:
    """Time (median and worst of a few scrapes) and size of the `/metrics` answer."""

    name: str
    requests: int
    median_ms: float
    max_ms: float
    bytes: int
    series: int

    def as_json(self) -> dict[str, object]:
        return {
            "requests_before": self.requests,
            "median_ms": round(self.median_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "bytes": self.bytes,
            "series": self.series,
        }


async def measure_scrape(built: Built, mix: list[Probe], *, requests: int, scrapes: int = 5) -> Scrape:
    """Send `requests` over the mix, then time `scrapes` scrapes of /metrics."""
    lifespan = Lifespan(built.app)
    await lifespan.start()
    try:
        caller = Caller(built.app, lifespan_state=lifespan.state)
        await Driver(built, caller, mix).run(requests)
        built.flush()
        times: list[float] = []
        for _ in range(scrapes):
            start = time.perf_counter_ns()
            status = await caller.call(METRICS, "127.0.0.1")
            times.append((time.perf_counter_ns() - start) / 1e6)
            if status != 200:
                raise RuntimeError(f"{built.name}: GET /metrics answered {status}")
        body = caller.last_body
    finally:
        await lifespan.stop()
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return Scrape(built.name, requests, statistics.median(times), max(times), len(body), series)
