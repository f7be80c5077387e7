"""One-shot raw socket exchanges: send bytes exactly as given, read what comes back."""

from __future__ import annotations

import socket
import time


def exchange(port: int, payload: bytes, *, timeout: float = 10.0, half_close: bool = False) -> bytes:
    """Send `payload`, read until the server closes or `timeout`; returns everything read."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_until_closed(sock, timeout)[0]


def read_until_closed(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """Everything the server sends within `timeout`, and whether it closed the connection by then."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return b"".join(chunks), True
        except TimeoutError:
            break
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def responses_in(answer: bytes) -> int:
    """How many HTTP/1.1 status lines `answer` holds (0 when it does not start with one)."""
    return answer.count(b"HTTP/1.1 ") if answer.startswith(b"HTTP/1.1 ") else 0


def status_of(answer: bytes) -> int | None:
    """The status code of the first response in `answer`, or None when there is none."""
    if not answer.startswith(b"HTTP/1."):
        return None
    return int(answer.split(b" ", 2)[1])


def from_app(answer: bytes) -> bool:
    """True when the answer went through the service's middleware (security headers), not hypercorn alone."""
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    return b"x-content-type-options: nosniff" in head
