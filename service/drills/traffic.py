"""The requests that fire the alerts traffic alone fires, against the service's own endpoints.

Each drill's amount is how many offending requests it sends, over the alert's threshold
for its severity; the refused-requests drill first spends the client's allowance. Every
list is bounded: the amounts are the catalogue's, the allowance the service's own limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .catalogue import Drill, Via

DOCUMENT = "/api/appdocs/drill.json"


@dataclass(frozen=True)
class Request:
    """One HTTP request of a drill."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def requests_for(drill: Drill, *, allowance: int, admin_token: str) -> list[Request]:
    """The requests that fire `drill`'s alert: `allowance` is the rate limit's requests per window."""
    if drill.via is not Via.TRAFFIC or not isinstance(drill.amount, int):
        raise ValueError(f"{drill.name} is not fired by a number of requests")
    count = drill.amount
    if drill.action == "refused-requests":
        return [Request("GET", "/api/env")] * (allowance + count)
    if drill.action == "path-traversal-requests":
        return [Request("GET", "/api/appdocs/..%2f..%2fetc%2fpasswd")] * count
    if drill.action == "invalid-document-names":
        return [Request("GET", "/api/appdocs/%21drill%21.json")] * count
    if drill.action == "wrong-admin-token-requests":
        return [Request("PUT", DOCUMENT, _bearer(f"not-{admin_token}"), b"{}")] * count
    if drill.action == "suspicious-requests":
        # Authenticated writes of a body that is not JSON: suspicious input, not an auth failure.
        return [Request("PUT", DOCUMENT, _bearer(admin_token), b'{"unterminated": ')] * count
    raise ValueError(f"{drill.name}: no traffic for {drill.action!r}")
