"""HTTP addresses of a listener: the one it binds, and the one a local client connects to."""

from __future__ import annotations

# A wildcard bind listens on every address of its family; from this host, loopback reaches it.
LOOPBACK_FOR_WILDCARD = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104  # names the wildcards


def http_url(host: str, port: int, path: str = "") -> str:
    """`http://host:port` + path, with an IPv6 address in brackets."""
    where = f"[{host}]" if ":" in host else host
    return f"http://{where}:{port}{path}"


def local_url(host: str, port: int, path: str = "") -> str:
    """The URL a client on this host uses to reach a listener bound to host:port."""
    return http_url(LOOPBACK_FOR_WILDCARD.get(host, host), port, path)
