"""observability.outcome: how a request ended, and OpenTelemetry's error.type for it."""

from __future__ import annotations

import pytest

from observability import RequestOutcome
from observability.outcome import error_type


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [(None, 200, ""), (None, 404, ""), (None, 499, ""), (None, 503, "503"), (KeyError("x"), 500, "KeyError")],
)
def test_outcome_error_type_names_the_exception_else_the_5xx_status(
    error: BaseException | None, status: int, expected: str
) -> None:
    assert error_type(error, status) == expected


def test_outcome_is_a_value() -> None:
    outcome = RequestOutcome("GET", "/items/{id}", 200, None, True, 1, 2)
    assert outcome == RequestOutcome("GET", "/items/{id}", 200, None, True, 1, 2)
    assert (outcome.route, outcome.end_ns - outcome.start_ns) == ("/items/{id}", 1)
