"""`python -m bench.server_instructions`: instructions per request of each variant under hypercorn.

Each variant's server (`python -m bench.server`, exactly as the wrk runs serve it)
runs under `valgrind --tool=callgrind`, counting nothing until it has started and
answered a warm-up; then it counts while one keep-alive client sends the
requests (each from a new client address, as wrk does), and stops counting before
the server is stopped. The count covers every thread of the server process
(event loop, log writer, span export) and none of the client's. Unlike req/s, it
does not move with the rest of the machine's load, so two variants' counts compare
on a busy machine too: a CPU-bound server serves about count(bare) / count(variant)
times bare's requests per second.
"""

from __future__ import annotations

import argparse
import http.client
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .driver import bench_client
from .server import Server
from .workspace import create_workspace

_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)
JSON_ROUTES = ("/api/env", "/api/config/models")


def _send(port: int, paths: Sequence[str], start: int, count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        for i in range(start, start + count):
            connection.request("GET", paths[i % len(paths)], headers={"X-Forwarded-For": bench_client(i)})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{paths[i % len(paths)]} answered {response.status}")
    finally:
        connection.close()


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True, timeout=120)  # noqa: S603, S607  # valgrind's own tool, our server's pid


def count_server(variant: str, paths: Sequence[str], requests: int, warmup: int) -> float:
    """Instructions per request of `variant` under hypercorn (all the server's threads)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        space = create_workspace(Path(tmp) / "ws")
        wrapper = [valgrind, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
        server = Server(variant, space, timeout=600, wrapper=wrapper)
        try:
            _send(server.port, paths, 0, warmup)
            _control(server.popen.pid, "-i", "on")
            _send(server.port, paths, warmup, requests)
            _control(server.popen.pid, "-i", "off")
        finally:
            server.stop(timeout=120)
        match = _TOTALS.search(out.read_text(encoding="utf-8", errors="replace"))
        if match is None:
            raise RuntimeError(f"{variant}: no totals in the callgrind output")
        return int(match.group(1)) / requests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.server_instructions", description=__doc__)
    parser.add_argument("--variants", default="bare,bare_headers,full")
    parser.add_argument("--paths", default=",".join(JSON_ROUTES))
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args(argv)
    paths = [p for p in args.paths.split(",") if p]
    counts = {name: count_server(name, paths, args.requests, args.warmup) for name in args.variants.split(",")}
    base = counts.get("bare")
    print(f"{'variant':<18}{'instr/req':>12}{'x bare':>9}")
    for name, value in counts.items():
        ratio = f"{base / value:>9.2f}" if base else ""
        print(f"{name:<18}{value:>12.0f}{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
