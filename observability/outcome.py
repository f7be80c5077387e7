"""How a request ended: what the trace, the metrics and the access line record of it."""

from __future__ import annotations

from typing import NamedTuple


class RequestOutcome(NamedTuple):
    """One finished request, as the telemetry saw it."""

    method: str  # the method label (`_OTHER` for unknown methods)
    route: str  # the route template, or `_unmatched`
    status: int
    error: BaseException | None  # the exception that ended it, if any
    kept: bool  # the keep rule's verdict on its trace (tail tracing)
    start_ns: int
    end_ns: int


def error_type(error: BaseException | None, status: int) -> str:
    """OpenTelemetry's `error.type` of a request: the exception's class, else a 5xx status; "" when it did not fail."""
    if error is not None:
        return type(error).__qualname__
    return str(status) if status >= 500 else ""
