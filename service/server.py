"""Running the app under hypercorn: bind, workers, graceful drain on SIGTERM/SIGINT."""
from __future__ import annotations

import logging
import shutil
import tempfile

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


def serve(settings: Settings) -> int:
    """Serve until a signal arrives; returns the exit code.

    Several workers share their metrics through prometheus-client's multiprocess
    files, in a directory made fresh for this start (stale files from an earlier
    run would otherwise be summed in) and removed at exit.
    """
    if settings.workers == 1:
        return hypercorn_run(hypercorn_config(settings))
    directory = tempfile.mkdtemp(prefix="ai-diy-metrics-")
    try:
        prepare_multiprocess_dir(directory)
        return hypercorn_run(hypercorn_config(settings))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
