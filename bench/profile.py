"""Where the full stack's per-request time goes: a pyinstrument profile grouped by layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .driver import Caller, Lifespan, Probe
from .inprocess import Driver
from .variants import Built

# First match wins: a frame's own (self) time is charged to the layer of its file.
LAYERS: tuple[tuple[str, str], ...] = (
    ("/observability/middleware.py", "telemetry middleware (observability)"),
    ("/observability/metrics.py", "metrics recording (observability)"),
    ("/observability/routes.py", "route template lookup (observability)"),
    ("/observability/log", "log formatting/writing (observability)"),
    ("/observability/", "observability, other"),
    ("/service/security/rate_limit.py", "rate limit (service.security)"),
    ("/service/security/limiter.py", "rate limiter (service.security)"),
    ("/service/security/", "other security parts (service.security)"),
    ("/service/errors.py", "error boundary (service.errors)"),
    ("/service/middleware/", "edge middleware (service.middleware)"),
    ("/service/", "routes and handlers (service)"),
    ("/limits/", "limits library (rate-limit storage)"),
    ("/prometheus_client/", "prometheus_client"),
    ("/opentelemetry/", "OpenTelemetry SDK/API"),
    ("/starlette/", "Starlette (router, responses, threadpool)"),
    ("/anyio/", "anyio (threadpool hand-off)"),
    ("/logging/", "stdlib logging"),
    ("/json/", "stdlib json"),
    ("/asyncio/", "asyncio"),
    ("/bench/", "benchmark driver"),
)
OTHER = "other (stdlib, C calls)"


@dataclass
class Profile:
    """Self time per layer (share of the profiled time) and the rendered call tree."""

    requests: int
    total_s: float
    layers: list[tuple[str, float]]
    text: str

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "total_s": round(self.total_s, 3),
            "layers": [{"layer": name, "share": round(share, 4)} for name, share in self.layers],
        }


def _layer(path: str | None) -> str:
    if path:
        for needle, layer in LAYERS:
            if needle in path:
                return layer
    return OTHER


def _walk(frame: Any, totals: dict[str, float]) -> None:
    layer = _layer(frame.file_path)
    # total_self_time already includes the synthetic children ("[self]", "[await]").
    totals[layer] = totals.get(layer, 0.0) + frame.total_self_time
    for child in frame.children:
        if not child.is_synthetic:
            _walk(child, totals)


async def profile_requests(built: Built, mix: Sequence[Probe], *, requests: int, warmup: int) -> Profile:
    """Profile `requests` requests (after `warmup`) of one variant, flushing included."""
    from pyinstrument import Profiler

    lifespan = Lifespan(built.app)
    await lifespan.start()
    try:
        driver = Driver(built, Caller(built.app, lifespan_state=lifespan.state), mix)
        await driver.run(warmup)
        built.flush()
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        await driver.run(requests)
        built.flush()
        session = profiler.stop()
    finally:
        await lifespan.stop()
    root = session.root_frame()
    totals: dict[str, float] = {}
    if root is not None:
        _walk(root, totals)
    total = sum(totals.values()) or 1.0
    layers = sorted(((k, v / total) for k, v in totals.items()), key=lambda kv: -kv[1])
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    return Profile(requests, session.duration, layers, text)
