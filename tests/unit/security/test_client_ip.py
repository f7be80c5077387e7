from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send

from service.security.client_ip import ClientIP, ClientIPMiddleware

pytestmark = pytest.mark.anyio


async def _client_seen(peer: str, headers: list[tuple[bytes, bytes]], trusted: list[str]) -> tuple[str, int]:
    seen: list[tuple[str, int]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["client"])

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    middleware = ClientIPMiddleware(inner, trusted_proxies=[ipaddress.ip_network(n) for n in trusted])
    scope = {"type": "http", "path": "/api/env", "headers": headers, "client": (peer, 40000)}
    await middleware(scope, receive, send)
    return seen[0]


async def test_client_ip_spoofed_header_from_untrusted_peer_is_ignored() -> None:
    spoofed = [(b"x-forwarded-for", b"1.2.3.4"), (b"forwarded", b"for=5.6.7.8")]
    assert await _client_seen("198.51.100.9", spoofed, trusted=["10.0.0.0/8"]) == ("198.51.100.9", 40000)


async def test_client_ip_without_trusted_proxies_keeps_peer() -> None:
    assert await _client_seen("10.0.0.1", [(b"x-forwarded-for", b"1.2.3.4")], trusted=[]) == ("10.0.0.1", 40000)


async def test_client_ip_trusted_peer_gives_rightmost_untrusted_hop() -> None:
    # The client forged the first entry; the trusted proxies appended the real ones.
    headers = [(b"x-forwarded-for", b"6.6.6.6, 203.0.113.5, 10.0.0.2")]
    assert await _client_seen("10.0.0.1", headers, trusted=["10.0.0.0/8"]) == ("203.0.113.5", 0)


async def test_client_ip_multiple_forwarded_for_headers_are_joined() -> None:
    headers = [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"203.0.113.5")]
    assert (await _client_seen("10.0.0.1", headers, trusted=["10.0.0.0/8"]))[0] == "203.0.113.5"


async def test_client_ip_forwarded_header_with_ipv6_and_port() -> None:
    headers = [(b"forwarded", b'for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"')]
    assert (await _client_seen("127.0.0.1", headers, trusted=["127.0.0.1/32"]))[0] == "2001:db8:cafe::17"


async def test_client_ip_all_hops_trusted_gives_leftmost() -> None:
    headers = [(b"x-forwarded-for", b"10.0.0.5, 10.0.0.6")]
    assert (await _client_seen("10.0.0.1", headers, trusted=["10.0.0.0/8"]))[0] == "10.0.0.5"


async def test_client_ip_garbage_hop_stops_at_last_trusted_address() -> None:
    headers = [(b"x-forwarded-for", b"1.2.3.4, not-an-ip, 10.0.0.2")]
    assert (await _client_seen("10.0.0.1", headers, trusted=["10.0.0.0/8"]))[0] == "10.0.0.2"


async def test_client_ip_trusted_peer_without_header_keeps_peer() -> None:
    assert await _client_seen("10.0.0.1", [], trusted=["10.0.0.0/8"]) == ("10.0.0.1", 40000)


_OCTET_TEXT = st.one_of(
    st.integers(0, 300).map(str),
    st.integers(0, 99).map(lambda n: f"0{n}"),
    st.sampled_from(["", "x", "٣", " 1", "1 ", "+1", "-1", "0x1"]),
)
_HOSTS = st.one_of(
    st.lists(_OCTET_TEXT, min_size=3, max_size=5).map(".".join),
    st.ip_addresses().map(str),
    st.text(max_size=20),
)


@given(host=_HOSTS)
def test_client_ip_hand_read_ipv4_agrees_with_ipaddress(host: str) -> None:
    networks = [ipaddress.ip_network(n) for n in ("127.0.0.1/32", "10.0.0.0/8", "198.18.0.0/16", "::1/128")]

    client_ip = ClientIP(networks)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        expected = None
    else:
        expected = (str(address), any(address in network for network in networks))
    assert client_ip._verdict(host) == expected


@pytest.mark.parametrize(
    ("peer", "believed"),
    [
        ("10.200.3.4", True),  # inside a trusted network: the dotted-quad path
        ("127.0.0.1", True),  # an exact trusted address
        ("::1", True),  # IPv6: parsed
        ("::ffff:10.0.0.1", False),  # an IPv4-mapped IPv6 peer is a different address
        ("192.0.2.1", False),
        ("010.0.0.1", False),  # leading zeros: no address, so never a proxy
        ("unix-socket", False),
    ],
)
async def test_client_ip_peer_is_a_proxy_only_when_inside_the_trusted_networks(peer: str, believed: bool) -> None:
    trusted = ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]
    seen = await _client_seen(peer, [(b"x-forwarded-for", b"203.0.113.5")], trusted)
    assert seen == (("203.0.113.5", 0) if believed else (peer, 40000))
