"""/admin/faults: switch faults on and off at run time, with the admin bearer token.

The routes exist only when fault injection is enabled (the application includes them
then, and only then), so a service without it answers 404, not 401. Every switch writes
one audit line: who switched what, to which value, for how long.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.errors import error_response
from service.security.admin_token import bearer_refusal
from service.security.events import SecurityEvents

from .registry import FaultError, FaultKind, FaultRegistry

PREFIX = "/admin/faults"
audit = logging.getLogger("ai_diy.audit")


def _audit(request: Request, message: str, details: dict[str, Any]) -> None:
    client = request.client.host if request.client else "unknown"
    audit.info(
        message, extra={"event": "fault_injection", "status": "success", "details": {"client_ip": client, **details}}
    )


def _kind(request: Request) -> FaultKind | Response:
    name = request.path_params["kind"]
    try:
        return FaultKind(name)
    except ValueError:
        known = ", ".join(kind.value for kind in FaultKind)
        return error_response(404, "unknown_fault", f"no fault {name!r}: expected one of {known}")


def routes(registry: FaultRegistry, token: str, *, events: SecurityEvents) -> list[Route]:
    """The admin endpoint's routes, answering only requests bearing `token`; refusals are `auth_failure` events."""
    if not token:
        raise ValueError("fault injection needs an admin token: its endpoint must not be open")

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def checked(request: Request) -> Response:
            return bearer_refusal(request, token, events) or await handler(request)

        return checked

    def listing() -> JSONResponse:
        now = registry.now()
        return JSONResponse({"faults": [fault.as_json(now) for fault in registry.active().values()]})

    async def list_faults(request: Request) -> Response:
        return listing()

    async def switch_on(request: Request) -> Response:
        kind = _kind(request)
        if isinstance(kind, Response):
            return kind
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error_response(400, "invalid_json", 'expected a JSON object {"value": ..., "seconds": ...}')
        if not isinstance(body, dict) or set(body) != {"value", "seconds"}:
            return error_response(400, "invalid_fault", 'expected a JSON object {"value": ..., "seconds": ...}')
        try:
            fault = registry.switch_on(kind, body["value"], body["seconds"])
        except FaultError as refused:
            return error_response(400, "invalid_fault", str(refused))
        _audit(request, "fault switched on", {"fault": kind.value, "value": fault.value, "seconds": body["seconds"]})
        return listing()

    async def switch_off(request: Request) -> Response:
        kind = _kind(request)
        if isinstance(kind, Response):
            return kind
        if registry.switch_off(kind):
            _audit(request, "fault switched off", {"fault": kind.value})
        return listing()

    async def switch_all_off(request: Request) -> Response:
        for kind in registry.clear():
            _audit(request, "fault switched off", {"fault": kind.value})
        return listing()

    return [
        Route(PREFIX, guarded(list_faults), methods=["GET"]),
        Route(PREFIX, guarded(switch_all_off), methods=["DELETE"]),
        Route(PREFIX + "/{kind}", guarded(switch_on), methods=["PUT"]),
        Route(PREFIX + "/{kind}", guarded(switch_off), methods=["DELETE"]),
    ]
