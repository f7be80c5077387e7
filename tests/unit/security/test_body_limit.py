from __future__ import annotations

import json
import logging

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.security.body_limit import RequestSizeMiddleware, RequestTooLarge
from service.security.events import SecurityEvents
from service.security.framing import MAX_HEADER_BYTES

pytestmark = pytest.mark.anyio


async def test_body_limit_content_length_over_limit_refused_before_reading(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    registry = client._transport.app.state.context.registry  # type: ignore[attr-defined]  # the app behind the client's transport
    with caplog.at_level(logging.WARNING, logger="ai_diy.security"):
        response = await client.post("/api/echo", content=b"[" + b"1," * 600 + b"1]")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert (
        registry.get_sample_value("ai_diy_security_events_total", {"event": "request_too_large", "severity": "warning"})
        == 1
    )
    assert registry.get_sample_value("ai_diy_input_validation_failures_total", {"reason": "request_too_large"}) == 1
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "request_too_large"]
    assert record.details["client_ip"] == "203.0.113.7"  # type: ignore[attr-defined]  # a field logged with extra=


async def test_body_limit_body_at_limit_passes(client: httpx.AsyncClient) -> None:
    body = json.dumps("a" * 1000).encode()
    body += b" " * (1024 - len(body))
    response = await client.post("/api/echo", content=body)
    assert response.status_code == 200


def _app_reading_body() -> tuple[list[str], ASGIApp]:
    calls: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append("called")
        body = await Request(scope, receive).body()
        await JSONResponse({"bytes": len(body)})(scope, receive, send)

    return calls, app


async def _drive(
    middleware: RequestSizeMiddleware, chunks: list[bytes], headers: list[tuple[bytes, bytes]]
) -> list[Message]:
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[Message] = []

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/upload", "headers": headers, "client": ("192.0.2.1", 1)}
    await middleware(scope, receive, send)
    return sent


async def test_body_limit_declared_length_never_reaches_app() -> None:
    calls, app = _app_reading_body()
    middleware = RequestSizeMiddleware(app, max_bytes=10, events=SecurityEvents(CollectorRegistry()))
    sent = await _drive(middleware, [b"x" * 11], [(b"content-length", b"11")])
    assert calls == []
    assert sent[0]["status"] == 413


async def test_body_limit_chunked_body_growing_past_limit_gets_413() -> None:
    registry = CollectorRegistry()
    calls, app = _app_reading_body()
    middleware = RequestSizeMiddleware(app, max_bytes=10, events=SecurityEvents(registry))
    sent = await _drive(middleware, [b"x" * 6, b"x" * 6, b"x" * 6], [(b"transfer-encoding", b"chunked")])
    assert calls == ["called"]
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [413]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert json.loads(body)["error"]["code"] == "request_too_large"
    assert registry.get_sample_value("ai_diy_input_validation_failures_total", {"reason": "request_too_large"}) == 1


async def test_body_limit_chunked_body_under_limit_passes() -> None:
    _, app = _app_reading_body()
    middleware = RequestSizeMiddleware(app, max_bytes=10, events=SecurityEvents(CollectorRegistry()))
    sent = await _drive(middleware, [b"x" * 5, b"x" * 5], [])
    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"]) == {"bytes": 10}


async def test_body_limit_after_response_started_aborts() -> None:
    async def streaming_app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            await send({"type": "http.response.body", "body": b".", "more_body": True})

    middleware = RequestSizeMiddleware(streaming_app, max_bytes=10, events=SecurityEvents(CollectorRegistry()))
    with pytest.raises(RequestTooLarge):
        await _drive(middleware, [b"x" * 6, b"x" * 6, b"x"], [])


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")],
        [(b"transfer-encoding", b"chunked"), (b"content-length", b"10")],
        [(b"content-length", b"4"), (b"content-length", b"5")],
    ],
    ids=["length-then-chunked", "chunked-then-length", "two-lengths"],
)
async def test_body_limit_conflicting_framing_refused_with_close_before_reading(
    headers: list[tuple[bytes, bytes]],
) -> None:
    registry = CollectorRegistry()
    calls, app = _app_reading_body()
    middleware = RequestSizeMiddleware(app, max_bytes=1000, events=SecurityEvents(registry))
    # A small declared length, a large chunked body: neither is trusted, nothing is read.
    sent = await _drive(middleware, [b"x" * 600, b"x" * 600], headers)
    assert calls == []
    assert sent[0]["status"] == 400 and (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["code"] == "conflicting_framing"
    assert (
        registry.get_sample_value("ai_diy_security_events_total", {"event": "suspicious_input", "severity": "warning"})
        == 1
    )
    assert registry.get_sample_value("ai_diy_input_validation_failures_total", {"reason": "conflicting_framing"}) == 1


async def test_body_limit_repeated_equal_lengths_are_one_framing() -> None:
    _, app = _app_reading_body()
    middleware = RequestSizeMiddleware(app, max_bytes=10, events=SecurityEvents(CollectorRegistry()))
    sent = await _drive(middleware, [b"x" * 5], [(b"content-length", b"5"), (b"content-length", b"5")])
    assert sent[0]["status"] == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"user-agent": "u" * 60 * 1024},
        {"cookie": "c=" + "v" * 60 * 1024},
        {f"x-h{i}": "v" * 20 for i in range(1000)},
    ],
    ids=["60-KiB-user-agent", "60-KiB-cookie", "1000-headers"],
)
async def test_body_limit_header_block_over_limit_gets_json_431_with_security_headers(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    registry = client._transport.app.state.context.registry  # type: ignore[attr-defined]  # the app behind the client's transport
    response = await client.get("/api/env", headers=headers)
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "request_headers_too_large"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["connection"] == "close"
    assert registry.get_sample_value("ai_diy_input_validation_failures_total", {"reason": "request_too_large"}) == 1


async def test_body_limit_header_block_at_limit_passes(client: httpx.AsyncClient) -> None:
    # httpx sends host, accept, accept-encoding, connection and user-agent too; fill up to the limit.
    base = [(b"host", b"testserver"), (b"accept", b"*/*"), (b"accept-encoding", b"gzip, deflate")]
    base += [(b"connection", b"keep-alive"), (b"user-agent", b"python-httpx/" + httpx.__version__.encode())]
    used = sum(len(n) + len(v) + 4 for n, v in base) + len(b"x-fill") + 4
    response = await client.get("/api/env", headers={"x-fill": "f" * (MAX_HEADER_BYTES - used)})
    assert response.status_code == 200, response.text
    response = await client.get("/api/env", headers={"x-fill": "f" * (MAX_HEADER_BYTES - used + 1)})
    assert response.status_code == 431
