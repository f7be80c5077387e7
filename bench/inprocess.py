"""In-process timing: every variant driven by the hand-written ASGI caller.

Repetitions are interleaved (variant order rotates each repetition) so drift of the
machine (frequency, other load) spreads over all variants instead of favouring one.
The clock of a batch stops only after the variant's background work is flushed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from .driver import Caller, Lifespan, Probe, bench_client
from .variants import Built


@dataclass
class Timed:
    """Per-request cost of one variant over the repetitions, in microseconds."""

    name: str
    samples_us: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    unexpected: int = 0

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_us)

    def as_json(self) -> dict[str, object]:
        return {
            "median_us": round(self.median_us, 2),
            "min_us": round(min(self.samples_us), 2),
            "max_us": round(max(self.samples_us), 2),
            "samples_us": [round(s, 2) for s in self.samples_us],
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "unexpected_statuses": self.unexpected,
        }


class Driver:
    """Keeps a per-variant client counter so each request comes from the next address."""

    def __init__(self, built: Built, caller: Caller, mix: Sequence[Probe]) -> None:
        self.built = built
        self.caller = caller
        self.mix = list(mix)
        self.sent = 0

    async def run(self, count: int) -> None:
        """`count` requests round-robin over the mix, each from a new client address."""
        call = self.caller.call
        mix = self.mix
        size = len(mix)
        sent = self.sent
        for i in range(sent, sent + count):
            await call(mix[i % size], bench_client(i))
        self.sent = sent + count


async def _timed_batch(driver: Driver, count: int) -> float:
    start = time.perf_counter_ns()
    await driver.run(count)
    driver.built.flush()
    return (time.perf_counter_ns() - start) / 1000.0 / count


async def run_inprocess(
    variants: Sequence[Built], mix: Sequence[Probe], *, warmup: int, requests: int, repetitions: int
) -> dict[str, Timed]:
    """Median and range of per-request µs for each variant, interleaved."""
    lifespans = [Lifespan(v.app) for v in variants]
    for lifespan in lifespans:
        await lifespan.start()
    drivers = [
        Driver(v, Caller(v.app, lifespan_state=ls.state), mix) for v, ls in zip(variants, lifespans, strict=True)
    ]
    results = {v.name: Timed(v.name) for v in variants}
    try:
        for driver in drivers:
            await driver.run(warmup)
            driver.built.flush()
        for rep in range(repetitions):
            shift = rep % len(drivers)
            for driver in drivers[shift:] + drivers[:shift]:
                results[driver.built.name].samples_us.append(await _timed_batch(driver, requests))
                # Let the event loop run what the batch scheduled (timers, expiry tasks).
                await asyncio.sleep(0)
    finally:
        for lifespan in lifespans:
            await lifespan.stop()
    for driver in drivers:
        timed = results[driver.built.name]
        timed.statuses = dict(driver.caller.statuses)
        timed.unexpected = len(driver.caller.unexpected)
    return results
