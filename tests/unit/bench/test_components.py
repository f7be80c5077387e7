"""bench/components.py: every component is built and answers in front of the leaf app."""

from __future__ import annotations

import asyncio

import pytest

from bench.components import COMPONENTS, budget_lines, time_components
from observability.logging import active_sink


def test_components_each_answer_200_and_get_a_time() -> None:
    try:
        timed = asyncio.run(time_components(COMPONENTS, requests=3, repetitions=1, warmup=2))
    finally:
        sink = active_sink()
        if sink is not None:
            sink.stop()
    assert list(timed) == list(COMPONENTS)
    assert all(value > 0 for value in timed.values())


def test_components_refuse_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown component 'nope'"):
        asyncio.run(time_components(["nope"], requests=1, repetitions=1, warmup=0))


def test_components_budgets_subtract_the_frame_and_sum_the_security_parts() -> None:
    added = {
        "telemetry_frame": 3300.0 * 8,
        "access_line": 3300.0 * 19,
        "client_ip": 3300.0 * 6,
        "rate_limit": 3300.0 * 9,
        "body_limit": 3300.0 * 4,
    }
    assert budget_lines(added, 3300.0) == [
        "  [MISSED] access line: 11.0 µs (want <= 10)",
        "  [met] client IP + rate limit + body limit: 19.0 µs (want <= 20)",
    ]
