"""`GET /metrics` as a pure ASGI app, single- or multi-process.

Prometheus text by default; OpenMetrics when the Accept header asks for it
(`prometheus_client.exposition.choose_encoder`), which is the only format that
carries exemplars to Prometheus.

Several workers: call `prepare_multiprocess_dir(path)` in the parent before the
workers start. It wipes the directory and sets `PROMETHEUS_MULTIPROC_DIR`, which
prometheus-client reads when it is first imported in each (spawned) worker; every
metric value then lives in a per-worker file and `/metrics` aggregates them with
`MultiProcessCollector`. Process resources come from `WorkerProcessCollector`, one
series per worker with a `pid` label. The multiprocess files hold no exemplars: each
worker shares its own through `observability.exemplars`, and the scrape puts them back
on the histogram buckets (`ExemplarMerger`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import anyio.to_thread
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from .exemplars import MULTIPROC_ENV, ExemplarMerger
from .resources import WorkerProcessCollector, register_process_metrics, register_worker


def prepare_multiprocess_dir(path: str | Path) -> None:
    """Wipe `path` and point prometheus-client at it; call before workers start."""
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def multiprocess_dir() -> str | None:
    """The multiprocess directory when multiprocess mode is on, else None."""
    return os.environ.get(MULTIPROC_ENV) or None


class MetricsApp:
    """ASGI app answering any request with the exposition of `registry`.

    In multiprocess mode the app's registry is ignored for exposition (its metric
    values are in the shared files) and this worker registers its pid for the
    per-worker process metrics.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        namespace: str,
        process_metrics: bool = True,
        memory_budget: int | None = None,
    ) -> None:
        directory = multiprocess_dir()
        self._reads_files = directory is not None
        if directory is None:
            self.registry = registry
            if process_metrics:
                register_process_metrics(registry, namespace, memory_budget=memory_budget)
        else:
            self.registry = CollectorRegistry()
            # Every worker's values from the shared files, with every worker's exemplars.
            self.registry.register(ExemplarMerger(MultiProcessCollector(None, path=directory), directory))
            if process_metrics:
                register_worker(directory)
                self.registry.register(WorkerProcessCollector(directory, namespace, memory_budget=memory_budget))

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        accept = ""
        for name, value in scope["headers"]:
            if name == b"accept":
                accept = value.decode("latin-1")
                break
        encoder, content_type = choose_encoder(accept)
        if self._reads_files:
            # Collection reads every worker's files: keep that I/O off the loop.
            body = await anyio.to_thread.run_sync(encoder, self.registry)
        else:
            # In memory plus a few /proc reads: pure Python that holds the GIL, so a
            # worker thread would stall the loop just the same, and under load the
            # hop back costs more than the encoding (see ResourceSampler.recent).
            body = encoder(self.registry)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
