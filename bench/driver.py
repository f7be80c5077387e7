"""A hand-written ASGI caller: scopes, receive and send built here, no HTTP client.

Starlette's TestClient and httpx's ASGITransport add more per-request work than the
middleware being measured; this caller adds almost nothing, so differences between
variants are the variants' own cost.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

ASGIApp = Callable[..., Any]
# RFC 2544 benchmarking range: 131,072 addresses that never belong to a real client.
BENCH_NETWORK = ipaddress.ip_network("198.18.0.0/15")
_BENCH_BASE = int(BENCH_NETWORK.network_address)
_BENCH_SIZE = BENCH_NETWORK.num_addresses


def bench_client(n: int) -> str:
    """The n-th address of 198.18.0.0/15 (wrapping around)."""
    return str(ipaddress.IPv4Address(_BENCH_BASE + n % _BENCH_SIZE))


@dataclass(frozen=True, slots=True)
class Probe:
    """One request of the mix: method, path, and the status it must answer."""

    method: str
    path: str
    expect: int = 200


class Lifespan:
    """Runs an app's lifespan protocol: `await start()`, then `await stop()`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.3"}, "state": self.state}
        try:
            await self.app(scope, self._to_app.get, self._from_app.put)
        except Exception as exc:  # an app without lifespan support raises; report it as a failure message
            await self._from_app.put({"type": "lifespan.startup.failed", "message": repr(exc)})

    async def _exchange(self, kind: str) -> None:
        await self._to_app.put({"type": f"lifespan.{kind}"})
        reply = await asyncio.wait_for(self._from_app.get(), timeout=30)
        if reply["type"].endswith(".failed"):
            raise RuntimeError(f"lifespan {kind} failed: {reply.get('message', '')}")

    async def start(self) -> None:
        """Send lifespan.startup and wait for the app to complete it."""
        self._task = asyncio.create_task(self._run())
        await self._exchange("startup")

    async def stop(self) -> None:
        """Send lifespan.shutdown and wait for the app to finish."""
        if self._task is None:
            return
        await self._exchange("shutdown")
        await asyncio.wait_for(self._task, timeout=30)
        self._task = None


class Caller:
    """Calls an ASGI app directly; counts statuses and response bytes."""

    def __init__(self, app: ASGIApp, *, lifespan_state: dict[str, Any] | None = None) -> None:
        self.app = app
        self.lifespan_state = lifespan_state or {}
        self.statuses: dict[int, int] = {}
        self.unexpected: list[tuple[str, int]] = []
        self.last_body = b""

    async def call(self, probe: Probe, client: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> int:
        """One request; returns the status."""
        path = probe.path
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": probe.method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench/1"), *headers],
            "client": (client, 40000),
            "server": ("127.0.0.1", 8000),
            "state": dict(self.lifespan_state),
        }
        request_sent = False
        status = 0
        body: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            # Nothing more will come: the client stays connected until the response ends.
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}  # pragma: no cover - never reached

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await self.app(scope, receive, send)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status != probe.expect:
            self.unexpected.append((path, status))
        self.last_body = b"".join(body)
        return status
