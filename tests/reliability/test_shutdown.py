"""SIGTERM while requests are in flight: they finish, the process exits 0 within the drain, a restart is healthy."""

from __future__ import annotations

import re
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.net import wait_for
from tests.support.processes import running_service

from .loadgen import Result, load
from .probes import get, get_json, log_records, metric_sum, samples, server_errors

pytestmark = pytest.mark.integration

DRAIN = 8.0
BIG = 8 * 1024 * 1024
TOKEN = "reliability-token"


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def _open_slow_download(port: int, name: str = "big.txt") -> tuple[socket.socket, bytes]:
    """GET a document and read only the start: the rest waits in the server (backpressure)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    # A fixed, small receive buffer keeps most of the body in the server, not in the kernel.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.sendall(f"GET /api/appdocs/{name} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "closed before the answer started"
        head += chunk
    return sock, head


def _finish_download(
    sock: socket.socket, head: bytes, size: int = BIG, *, pause: float = 0.0, until: Callable[[], bool] = lambda: False
) -> tuple[int, int]:
    """Read the rest, in 4 KiB steps `pause` seconds apart until `until()`: (status, body bytes received).

    Stops at `size` bytes, when the server closes or resets the connection, or after 30 s.
    """
    header, _, body = head.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    received = len(body)
    deadline = time.monotonic() + 30
    while received < size and time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096 if pause and not until() else 256 * 1024)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += len(chunk)
        if pause and not until():
            time.sleep(pause)
    sock.close()
    return status, received


def test_shutdown_sigterm_lets_slow_downloads_finish_and_exits_0(tmp_path: Path) -> None:
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


def test_shutdown_sigterm_lets_a_slowly_sent_body_finish(tmp_path: Path) -> None:
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
        # SIGTERM only once the service is handling all four (the scrape is in flight too).
        wait_for(
            lambda: metric_sum(samples(base), "http_server_active_requests") >= len(clients) + 1,
            timeout=10,
            what="the four uploads in flight",
        )
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


SHORT_DRAIN = 2.0
MEDIUM = 1024 * 1024


@pytest.mark.parametrize("workers", ["1", "2"])
def test_shutdown_ends_within_the_drain_despite_clients_that_read_slowly_or_never(tmp_path: Path, workers: str) -> None:
    appdocs = tmp_path / "data" / "appdocs"
    appdocs.mkdir(parents=True)
    (appdocs / "big.txt").write_bytes(b"x" * BIG)
    (appdocs / "medium.txt").write_bytes(b"m" * MEDIUM)
    env = {"AI_DIY_DRAIN_TIMEOUT": str(SHORT_DRAIN), "AI_DIY_WORKERS": workers}
    with running_service(tmp_path, timeout=40, env=env) as (proc, base):
        port = _port(base)
        never = _open_slow_download(port)  # reads the head, then nothing
        slow = _open_slow_download(port)  # 4 KiB every 50 ms: 8 MiB would take minutes
        finishing = _open_slow_download(port, "medium.txt")  # reads the rest at full speed once stopped
        time.sleep(0.5)
        signalled = time.monotonic()
        proc.signal(signal.SIGTERM)
        with ThreadPoolExecutor(2) as pool:
            # After the process is gone it reads what the kernel still holds at full speed.
            cut_slow = pool.submit(_finish_download, *slow, pause=0.05, until=lambda: proc.popen.poll() is not None)
            whole = pool.submit(_finish_download, *finishing, MEDIUM)
            code = proc.popen.wait(timeout=SHORT_DRAIN + 10)
            exited_after = time.monotonic() - signalled
            # Only now does the never-reading client look at what it was sent.
            results = [_finish_download(*never), cut_slow.result(), whole.result()]
        output = proc.output()
    assert code == 0, output
    assert exited_after <= SHORT_DRAIN + 1.0, f"exited {exited_after:.2f} s after SIGTERM"
    # The download that could finish in the drain did, whole; the two that could not were cut.
    assert results[2] == (200, MEDIUM)
    assert [status for status, _ in results[:2]] == [200, 200]
    assert all(received < BIG for _, received in results[:2]), results
    # Cutting them is reported by each worker that had to, as a warning; nothing is an error.
    cut = [
        re.search(r"Drain deadline reached: (\d+) connection", r.get("message", ""))
        for r in log_records(tmp_path / "logs")
    ]
    assert sum(int(found[1]) for found in cut if found) == 2
    assert server_errors(output, tmp_path / "logs") == []
