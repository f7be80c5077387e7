"""SIGTERM while requests are in flight: they finish, the process exits 0, a restart is healthy."""
from __future__ import annotations

import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.net import wait_for
from tests.support.processes import running_service

from .loadgen import Result, load
from .probes import get, get_json

pytestmark = pytest.mark.integration

DRAIN = 8.0
BIG = 8 * 1024 * 1024
TOKEN = "reliability-token"


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _open_slow_download(port: int) -> tuple[socket.socket, bytes]:
    """GET the big document and read only the start: the rest waits in the server (backpressure)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    # A fixed, small receive buffer keeps most of the body in the server, not in the kernel.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.sendall(b"GET /api/appdocs/big.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "closed before the answer started"
        head += chunk
    return sock, head


def _finish_download(sock: socket.socket, head: bytes) -> tuple[int, int]:
    """Read the rest: (status, body bytes received)."""
    header, _, body = head.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    received = len(body)
    deadline = time.monotonic() + 30
    while received < BIG and time.monotonic() < deadline:
        chunk = sock.recv(256 * 1024)
        if not chunk:
            break
        received += len(chunk)
    sock.close()
    return status, received


def test_shutdown_sigterm_lets_slow_downloads_finish_and_exits_0(tmp_path) -> None:
    appdocs = tmp_path / "data" / "appdocs"
    appdocs.mkdir(parents=True)
    (appdocs / "big.txt").write_bytes(b"x" * BIG)
    with running_service(tmp_path, AI_DIY_DRAIN_TIMEOUT=str(DRAIN)) as (proc, base):
        port = _port(base)
        downloads = [_open_slow_download(port) for _ in range(6)]
        background = Result()

        def drive() -> None:
            background.merge(
                load(port, lambda c, s: ("GET", "/health", {}, b""), connections=16, duration=3.0, closed_ok=True)
            )

        thread = threading.Thread(target=drive)
        thread.start()
        time.sleep(1.0)
        signalled = time.monotonic()
        proc.signal(signal.SIGTERM)
        with ThreadPoolExecutor(len(downloads)) as pool:
            results = list(pool.map(lambda d: _finish_download(*d), downloads))
        thread.join(30)
        assert not thread.is_alive()
        code = proc.popen.wait(timeout=DRAIN + 10)
        exited_after = time.monotonic() - signalled
    assert [status for status, _ in results] == [200] * len(results)
    assert [received for _, received in results] == [BIG] * len(results)
    assert code == 0, proc.output()
    assert exited_after < DRAIN + 5
    # Requests answered during the drain were answered whole; the rest found the door closed.
    assert background.errors == [], background.errors[:5]
    assert background.server_errors == 0
    assert background.answered > 0
    # A restart on the same directories comes back healthy.
    with running_service(tmp_path) as (_, base):
        wait_for(lambda: get(f"{base}/health")[0] == 200, timeout=10, what="healthy after restart")
        assert get_json(f"{base}/health")[1]["status"] == "healthy"


def test_shutdown_sigterm_lets_a_slowly_sent_body_finish(tmp_path) -> None:
    body = b'{"note": "' + b"y" * 4000 + b'"}'
    with running_service(tmp_path, AI_DIY_DRAIN_TIMEOUT=str(DRAIN), AI_DIY_ADMIN_TOKEN=TOKEN) as (proc, base):
        port = _port(base)
        clients = []
        for i in range(4):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(
                f"PUT /api/appdocs/slow{i}.json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body[:100]
            )
            clients.append(sock)
        time.sleep(0.5)
        proc.signal(signal.SIGTERM)
        time.sleep(0.5)
        answers = []
        for sock in clients:
            sock.sendall(body[100:])
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            sock.close()
            answers.append(answer.split(b"\r\n", 1)[0])
        code = proc.popen.wait(timeout=DRAIN + 10)
    assert all(a.startswith(b"HTTP/1.1 201") for a in answers), answers
    assert code == 0, proc.output()
    for i in range(4):
        assert (tmp_path / "data" / "appdocs" / f"slow{i}.json").read_bytes() == body
