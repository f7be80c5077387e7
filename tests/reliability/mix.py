"""The realistic request mix the load and fault tests drive.

Most connections are ordinary clients behind the trusted proxy: each request names
its client in X-Forwarded-For, and no client address is used often enough to reach
the limit. The first `abusers` connections are one client each that hammers
/api/config/models and must be refused with 429 once over the limit.
"""

from __future__ import annotations

from .loadgen import Request

ABUSED_PATH = "/api/config/models"
ORDINARY_PATHS = (
    "/health",
    "/health",
    "/api/env",
    "/api/env",
    "/api/appdocs/doc.json",
    "/api/appdocs",
    "/no/such/route",
    "/api/appdocs/missing.txt",
)
DOCUMENT = b'{"title": "reliability", "items": [1, 2, 3]}'


def abuser_ip(conn: int, round_number: int) -> str:
    """One address per abusing connection and round, so every round starts below the limit."""
    return f"203.{round_number % 256}.113.{conn + 1}"


class Mix:
    """A request planner: `mix(conn, seq) -> (method, target, headers, body)`."""

    def __init__(
        self,
        *,
        abusers: int = 4,
        round_number: int = 0,
        uses_per_ip: int = 10,
        paths: tuple[str, ...] = ORDINARY_PATHS,
        user_agent: str = "reliability-load",
    ) -> None:
        self.paths = paths
        self.user_agent = user_agent
        self.abusers = abusers
        self.round_number = round_number
        self.uses_per_ip = uses_per_ip

    def client_ip(self, conn: int, seq: int) -> str:
        """A new address every `uses_per_ip` requests, distinct per round and connection."""
        block = seq // self.uses_per_ip
        second = (self.round_number + 128 * (block // 256)) % 256
        return f"10.{second}.{conn % 256}.{block % 256}"

    def __call__(self, conn: int, seq: int) -> Request:
        if conn < self.abusers:
            return "GET", ABUSED_PATH, {"X-Forwarded-For": abuser_ip(conn, self.round_number)}, b""
        path = self.paths[seq % len(self.paths)]
        return "GET", path, {"X-Forwarded-For": self.client_ip(conn, seq), "User-Agent": self.user_agent}, b""
