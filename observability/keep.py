"""Which requests' traces are kept: decided at the end of each request.

A trace is worth exporting when the caller asked for it (its `traceparent` has the
sampled flag), when the request failed (5xx, an exception, or the client left
before the response ended), when it was slow, or when its trace id falls in the
keep ratio. The ratio is decided on the trace id exactly as OpenTelemetry's
`TraceIdRatioBased` sampler does, so that every service of a trace keeps or drops
it alike.

Optionally, a per-process cap bounds how many traces the ratio keeps per second
(`max_ratio_kept_per_second`): then the export work stops growing with the load.
Below the cap the ratio agrees with `TraceIdRatioBased` exactly; past it, a trace
in the ratio is left out until the next second's allowance. Caller-sampled, failed
and slow requests are kept whatever the cap.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

DEFAULT_SAMPLE_RATIO = 0.05
DEFAULT_SLOW_SECONDS = 1.0
_LOW_64_BITS = TraceIdRatioBased.TRACE_ID_LIMIT


class KeepPolicy:
    """The keep rule: caller-sampled, failed, slow (>= `slow_seconds`) or within `sample_ratio`."""

    __slots__ = (
        "_allowance",
        "_bound",
        "_clock",
        "_second",
        "max_ratio_kept_per_second",
        "sample_ratio",
        "slow_seconds",
    )

    def __init__(
        self,
        sample_ratio: float = DEFAULT_SAMPLE_RATIO,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        *,
        max_ratio_kept_per_second: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0.0 <= sample_ratio <= 1.0:
            raise ValueError(f"sample_ratio must be within [0, 1], got {sample_ratio!r}")
        if slow_seconds <= 0:
            raise ValueError(f"slow_seconds must be positive, got {slow_seconds!r}")
        if max_ratio_kept_per_second is not None and max_ratio_kept_per_second < 0:
            raise ValueError(f"max_ratio_kept_per_second must be 0 or more, got {max_ratio_kept_per_second!r}")
        self.sample_ratio = sample_ratio
        self.slow_seconds = slow_seconds
        self.max_ratio_kept_per_second = max_ratio_kept_per_second
        self._bound = TraceIdRatioBased.get_bound_for_rate(sample_ratio)
        self._clock = clock
        self._second = -1
        self._allowance = 0

    def in_ratio(self, trace_id: int) -> bool:
        """Whether the trace id falls within the keep ratio (TraceIdRatioBased's test), under the cap if any."""
        if trace_id & _LOW_64_BITS >= self._bound:
            return False
        cap = self.max_ratio_kept_per_second
        if cap is None:
            return True
        # A fixed one-second window: one clock read per in-ratio trace, nothing per other request.
        second = int(self._clock())
        if second != self._second:
            self._second = second
            self._allowance = cap
        if self._allowance <= 0:
            return False
        self._allowance -= 1
        return True

    def keeps(self, kept_at_start: bool, status: int, failed: bool, duration: float) -> bool:
        """The verdict at the end: `kept_at_start` is caller-sampled or in the ratio."""
        return kept_at_start or failed or status >= 500 or duration >= self.slow_seconds
