from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message

from service.errors import ErrorBoundaryMiddleware

pytestmark = pytest.mark.anyio


async def _boom(request: Request) -> Response:
    raise RuntimeError("secret internals: /etc/shadow")


async def _broken_stream(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError("died mid-body")

    return StreamingResponse(body())


def _app() -> Starlette:
    return Starlette(
        routes=[
            Route("/boom", _boom),
            Route("/stream", _broken_stream),
            Route("/ok", lambda r: PlainTextResponse("ok")),
        ],
        middleware=[Middleware(ErrorBoundaryMiddleware)],
    )


async def test_error_boundary_answers_json_500_without_internals(caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        with caplog.at_level(logging.ERROR, logger="ai_diy.errors"):
            response = await http.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal server error"}}
    assert "secret internals" not in response.text
    record = next(r for r in caplog.records if r.name == "ai_diy.errors")
    assert record.exc_info is not None and "secret internals" in str(record.exc_info[1])


async def test_error_boundary_lets_a_started_response_abort() -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        with pytest.raises(RuntimeError, match="died mid-body"):
            await http.get("/stream")


async def _reads_body(request: Request) -> Response:
    await request.body()
    return PlainTextResponse("never")


async def test_error_boundary_answers_499_not_500_when_the_client_disconnects(caplog: pytest.LogCaptureFixture) -> None:
    app = Starlette(
        routes=[Route("/upload", _reads_body, methods=["POST"])], middleware=[Middleware(ErrorBoundaryMiddleware)]
    )
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/upload",
        "raw_path": b"/upload",
        "query_string": b"",
        "headers": [],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("t", 80),
        "client": ("c", 1),
        "root_path": "",
    }
    with caplog.at_level(logging.INFO, logger="ai_diy.errors"):
        await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
    assert [r.levelno for r in caplog.records if r.name == "ai_diy.errors"] == [logging.INFO]
