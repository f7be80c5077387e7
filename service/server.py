"""Running the app under hypercorn: bind, workers, graceful drain on SIGTERM/SIGINT."""
from __future__ import annotations

import logging
import os
import shutil
import tempfile

import prometheus_client

from hypercorn.config import Config as HypercornConfig
from hypercorn.run import run as hypercorn_run

from observability import prepare_multiprocess_dir
from service.settings import Settings

APPLICATION_PATH = "service.asgi:app"


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def hypercorn_config(settings: Settings) -> HypercornConfig:
    """Hypercorn's configuration derived from the service settings."""
    config = HypercornConfig()
    config.application_path = APPLICATION_PATH
    config.bind = [_bind(settings.host, settings.port)]
    if settings.metrics_port is not None:
        config.bind.append(_bind(settings.metrics_host, settings.metrics_port))
    # workers=0 serves in this very process (one PID to signal and watch); more
    # workers are spawned children sharing the listening socket.
    config.workers = 0 if settings.workers == 1 else settings.workers
    config.worker_class = "uvloop"
    # In-flight requests get this long to finish after SIGTERM/SIGINT.
    config.graceful_timeout = settings.drain_timeout
    config.include_server_header = False
    config.accesslog = None  # the service writes its own JSONL access line
    config.errorlog = logging.getLogger("hypercorn.error")
    config.h11_max_incomplete_size = 16 * 1024
    return config


CREATED_SERIES_ENV = "PROMETHEUS_DISABLE_CREATED_SERIES"


def configure_process() -> None:
    """Process-wide switches of the served service; `serve` applies them before starting.

    Drops prometheus-client's `_created` series: one more line for every counter
    and histogram child that no rule or dashboard reads, and a tenth of every
    scrape's encoding time. A process-wide switch, so it is thrown here, at the
    start of the service process, never by library code that others import. The
    variable reaches spawned workers; the call covers this process, which has
    imported prometheus-client already.
    """
    os.environ[CREATED_SERIES_ENV] = "True"
    prometheus_client.disable_created_metrics()


def serve(settings: Settings) -> int:
    """Serve until a signal arrives; returns the exit code.

    Several workers share their metrics through prometheus-client's multiprocess
    files, in a directory made fresh for this start (stale files from an earlier
    run would otherwise be summed in) and removed at exit.
    """
    configure_process()
    if settings.workers == 1:
        return hypercorn_run(hypercorn_config(settings))
    directory = tempfile.mkdtemp(prefix="ai-diy-metrics-")
    try:
        prepare_multiprocess_dir(directory)
        return hypercorn_run(hypercorn_config(settings))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
