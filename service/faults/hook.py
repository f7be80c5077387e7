"""The request path's side of fault injection: latency and errors on /api/*.

It sits innermost, just outside the router, so everything the service measures (the
request metrics, the access line, the trace) sees an injected error or delay as it would
see a real one. While no fault is on it costs one attribute read per request.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import error_response

from .registry import FaultRegistry

INJECTED = "fault_injected"


class FaultInjection:
    """Pure ASGI: delays and fails the /api/* requests the registry's faults ask for."""

    def __init__(self, app: ASGIApp, *, registry: FaultRegistry, prefix: str = "/api/") -> None:
        self.app = app
        self.registry = registry
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        registry = self.registry
        if not registry.armed or scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        delay = registry.latency()
        if delay:
            await asyncio.sleep(delay)
        if registry.error_due():
            response = error_response(500, INJECTED, "fault injection: this request was made to fail")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
