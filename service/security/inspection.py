"""JSON request bodies: parsed with limits on depth, sizes and NUL bytes."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from starlette.responses import JSONResponse

from service.errors import error_response
from service.security.events import SecurityEvents

# Also the `reason` values of ai_diy_input_validation_failures_total for this check.
REASONS = frozenset({"malformed_json", "too_deep", "string_too_long", "too_many_items", "nul_byte"})
_MESSAGES = {
    "malformed_json": "request body is not valid JSON",
    "too_deep": "JSON nesting deeper than {max_depth} levels",
    "string_too_long": "a JSON string is longer than {max_string} characters",
    "too_many_items": "a JSON array or object has more than {max_items} items",
    "nul_byte": "request body contains a NUL character",
}


class SuspiciousInput(ValueError):
    """A request body refused by inspection; `reason` is one of REASONS, `message` is for the client."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_json_body(body: bytes, *, max_depth: int = 20, max_string: int = 10_000, max_items: int = 1_000) -> Any:
    """The decoded JSON value of `body`; raises SuspiciousInput when it breaks a limit."""
    limits = {"max_depth": max_depth, "max_string": max_string, "max_items": max_items}

    def refuse(reason: str) -> NoReturn:
        raise SuspiciousInput(reason, _MESSAGES[reason].format(**limits))

    if b"\x00" in body:
        refuse("nul_byte")
    try:
        value = json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        refuse("too_deep")
    except ValueError:  # JSONDecodeError, UnicodeDecodeError, NaN/Infinity
        refuse("malformed_json")
    problem = _check(value, max_depth, max_string, max_items)
    if problem:
        refuse(problem)
    return value


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _check(value: Any, max_depth: int, max_string: int, max_items: int) -> str | None:
    # Iterative walk: a hostile document cannot blow the Python stack here.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if len(node) > max_string:
                return "string_too_long"
            if "\x00" in node:
                return "nul_byte"
        elif isinstance(node, (list, dict)):
            if depth > max_depth:
                return "too_deep"
            if len(node) > max_items:
                return "too_many_items"
            if isinstance(node, dict):
                for key, item in node.items():
                    stack.append((key, depth + 1))
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in node)
    return None


def input_rejection(events: SecurityEvents, exc: SuspiciousInput, *, client_ip: str, path: str) -> JSONResponse:
    """Record `suspicious_input` and build the JSON 400 a route answers with."""
    events.record("suspicious_input", "warning", client_ip, reason=exc.reason, path=path)
    return error_response(400, exc.reason, exc.message)
