"""A small HTTP/1.1 keep-alive load generator on raw asyncio streams.

One asyncio task per connection; each sends a request, reads the whole response,
records it and sends the next one until the deadline or its request budget. On
two cores this drives 64 concurrent connections where an httpx client would spend
most of the CPU on itself, and it counts exactly what was sent and what came back.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# (method, target, extra headers, body) for connection `conn`, request number `seq`.
Request = tuple[str, str, dict[str, str], bytes]
Planner = Callable[[int, int], Request]


@dataclass
class Result:
    """What one load run saw: counts per status and per label, errors and latencies."""

    sent: int = 0
    answered: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_label: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # Connections the server closed before the first byte of an answer: allowed while
    # it shuts down (the request was never taken), unlike a truncated answer.
    closed_before_answer: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def median_latency(self) -> float:
        return statistics.median(self.latencies)

    def merge(self, other: Result) -> None:
        self.sent += other.sent
        self.answered += other.answered
        self.statuses.update(other.statuses)
        self.by_label.update(other.by_label)
        self.errors.extend(other.errors)
        self.closed_before_answer += other.closed_before_answer
        self.latencies.extend(other.latencies)


def encode(method: str, target: str, headers: dict[str, str], body: bytes, host: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("PUT", "POST"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one response (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    try:
        body = await _read_body(reader, headers)
    except asyncio.IncompleteReadError as exc:
        raise Truncated(f"status {status}: body cut after {len(exc.partial)} bytes") from None
    except ConnectionResetError:
        raise Truncated(f"status {status}: connection reset in the body") from None
    return status, headers, body


class Truncated(ValueError):
    """The answer started but did not end."""


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.read()
    return body


def label_of(target: str) -> str:
    """The first path segments of a target: a bounded name to count answers by."""
    path = target.split("?", 1)[0]
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:2])


async def _connection(
    host: str,
    port: int,
    conn: int,
    plan: Planner,
    deadline: float,
    budget: int | None,
    result: Result,
    response_timeout: float,
    closed_ok: bool,
) -> None:
    reader = writer = None
    seq = 0
    try:
        while time.monotonic() < deadline and (budget is None or seq < budget):
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            method, target, headers, body = plan(conn, seq)
            seq += 1
            started = time.perf_counter()
            writer.write(encode(method, target, headers, body, f"{host}:{port}"))
            result.sent += 1
            await writer.drain()
            assert reader is not None
            async with asyncio.timeout(response_timeout):
                status, response_headers, _ = await read_response(reader)
            result.latencies.append(time.perf_counter() - started)
            result.answered += 1
            result.statuses[status] += 1
            result.by_label[(label_of(target), status)] += 1
            if response_headers.get("connection", "").lower() == "close":
                writer.close()
                reader = writer = None
    except asyncio.IncompleteReadError as exc:
        if not exc.partial and closed_ok:
            result.closed_before_answer += 1
        else:
            result.errors.append(f"connection {conn} request {seq}: truncated answer after {len(exc.partial)} bytes")
    except (ConnectionRefusedError, ConnectionResetError) as exc:
        if closed_ok:
            result.closed_before_answer += 1
        else:
            result.errors.append(f"connection {conn} request {seq}: {type(exc).__name__}")
    except (OSError, ValueError) as exc:
        result.errors.append(f"connection {conn} request {seq}: {type(exc).__name__}: {exc}")
    finally:
        if writer is not None:
            writer.close()


async def run_load(
    port: int,
    plan: Planner,
    *,
    connections: int,
    duration: float,
    per_connection: int | None = None,
    host: str = "127.0.0.1",
    response_timeout: float = 10.0,
    closed_ok: bool = False,
) -> Result:
    """Drive `connections` keep-alive connections for `duration` seconds (or `per_connection` requests each)."""
    deadline = time.monotonic() + duration
    results = [Result() for _ in range(connections)]
    await asyncio.gather(
        *(
            _connection(host, port, i, plan, deadline, per_connection, results[i], response_timeout, closed_ok)
            for i in range(connections)
        )
    )
    total = Result()
    for item in results:
        total.merge(item)
    return total


def load(port: int, plan: Planner, **kwargs: Any) -> Result:
    """run_load on a fresh event loop (tests are synchronous)."""
    return asyncio.run(run_load(port, plan, **kwargs))


@contextmanager
def load_until_stopped(
    port: int, plan_for_round: Callable[[int], Planner], *, rounds: int, connections: int, duration: float
) -> Iterator[Result]:
    """Short load rounds on a thread for as long as the block runs (at most `rounds`).

    Each round gets its own plan (fresh client addresses), so the load spans a fault
    injected inside the block; the thread is stopped and joined when the block ends.
    """
    result = Result()
    stop = threading.Event()

    def drive() -> None:
        for round_number in range(rounds):
            if stop.is_set():
                return
            result.merge(load(port, plan_for_round(round_number), connections=connections, duration=duration))

    thread = threading.Thread(target=drive)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()
