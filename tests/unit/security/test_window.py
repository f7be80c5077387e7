"""MovingWindow: the in-process moving-window counter behind the `memory://` rate limit."""

from __future__ import annotations

import tracemalloc

from service.security.window import MovingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_window_allows_exactly_the_limit_then_refuses() -> None:
    window = MovingWindow(100, 60, clock=Clock())
    results = [window.hit("198.18.0.1") for _ in range(101)]
    assert [allowed for allowed, _, _ in results] == [True] * 100 + [False]
    assert [remaining for _, remaining, _ in results[:3]] == [99, 98, 97]
    assert results[99][1] == 0 and results[100] == (False, 0, 60)


def test_window_slides_one_hit_at_a_time() -> None:
    clock = Clock()
    window = MovingWindow(2, 60, clock=clock)
    assert window.hit("k") == (True, 1, 60)  # first hit at t=1000
    clock.now += 30
    assert window.hit("k") == (True, 0, 30)  # second hit at t=1030: window full
    assert window.hit("k") == (False, 0, 30)  # the t=1000 hit frees its slot in 30 s
    clock.now += 30.5
    assert window.hit("k")[0] is True  # t=1000 expired, t=1030 still counts
    assert window.hit("k") == (False, 0, 30)


def test_window_keys_are_independent() -> None:
    window = MovingWindow(1, 60, clock=Clock())
    assert window.hit("a")[0] is True
    assert window.hit("a")[0] is False
    assert window.hit("b")[0] is True


def test_window_forgets_idle_keys_after_two_window_lengths() -> None:
    clock = Clock()
    window = MovingWindow(5, 60, clock=clock)
    for n in range(1000):
        window.hit(f"198.18.{n // 256}.{n % 256}")
    assert len(window) == 1000
    clock.now += 61
    window.hit("active")
    assert len(window) == 1001  # one rotation: idle keys kept one more generation
    clock.now += 61
    window.hit("active")
    assert len(window) == 1  # untouched for a whole generation: expired, dropped


def test_window_keeps_hits_of_a_key_that_crosses_a_rotation() -> None:
    clock = Clock()
    window = MovingWindow(2, 60, clock=clock)
    window.hit("k")
    clock.now += 50
    window.hit("k")
    clock.now += 15  # rotation happens here; the t=1050 hit is still inside the window
    assert window.hit("k")[0] is True  # t=1000 expired
    assert window.hit("k")[0] is False


def test_window_limit_of_zero_refuses_everything() -> None:
    window = MovingWindow(0, 60, clock=Clock())
    assert window.hit("k") == (False, 0, 60)


def test_window_a_lone_expired_hit_frees_its_slot() -> None:
    clock = Clock()
    window = MovingWindow(1, 60, clock=clock)
    assert window.hit("k") == (True, 0, 60)
    assert window.hit("k") == (False, 0, 60)
    clock.now += 60
    assert window.hit("k") == (True, 0, 60)


def test_window_one_hit_clients_cost_a_float_each() -> None:
    keys = [f"198.18.{n // 256}.{n % 256}" for n in range(10_000)]  # made before the count starts
    window = MovingWindow(100, 60, clock=Clock())
    tracemalloc.start()
    try:
        for key in keys:
            window.hit(key)
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A float (24 bytes) and its share of the dict; a list per client would take 112 bytes more.
    assert used / len(keys) < 100, used / len(keys)
