from __future__ import annotations

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from service.security.headers import DOCUMENTS_ALSO, EVERY_ANSWER, SECURITY_HEADERS, SecurityHeadersMiddleware

pytestmark = pytest.mark.anyio

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}


def _assert_secured(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    assert "server" not in response.headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/env", 200),
        ("GET", "/health", 200),
        ("GET", "/", 404),
        ("GET", "/api/fail", 500),
        ("POST", "/api/echo", 400),
        ("DELETE", "/api/env", 405),
    ],
)
async def test_security_headers_on_every_status(client: httpx.AsyncClient, method: str, path: str, status: int) -> None:
    response = await client.request(method, path, content=b"{" if method == "POST" else None)
    assert response.status_code == status
    _assert_secured(response)
    assert response.headers["cache-control"] == "no-store"


async def test_security_headers_on_429_and_413(client: httpx.AsyncClient) -> None:
    big = await client.post("/api/echo", content=b"x" * 5000)
    assert big.status_code == 413
    _assert_secured(big)
    for _ in range(100):
        assert (await client.get("/api/env")).status_code == 200
    limited = await client.get("/api/env")
    assert limited.status_code == 429
    _assert_secured(limited)


async def _sent_headers(inner_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    sent: list[Message] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": inner_headers})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await SecurityHeadersMiddleware(inner)({"type": "http", "path": "/", "headers": []}, receive, send)
    answer: list[tuple[bytes, bytes]] = sent[0]["headers"]
    return answer


async def test_security_headers_names_sent_in_canonical_case() -> None:
    headers = await _sent_headers([(b"content-type", b"text/markdown; charset=utf-8")])
    names = [name for name, _ in headers]
    for canonical, _ in SECURITY_HEADERS:
        assert canonical in names
    assert b"X-Frame-Options" in names and b"x-frame-options" not in names


@pytest.mark.parametrize(
    "content_type",
    [b"application/json", b"Application/JSON; charset=utf-8", b"application/problem+json"],
)
async def test_security_headers_json_answer_gets_every_answer_set_only(content_type: bytes) -> None:
    headers = await _sent_headers([(b"content-type", content_type)])
    security = [header for header in headers if header[0].lower() != b"content-type"]
    assert security == [*EVERY_ANSWER, (b"Cache-Control", b"no-store")]


@pytest.mark.parametrize(
    "inner_headers",
    [
        [(b"content-type", b"text/markdown; charset=utf-8")],
        [(b"content-type", b"text/html")],
        [(b"content-type", b"application/jsonp")],  # not JSON: a script
        [],  # no type: the browser would sniff, so the full set
    ],
)
async def test_security_headers_document_answers_also_get_the_cross_origin_policies(
    inner_headers: list[tuple[bytes, bytes]],
) -> None:
    names = [name for name, _ in await _sent_headers(inner_headers)]
    for canonical, _ in (*EVERY_ANSWER, *DOCUMENTS_ALSO):
        assert names.count(canonical) == 1, canonical


async def test_security_headers_cannot_be_shed_by_a_second_content_type() -> None:
    # The last Content-Type decides, as a browser would read the answer; the app's own
    # Cross-Origin headers are replaced, never kept beside the policy.
    headers = await _sent_headers(
        [
            (b"content-type", b"application/json"),
            (b"content-type", b"text/html"),
            (b"cross-origin-resource-policy", b"cross-origin"),
        ]
    )
    assert [value for name, value in headers if name.lower() == b"cross-origin-resource-policy"] == [b"same-origin"]


async def test_security_headers_replace_app_values_and_keep_app_cache_policy() -> None:
    headers = await _sent_headers(
        [(b"x-frame-options", b"SAMEORIGIN"), (b"server", b"leaky/1.2"), (b"cache-control", b"max-age=60")]
    )
    assert (b"X-Frame-Options", b"DENY") in headers
    assert all(name.lower() != b"server" for name, _ in headers)
    assert [value for name, value in headers if name.lower() == b"x-frame-options"] == [b"DENY"]
    assert [value for name, value in headers if name.lower() == b"cache-control"] == [b"max-age=60"]


async def test_security_headers_pass_non_http_scopes_untouched() -> None:
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def noop_receive() -> Message:
        return {"type": "lifespan.startup"}

    async def noop_send(message: Message) -> None:
        raise AssertionError("nothing should be sent")

    await SecurityHeadersMiddleware(inner)({"type": "lifespan"}, noop_receive, noop_send)
    assert seen == ["lifespan"]
