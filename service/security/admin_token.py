"""The admin bearer token check shared by every admin endpoint (document writes, fault injection).

A refusal is a 401 with `WWW-Authenticate`, and an `auth_failure` security event:
logged and counted in `ai_diy_auth_failures_total`, so AiDiyAuthFailures sees every
admin endpoint alike.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from service.errors import error_response

from .events import SecurityEvents


def bearer_refusal(request: Request, expected: str, events: SecurityEvents) -> Response | None:
    """None when the request bears `expected` as its bearer token, else the 401 to answer (recorded)."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # compare_digest on bytes: constant time whatever the token's characters.
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode()):
        return None
    events.record(
        "auth_failure",
        "warning",
        request.client.host if request.client else "unknown",
        method=request.method,
        path=request.url.path[:256],
        reason="missing_token" if not given else "wrong_token",
    )
    return error_response(
        401,
        "unauthorized",
        "a valid admin bearer token is required",
        headers={"WWW-Authenticate": 'Bearer realm="ai-diy"'},
    )
