"""`python -m bench.components`: the CPU cost of each middleware component, one at a time.

Each component is put alone in front of the same leaf app (a Starlette router with
one JSON route) and driven in process by the hand-written ASGI caller, every
request from a new client address behind the trusted proxy 127.0.0.1 (as wrk
sends them). What a component adds is its time per request minus the leaf's.

Two measures:

- microseconds (`--repetitions` interleaved batches, median): quick, but a busy
  machine moves them;
- instructions per request (`--callgrind`): each component runs in its own process
  under `valgrind --tool=callgrind`, instrumented only while its requests run. The
  count does not depend on what else the machine does, so it is what decisions
  are taken on; µs ≈ instructions / (instructions per µs of the machine).

Background work (span export, the log writer) is included: the batch is flushed
before the clock stops or the instrumentation ends.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .driver import Caller, Probe, bench_client

LEAF_PATH = "/api/env"
PROXY = "127.0.0.1"
_PROBE = Probe("GET", LEAF_PATH)
_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)


async def _leaf_endpoint(request: Request) -> JSONResponse:
    return JSONResponse({"environment": "bench", "version": "0"})


@dataclass
class Stack:
    """One component in front of the leaf app, and how to finish its background work."""

    app: Any
    flushers: list[Callable[[], object]] = field(default_factory=list)
    # Whether the component reads the client from X-Forwarded-For (else the peer is the client).
    behind_proxy: bool = False

    def flush(self) -> None:
        for flush in self.flushers:
            flush()


def _leaf(middleware: Sequence[Middleware] = ()) -> Starlette:
    return Starlette(routes=[Route(LEAF_PATH, _leaf_endpoint)], middleware=list(middleware))


def _settings() -> Any:
    from service.settings import load_settings

    root = Path(tempfile.mkdtemp(prefix="bench-components-"))
    return load_settings(
        env_file=None,
        data_dir=root / "data",
        log_dir=root / "logs",
        models_config=root / "models.json",
        trusted_proxies=PROXY,
        resource_log_interval=0,
    )


def _limiter(settings: Any) -> Any:
    from service.security.events import SecurityEvents
    from service.security.limiter import RateLimiter

    return RateLimiter(settings.rate_limit, settings.rate_limit_storage, events=SecurityEvents(CollectorRegistry()))


def _tracing(ratio: float, stack: Stack, max_kept_per_second: int | None = None) -> Any:
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from observability.request_tracing import KeepPolicy, TailTracing
    from observability.tracing import new_tracer_provider

    from .variants import EncodingExporter

    provider = new_tracer_provider()
    provider.add_span_processor(BatchSpanProcessor(EncodingExporter()))
    stack.flushers.append(provider.force_flush)
    return TailTracing(provider, KeepPolicy(ratio, max_ratio_kept_per_second=max_kept_per_second), name="bench")


def _access_log(stack: Stack, settings: Any) -> logging.Logger:
    from observability.logging import active_sink, configure_logging

    if active_sink() is None:
        sink = configure_logging(settings.log_dir, "INFO", stderr=False, file_prefix="bench")
        stack.flushers.append(sink.flush)
    return logging.getLogger("bench.access")


def _telemetry(stack: Stack, settings: Any, **parts: Any) -> Stack:
    from observability.middleware import TelemetryMiddleware
    from observability.routes import RouteResolver

    stack.app = _leaf([Middleware(TelemetryMiddleware, route_resolver=RouteResolver(), **parts)])
    return stack


def build_component(name: str) -> Stack:
    """The leaf app with component `name` in front (see COMPONENTS)."""
    settings = _settings()
    stack = Stack(None)
    if name == "leaf":
        stack.app = _leaf()
    elif name == "telemetry_frame":
        _telemetry(stack, settings)
    elif name == "metrics":
        from observability.metrics import HttpMetrics

        _telemetry(stack, settings, metrics=HttpMetrics(CollectorRegistry(), namespace="bench"))
    elif name == "trace_context":
        _telemetry(stack, settings, tracing=_tracing(0.0, stack))
    elif name == "kept_span":
        _telemetry(stack, settings, tracing=_tracing(1.0, stack))
    elif name == "access_line":
        _telemetry(stack, settings, access_log=_access_log(stack, settings))
    elif name == "client_ip":
        from service.security.client_ip import ClientIPMiddleware

        stack.app = _leaf([Middleware(ClientIPMiddleware, trusted_proxies=settings.trusted_proxies)])
        stack.behind_proxy = True
    elif name == "headers":
        from service.security.headers import SecurityHeadersMiddleware

        stack.app = _leaf([Middleware(SecurityHeadersMiddleware)])
    elif name == "rate_limit":
        from service.security.rate_limit import RateLimitMiddleware

        stack.app = _leaf([Middleware(RateLimitMiddleware, limiter=_limiter(settings))])
    elif name == "body_limit":
        from service.security.body_limit import RequestSizeMiddleware

        limiter = _limiter(settings)
        stack.app = _leaf(
            [Middleware(RequestSizeMiddleware, max_bytes=settings.max_request_bytes, events=limiter.events)]
        )
    elif name == "error_boundary":
        from service.errors import ErrorBoundaryMiddleware

        stack.app = _leaf([Middleware(ErrorBoundaryMiddleware)])
    elif name in ("security", "full", "full_unkept"):
        from observability.metrics import HttpMetrics
        from observability.routes import RouteResolver
        from service.middleware import Telemetry, build_middleware

        telemetry = None
        if name != "security":
            telemetry = Telemetry(
                metrics=HttpMetrics(CollectorRegistry(), namespace="bench"),
                # Unkept: no trace kept, so no count moves with which requests the ratio picks.
                # The service's default cap on ratio-kept traces, as create_app applies it.
                tracing=_tracing(0.05 if name == "full" else 0.0, stack, settings.trace_max_kept_per_second or None),
                access_log=_access_log(stack, settings),
            )
        layers = build_middleware(settings, limiter=_limiter(settings), resolver=RouteResolver(), telemetry=telemetry)
        stack.app = _leaf(layers)
        stack.behind_proxy = True
    else:
        raise ValueError(f"unknown component {name!r}; known: {', '.join(COMPONENTS)}")
    return stack


COMPONENTS = (
    "leaf",
    "telemetry_frame",
    "access_line",
    "trace_context",
    "kept_span",
    "metrics",
    "client_ip",
    "rate_limit",
    "body_limit",
    "headers",
    "error_boundary",
    "security",
    "full",
    "full_unkept",
)


# Per-request budgets in µs under hypercorn (docs/performance.md, "CPU budget per
# component"): each component measured beyond the telemetry frame it runs in, or a sum.
BUDGETS: dict[str, tuple[tuple[str, ...], tuple[str, ...], float]] = {
    "access line": (("access_line",), ("telemetry_frame",), 10.0),
    "trace context (not kept)": (("trace_context",), ("telemetry_frame",), 8.0),
    "metrics": (("metrics",), ("telemetry_frame",), 12.0),
    "client IP + rate limit + body limit": (("client_ip", "rate_limit", "body_limit"), (), 20.0),
}


def budget_lines(added: dict[str, float], per_us: float) -> list[str]:
    """The budgets whose components were measured: [met]/[MISSED], value in µs (added / `per_us`)."""
    lines = []
    for what, (parts, minus, limit) in BUDGETS.items():
        if not all(name in added for name in (*parts, *minus)):
            continue
        value = (sum(added[name] for name in parts) - sum(added[name] for name in minus)) / per_us
        lines.append(f"  [{'met' if value <= limit else 'MISSED'}] {what}: {value:.1f} µs (want <= {limit:g})")
    return lines


async def _drive(stack: Stack, caller: Caller, start: int, count: int) -> None:
    forwarded = b"x-forwarded-for"
    proxied = stack.behind_proxy
    for i in range(start, start + count):
        client = bench_client(i)
        await caller.call(_PROBE, PROXY if proxied else client, ((forwarded, client.encode()),))


def _run(coro: Any) -> Any:
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


async def time_components(names: Sequence[str], requests: int, repetitions: int, warmup: int) -> dict[str, float]:
    stacks = {name: build_component(name) for name in names}
    callers = {name: Caller(stack.app) for name, stack in stacks.items()}
    sent = dict.fromkeys(names, 0)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:
        await _drive(stacks[name], callers[name], 0, warmup)
        stacks[name].flush()
        sent[name] = warmup
    order = list(names)
    for rep in range(repetitions):
        shift = rep % len(order)
        for name in order[shift:] + order[:shift]:
            begin = time.perf_counter_ns()
            await _drive(stacks[name], callers[name], sent[name], requests)
            stacks[name].flush()
            samples[name].append((time.perf_counter_ns() - begin) / 1000.0 / requests)
            sent[name] += requests
    for name, caller in callers.items():
        if set(caller.statuses) != {200}:
            raise RuntimeError(f"{name}: unexpected statuses {caller.statuses}")
    return {name: statistics.median(values) for name, values in samples.items()}


def _instrument(on: bool) -> None:
    """Switch callgrind's counting on or off for this process (it counts nothing in between)."""
    state = "on" if on else "off"
    subprocess.run(  # noqa: S603  # callgrind's own control tool and our pid, no shell
        ["callgrind_control", "-i", state, str(os.getpid())],  # noqa: S607  # found on PATH beside valgrind
        check=True,
        capture_output=True,
    )


def _callgrind_child(name: str, requests: int, warmup: int) -> None:
    """Inside valgrind: build, warm up, then count instructions over `requests` requests only."""
    stack = build_component(name)
    caller = Caller(stack.app)

    async def main() -> None:
        await _drive(stack, caller, 0, warmup)
        stack.flush()
        # Blocking on purpose: nothing else runs on this loop, and the switch must
        # happen exactly between the warm-up and the measured requests.
        _instrument(True)
        await _drive(stack, caller, warmup, requests)
        stack.flush()
        _instrument(False)

    _run(main())


def count_instructions(name: str, requests: int, warmup: int) -> float:
    """Instructions per request of component `name` (the whole process: every thread)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(  # noqa: S603  # valgrind and this module, no shell
            [
                valgrind,
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "bench.components",
                "--callgrind-child",
                name,
                "--requests",
                str(requests),
                "--warmup",
                str(warmup),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{name} under callgrind failed:\n{done.stderr[-3000:]}")
        match = _TOTALS.search(out.read_text(encoding="utf-8", errors="replace"))
        if match is None:
            raise RuntimeError(f"{name}: no totals in the callgrind output")
        return int(match.group(1)) / requests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.components", description=__doc__)
    parser.add_argument("--components", default=",".join(COMPONENTS), help="comma-separated subset")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--callgrind", action="store_true", help="instructions per request under callgrind")
    parser.add_argument(
        "--instructions-per-us",
        type=float,
        default=3300.0,
        help="the machine's rate, to state instruction counts as µs for the budgets (default: %(default)s)",
    )
    parser.add_argument("--callgrind-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.callgrind_child:
        _callgrind_child(args.callgrind_child, args.requests, args.warmup)
        return 0
    names = [n for n in args.components.split(",") if n]
    if "leaf" not in names:
        names.insert(0, "leaf")
    from service.server import configure_process

    configure_process()
    if args.callgrind:
        counts = {name: count_instructions(name, args.requests, args.warmup) for name in names}
        print(f"{'component':<18}{'instr/req':>12}{'added':>12}")
        for name, value in counts.items():
            print(f"{name:<18}{value:>12.0f}{value - counts['leaf']:>12.0f}")
        added = {name: value - counts["leaf"] for name, value in counts.items()}
        _print_budgets(budget_lines(added, args.instructions_per_us))
        return 0
    timed = _run(time_components(names, args.requests, args.repetitions, args.warmup))
    print(f"{'component':<18}{'µs/req':>10}{'added':>10}")
    for name, value in timed.items():
        print(f"{name:<18}{value:>10.2f}{value - timed['leaf']:>10.2f}")
    _print_budgets(budget_lines({name: value - timed["leaf"] for name, value in timed.items()}, 1.0))
    return 0


def _print_budgets(lines: list[str]) -> None:
    if lines:
        print("\nBudgets (µs per request)")
        print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
