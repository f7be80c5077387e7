"""The real client address: the socket peer, or what a trusted proxy says it is."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_PEER_CACHE = 4096


class ClientIPMiddleware:
    """`ClientIP` as a middleware of its own (the edge middleware applies it in one frame with the rest)."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: Iterable[Network] = ()) -> None:
        self.app = app
        self.client_ip = ClientIP(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self.client_ip.apply(scope)
        await self.app(scope, receive, send)


class ClientIP:
    """Rewrites `scope["client"]` to the real client, as uvicorn's ProxyHeadersMiddleware does.

    The socket peer is the client unless it is one of `trusted_proxies`; only then
    are `Forwarded` (RFC 7239) or `X-Forwarded-For` read, walking the hops from the
    right and taking the first address that is not a trusted proxy. A header sent
    by an untrusted peer is ignored, so it cannot change the client anyone sees.
    """

    def __init__(self, trusted_proxies: Iterable[Network] = ()) -> None:
        self.trusted: tuple[Network, ...] = tuple(trusted_proxies)
        # A canonical dotted quad, what nearly every hop is, is recognised by one
        # regular expression and checked against the trusted networks here: behind
        # a proxy each request names a new client, so a cache would miss and
        # `ipaddress` would parse every one (several times the cost).
        v4 = [net for net in self.trusted if isinstance(net, ipaddress.IPv4Network)]
        self._exact_v4 = frozenset(str(net.network_address) for net in v4 if net.prefixlen == 32)
        self._v4 = tuple((int(net.network_address), int(net.netmask)) for net in v4 if net.prefixlen < 32)
        # Everything else (IPv6, odd spellings) is parsed by `ipaddress`, once per
        # string, in a bounded cache: peers and proxies repeat.
        self._parsed = functools.lru_cache(maxsize=_PEER_CACHE)(self._parse_and_check)

    def apply(self, scope: Scope) -> None:
        """Put the real client in `scope["client"]` (an HTTP or WebSocket scope)."""
        if not self.trusted:
            return
        client = scope.get("client")
        if client and self._is_trusted(client[0]):
            hops = _forwarded_hops(scope.get("headers", ()))
            if hops:
                real = self._real_client(client[0], hops)
                if real != client[0]:
                    # The port of the far client is unknown; 0 says so.
                    scope["client"] = (real, 0)

    def _parse_and_check(self, host: str) -> tuple[str, bool] | None:
        """(canonical address, whether a trusted proxy) for an address string; None when it is none."""
        address = _address(host)
        if address is None:
            return None
        return str(address), any(address in network for network in self.trusted)

    def _verdict(self, host: str) -> tuple[str, bool] | None:
        """(canonical address, whether a trusted proxy); None when `host` is no address."""
        if _CANONICAL_IPV4.fullmatch(host) is None:
            return self._parsed(host)
        if host in self._exact_v4:
            return host, True
        if self._v4:
            value = _ipv4_value(host)
            for network, mask in self._v4:
                if value & mask == network:
                    return host, True
        return host, False

    def _is_trusted(self, peer: str) -> bool:
        # Without a proxy in front, or with clients that connect both directly and
        # through it, each peer is a new client: the dotted-quad path, not a parse.
        verdict = self._verdict(peer)
        return verdict is not None and verdict[1]

    def _real_client(self, peer: str, hops: Sequence[str]) -> str:
        real = peer
        for hop in reversed(hops):
            verdict = self._verdict(hop)
            if verdict is None:
                # A trusted proxy relayed something that is not an address: believe no further.
                return real
            real, trusted = verdict
            if not trusted:
                return real
        return real


# A dotted quad as `str(ipaddress.ip_address(...))` writes it: ASCII digits, no leading
# zeros, each part up to 255. Such a string needs no parsing to be canonical.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


def _ipv4_value(host: str) -> int:
    """The integer of a canonical dotted quad (see _CANONICAL_IPV4)."""
    a, b, c, d = host.split(".")
    return int(a) << 24 | int(b) << 16 | int(c) << 8 | int(d)


def _address(value: str) -> Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _forwarded_hops(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    forwarded: list[str] = []
    x_forwarded_for: list[str] = []
    # ASGI header names are lower case (the spec requires it of servers).
    for name, value in headers:
        if name == b"forwarded":
            forwarded.extend(_parse_forwarded(value.decode("latin-1")))
        elif name == b"x-forwarded-for":
            # map(), not a generator: no frame per request.
            x_forwarded_for.extend(map(str.strip, value.decode("latin-1").split(",")))
    # Forwarded is the standard form; X-Forwarded-For is the common one.
    return forwarded or x_forwarded_for


def _parse_forwarded(value: str) -> list[str]:
    hops = []
    for element in value.split(","):
        for pair in element.split(";"):
            key, _, raw = pair.strip().partition("=")
            if key.strip().lower() == "for":
                hops.append(_strip_node(raw.strip().strip('"')))
    return hops


def _strip_node(node: str) -> str:
    """`[2001:db8::1]:443` -> `2001:db8::1`, `192.0.2.1:80` -> `192.0.2.1`."""
    if node.startswith("["):
        return node[1:].split("]", 1)[0]
    if node.count(":") == 1:
        return node.split(":", 1)[0]
    return node
