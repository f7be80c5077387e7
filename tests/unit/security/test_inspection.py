from __future__ import annotations

import json
import logging

import httpx
import pytest
from prometheus_client import CollectorRegistry

from service.security.inspection import SuspiciousInput, parse_json_body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a": ', "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"[NaN]", "malformed_json"),
        (b"[" * 21 + b"]" * 21, "too_deep"),
        (b'{"a":' * 21 + b"1" + b"}" * 21, "too_deep"),
        (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
        (json.dumps("x" * 10_001).encode(), "string_too_long"),
        (json.dumps({"k" * 10_001: 1}).encode(), "string_too_long"),
        (json.dumps(list(range(1001))).encode(), "too_many_items"),
        (json.dumps({str(i): i for i in range(1001)}).encode(), "too_many_items"),
        (b'"a\x00b"', "nul_byte"),
        (b'{"a": "b\\u0000c"}', "nul_byte"),
    ],
)
def test_parse_json_body_refuses(body: bytes, reason: str) -> None:
    with pytest.raises(SuspiciousInput) as excinfo:
        parse_json_body(body)
    assert excinfo.value.reason == reason
    assert excinfo.value.message


def test_parse_json_body_accepts_within_limits() -> None:
    value = {"name": "x" * 10_000, "items": list(range(1000)), "nested": [[[[{"deep": True}]]]]}
    assert parse_json_body(json.dumps(value).encode()) == value
    assert parse_json_body(b"[" * 20 + b"]" * 20) is not None


def test_parse_json_body_custom_limits() -> None:
    with pytest.raises(SuspiciousInput):
        parse_json_body(b"[[1]]", max_depth=1)
    assert parse_json_body(b"[[1]]", max_depth=2) == [[1]]


@pytest.mark.anyio
async def test_suspicious_input_answered_400_logged_and_counted(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    registry: CollectorRegistry = client._transport.app.state.context.registry  # type: ignore[attr-defined]  # the app behind the client's transport
    with caplog.at_level(logging.WARNING, logger="ai_diy.security"):
        response = await client.post("/api/echo", content=b"[" * 30 + b"]" * 30)
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "too_deep", "message": "JSON nesting deeper than 20 levels"}
    assert registry.get_sample_value("ai_diy_input_validation_failures_total", {"reason": "too_deep"}) == 1
    assert (
        registry.get_sample_value("ai_diy_security_events_total", {"event": "suspicious_input", "severity": "warning"})
        == 1
    )
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "suspicious_input"]
    assert record.details == {"client_ip": "203.0.113.7", "reason": "too_deep", "path": "/api/echo"}  # type: ignore[attr-defined]  # a field logged with extra=
    ok = await client.post("/api/echo", content=b'{"a": [1, 2]}')
    assert ok.json() == {"received": {"a": [1, 2]}}
