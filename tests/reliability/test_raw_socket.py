"""Raw-socket abuse: malformed requests, huge headers, slowloris, clients that vanish mid-body.

The server answers each with a 4xx or closes the connection, keeps serving everyone
else, and logs none of it as a server error.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.processes import Process, running_service

from .probes import get, log_records, samples, server_errors
from .rawhttp import exchange, from_app, read_until_closed, responses_in, status_of

pytestmark = pytest.mark.integration

TOKEN = "reliability-token"
# Refused outright: a 4xx from hypercorn, or the connection closed.
MALFORMED = {
    "garbage-request-line": b"GARBAGE\r\n\r\n",
    "no-host": b"GET /health HTTP/1.1\r\n\r\n",
    "space-in-header-name": b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
    "bare-lf-and-cr": b"GET /health HTTP/1.1\rHost: x\r\n\n\r\n",
    "nul-in-target": b"GET /he\x00alth HTTP/1.1\r\nHost: x\r\n\r\n",
    "negative-content-length": b"POST /api/env HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "two-content-lengths": b"POST /api/env HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "bad-chunk-size": b"POST /api/env HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "huge-header": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64 * 1024 + b"\r\n\r\n",
    "huge-request-line": b"GET /" + b"a" * 64 * 1024 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
}
# Odd but parseable for h11 (it is lenient with versions and control bytes in values):
# answered by the service, never with a 5xx (3,000 headers: the service's 431).
TOLERATED = {
    "unknown-http-version": b"GET /health HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n",
    "control-in-header-value": b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-A: a\x01b\r\n\r\n",
    "many-headers": b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    + b"".join(b"X-H%d: v\r\n" % i for i in range(3000))
    + b"\r\n",
}


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


# The shared service's process, base URL and directory.
SharedService = tuple[Process, str, Path]


@pytest.fixture(scope="module")
def shared_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedService]:
    """One service for the malformed-request cases; each case looks only at what it added to the output."""
    root = tmp_path_factory.mktemp("raw")
    with running_service(root) as (proc, base):
        yield proc, base, root


@pytest.mark.parametrize("name", sorted(MALFORMED) + sorted(TOLERATED))
def test_raw_socket_malformed_request_is_refused_and_others_still_served(
    shared_service: SharedService, name: str
) -> None:
    proc, base, root = shared_service
    seen = len(proc.output())
    errors_before = len(server_errors("", root / "logs"))
    answer = exchange(_port(base), MALFORMED.get(name) or TOLERATED[name], timeout=10, half_close=True)
    status = status_of(answer)
    # Never a 5xx, never a hang; the malformed ones get a 4xx or a closed connection.
    if name in MALFORMED:
        assert status is None or 400 <= status < 500, answer[:300]
    else:
        assert status is not None and status < 500, answer[:300]
    assert get(f"{base}/health")[0] == 200
    time.sleep(0.3)  # let the log writer flush
    assert server_errors(proc.output()[seen:], root / "logs")[errors_before:] == []


def test_raw_socket_slowloris_is_cut_and_others_still_served(tmp_path: Path) -> None:
    with running_service(tmp_path) as (proc, base):
        port = _port(base)
        slow = []
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", port), timeout=1)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            slow.append(sock)
        closed = [False] * len(slow)
        deadline = time.monotonic() + 20
        # Trickle a header line every half second, as slowloris does, while others are served.
        while not all(closed) and time.monotonic() < deadline:
            assert get(f"{base}/health", timeout=5)[0] == 200
            for i, sock in enumerate(slow):
                if closed[i]:
                    continue
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                    sock.settimeout(0.01)
                    closed[i] = sock.recv(1024) == b""
                except TimeoutError:
                    pass
                except OSError:
                    closed[i] = True
            time.sleep(0.5)
        for sock in slow:
            sock.close()
        output = proc.output()
    # Hypercorn's keep-alive timeout ends a connection that never completes its request.
    assert all(closed), f"{closed.count(False)} slow connections still open"
    assert server_errors(output, tmp_path / "logs") == []


def test_raw_socket_client_vanishing_mid_body_is_no_server_error(tmp_path: Path) -> None:
    with running_service(tmp_path, AI_DIY_ADMIN_TOKEN=TOKEN) as (proc, base):
        port = _port(base)

        def vanish(i: int) -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(
                    f"PUT /api/appdocs/gone{i}.json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                    f"Content-Length: 100000\r\n\r\n".encode()
                    + b'{"partial": "'
                    + b"z" * 1000
                )
                time.sleep(0.2)
                if i % 2:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(vanish, range(16)))
        assert get(f"{base}/health")[0] == 200
        time.sleep(0.5)
        output = proc.output()
        counted = samples(base)
    # A client that leaves is not a server failure: no 500 in the histogram (it would
    # burn the availability SLO) and no ERROR line.
    server_errors_counted = sum(
        value
        for (name, labels), value in counted.items()
        if name == "http_server_request_duration_seconds_count"
        and dict(labels)["http_response_status_code"].startswith("5")
    )
    errors_logged = server_errors(output, tmp_path / "logs")
    assert (server_errors_counted, errors_logged[:1]) == (0, [])
    assert not list((tmp_path / "data" / "appdocs").glob("gone*")), "a half-received document was written"


# Each hides a second request behind a body whose end depends on which header is believed.
CONFLICTING_FRAMING = {
    "length-then-chunked": (
        b"POST /api/env HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    ),
    "chunked-then-length": (
        b"POST /api/env HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
    ),
    "mixed-case": b"POST /api/env HTTP/1.1\r\nHost: x\r\ntransfer-encoding: CHUNKED\r\nCONTENT-length: 4\r\n\r\n",
    "differing-lengths": b"POST /api/env HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(CONFLICTING_FRAMING))
def test_raw_socket_conflicting_framing_gets_400_and_nothing_after_it_is_served(
    shared_service: SharedService, name: str
) -> None:
    _proc, base, root = shared_service
    with socket.create_connection(("127.0.0.1", _port(base)), timeout=10) as sock:
        smuggled = f"GET /smuggled-{name} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        sock.sendall(CONFLICTING_FRAMING[name] + b"0\r\n\r\n" + smuggled)
        answer, closed = read_until_closed(sock, timeout=5)
    assert (status_of(answer), responses_in(answer), closed) == (400, 1, True), answer[:500]
    head, _, body = answer.partition(b"\r\n\r\n")
    if from_app(answer):
        # The pair h11 accepts is refused by the service: its JSON error, Connection: close.
        assert b"connection: close" in head.lower()
        assert json.loads(body)["error"]["code"] == "conflicting_framing"
    else:
        assert name == "differing-lengths"  # h11 refuses it itself (see docs/reliability.md)
    time.sleep(0.3)  # let the log writer flush
    assert not [r for r in log_records(root / "logs") if r.get("path") == f"/smuggled-{name}"]


@pytest.mark.parametrize(
    "declared", [b"Content-Length: 10\r\n", b""], ids=["small-declared-length", "no-declared-length"]
)
def test_raw_socket_chunked_body_refused_before_it_is_all_sent(tmp_path: Path, declared: bytes) -> None:
    """A chunked upload is answered while most of it is still unsent: its size was counted, not taken on trust."""
    limit, chunk = 100_000, b"z" * 16384
    with running_service(tmp_path, AI_DIY_ADMIN_TOKEN=TOKEN, AI_DIY_MAX_REQUEST_BYTES=str(limit)) as (_proc, base):
        with socket.create_connection(("127.0.0.1", _port(base)), timeout=10) as sock:
            sock.sendall(
                f"PUT /api/appdocs/upload.txt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n".encode()
                + declared
                + b"Transfer-Encoding: chunked\r\n\r\n"
            )
            # Just past the limit, of a body meant to be 3 MiB: the server reads all of this.
            for _ in range(limit // len(chunk) + 1):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            answer, closed = read_until_closed(sock, timeout=5)
        counted = samples(base)
    expected = (400, "suspicious_input") if declared else (413, "request_too_large")
    assert (status_of(answer), closed, from_app(answer)) == (expected[0], True, True), answer[:500]
    assert counted[("ai_diy_security_events_total", (("event", expected[1]), ("severity", "warning")))] == 1
    assert not (tmp_path / "data" / "appdocs" / "upload.txt").exists()


# RFC 9112 §6.1: a transfer coding the server does not implement is a 501, the one 5xx hypercorn writes itself.
UNSUPPORTED_CODING = b"POST /api/env HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"


# Header blocks over the service's limit (16 KiB) that fit in one read of the server.
OVERSIZED_HEADS = {
    "1000-headers": b"".join(b"X-Header-%04d: %s\r\n" % (i, b"v" * 12) for i in range(1000)),
    "60-KiB-user-agent": b"User-Agent: " + b"u" * 60 * 1024 + b"\r\n",
    "60-KiB-cookie": b"Cookie: session=" + b"c" * 60 * 1024 + b"\r\n",
}


# A head over the server's own buffer for an incomplete head (64 KiB), sent in pieces.
HEAD_OVER_BUFFER = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 96 * 1024 + b"\r\n\r\n"


def _send_in_pieces(port: int, payload: bytes, pieces: int, timeout: float = 10) -> tuple[bytes, bool]:
    """Send `payload` in `pieces` writes a little apart (each its own TCP segment); (answer, closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        size = -(-len(payload) // pieces)
        for start in range(0, len(payload), size):
            try:
                sock.sendall(payload[start : start + size])
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed before the end: read what it said
            if pieces > 1:
                time.sleep(0.005)
        return read_until_closed(sock, timeout=timeout)


def _shape(answer: bytes) -> tuple[int | None, list[bytes], bytes]:
    """Status, header names and body of an answer (the date aside, which changes)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    names = sorted(line.split(b":", 1)[0].lower() for line in head.split(b"\r\n")[1:])
    return status_of(answer), names, body


@pytest.mark.parametrize("name", sorted(OVERSIZED_HEADS))
def test_raw_socket_header_block_over_limit_gets_the_same_431_in_one_write_or_in_pieces(
    shared_service: SharedService, name: str
) -> None:
    _, base, _ = shared_service
    payload = b"GET /api/env HTTP/1.1\r\nHost: x\r\n" + OVERSIZED_HEADS[name] + b"\r\n"
    assert 16 * 1024 < len(payload) < 64 * 1024
    at_once, _ = _send_in_pieces(_port(base), payload, 1)
    in_pieces, _ = _send_in_pieces(_port(base), payload, 64)
    assert _shape(at_once) == _shape(in_pieces), (at_once[:400], in_pieces[:400])
    status, _, body = _shape(at_once)
    assert status == 431 and from_app(at_once), at_once[:400]
    assert json.loads(body)["error"]["code"] == "request_headers_too_large"
    assert get(f"{base}/health")[0] == 200


@pytest.mark.parametrize(
    ("payload", "pieces", "status"),
    [(MALFORMED["garbage-request-line"], 1, 400), (HEAD_OVER_BUFFER, 96, 431), (UNSUPPORTED_CODING, 1, 501)],
    ids=["garbage-request-line", "huge-header-in-pieces", "unsupported-transfer-encoding"],
)
def test_raw_socket_errors_hypercorn_writes_itself_are_bodiless_and_close(
    shared_service: SharedService, payload: bytes, pieces: int, status: int
) -> None:
    """What docs/reliability.md says of them: hypercorn's fixed shape, which neither the app
    nor its configuration can change. A head over the server's buffer (64 KiB) is one of
    them when it arrives in pieces; in one write it reaches the service's own 431."""
    _, base, _ = shared_service
    answer, closed = _send_in_pieces(_port(base), payload, pieces, timeout=5)
    head, _, body = answer.partition(b"\r\n\r\n")
    _status_line, *header_lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in header_lines)
    assert (status_of(answer), closed, body) == (status, True, b""), answer[:300]
    assert sorted(headers) == [b"connection", b"content-length", b"date"]
    assert (headers[b"content-length"], headers[b"connection"]) == (b"0", b"close")
