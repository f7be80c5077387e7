"""bench/components.py: every component is built and answers in front of the leaf app."""

from __future__ import annotations

import asyncio

import pytest

from bench.components import COMPONENTS, time_components
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
