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
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def status_of(answer: bytes) -> int | None:
    """The status code of the first response in `answer`, or None when there is none."""
    if not answer.startswith(b"HTTP/1."):
        return None
    return int(answer.split(b" ", 2)[1])


def from_app(answer: bytes) -> bool:
    """True when the answer went through the service's middleware (security headers), not hypercorn alone."""
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    return b"x-content-type-options: nosniff" in head
