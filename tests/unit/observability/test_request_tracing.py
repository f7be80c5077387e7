"""observability.request_tracing: the keep rule (KeepPolicy), which traces are kept at the end of a request."""

from __future__ import annotations

import random

import pytest
from opentelemetry.sdk.trace.sampling import Decision, TraceIdRatioBased

from observability.request_tracing import KeepPolicy


def test_keep_policy_ratio_agrees_with_trace_id_ratio_sampler() -> None:
    policy = KeepPolicy(sample_ratio=0.25)
    sampler = TraceIdRatioBased(0.25)
    rng = random.Random(7)  # noqa: S311  # seeded, so every run checks the same trace ids
    for _ in range(5000):
        trace_id = rng.getrandbits(128)
        sampled = sampler.should_sample(None, trace_id, "x").decision is Decision.RECORD_AND_SAMPLE
        assert policy.in_ratio(trace_id) is sampled


@pytest.mark.parametrize(("ratio", "kept"), [(0.0, False), (1.0, True)])
def test_keep_policy_ratio_bounds_keep_none_or_all(ratio: float, kept: bool) -> None:
    policy = KeepPolicy(sample_ratio=ratio)
    assert {policy.in_ratio(random.getrandbits(128)) for _ in range(200)} == {kept}


@pytest.mark.parametrize(
    ("kept_at_start", "status", "failed", "duration", "kept"),
    [
        (False, 200, False, 0.01, False),
        (True, 200, False, 0.01, True),  # caller-sampled or in the ratio
        (False, 503, False, 0.01, True),  # a 5xx
        (False, 404, False, 0.01, False),  # a 4xx is an answer, not a failure
        (False, 200, True, 0.01, True),  # an exception or a client gone
        (False, 200, False, 0.5, True),  # at the slow threshold
        (False, 200, False, 0.4999, False),
    ],
)
def test_keep_policy_keeps_sampled_failed_and_slow(
    kept_at_start: bool, status: int, failed: bool, duration: float, kept: bool
) -> None:
    assert KeepPolicy(sample_ratio=0.0, slow_seconds=0.5).keeps(kept_at_start, status, failed, duration) is kept


@pytest.mark.parametrize(("ratio", "slow"), [(-0.1, 1.0), (1.5, 1.0), (0.1, 0.0)])
def test_keep_policy_refuses_out_of_range_settings(ratio: float, slow: float) -> None:
    with pytest.raises(ValueError):
        KeepPolicy(sample_ratio=ratio, slow_seconds=slow)


def test_keep_policy_cap_bounds_ratio_kept_traces_per_second() -> None:
    now = [100.0]
    policy = KeepPolicy(sample_ratio=1.0, max_ratio_kept_per_second=3, clock=lambda: now[0])
    assert [policy.in_ratio(random.getrandbits(128)) for _ in range(5)] == [True, True, True, False, False]
    now[0] = 101.2  # the next second brings a new allowance
    assert [policy.in_ratio(random.getrandbits(128)) for _ in range(4)] == [True, True, True, False]


def test_keep_policy_cap_keeps_failed_slow_and_caller_sampled_requests() -> None:
    policy = KeepPolicy(sample_ratio=1.0, max_ratio_kept_per_second=0, clock=lambda: 5.0)
    assert not policy.in_ratio(random.getrandbits(128))
    assert policy.keeps(True, 200, False, 0.01)  # caller-sampled
    assert policy.keeps(False, 503, False, 0.01)
    assert policy.keeps(False, 200, True, 0.01)
    assert policy.keeps(False, 200, False, policy.slow_seconds)


def test_keep_policy_cap_agrees_with_the_ratio_sampler_below_the_cap() -> None:
    policy = KeepPolicy(sample_ratio=0.25, max_ratio_kept_per_second=10_000, clock=lambda: 1.0)
    sampler = TraceIdRatioBased(0.25)
    rng = random.Random(11)  # noqa: S311  # seeded, so every run checks the same trace ids
    for _ in range(2000):
        trace_id = rng.getrandbits(128)
        sampled = sampler.should_sample(None, trace_id, "x").decision is Decision.RECORD_AND_SAMPLE
        assert policy.in_ratio(trace_id) is sampled


def test_keep_policy_refuses_a_negative_cap() -> None:
    with pytest.raises(ValueError, match="max_ratio_kept_per_second"):
        KeepPolicy(max_ratio_kept_per_second=-1)
