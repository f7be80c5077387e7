"""Running the app under hypercorn: bind, workers, and a drain that ends on time after SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

import prometheus_client
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets

from observability import prepare_multiprocess_dir
from observability.errors import ConfigError
from service.security.framing import HEAD_BUFFER_BYTES
from service.settings import Settings
from service.worker import run_worker, skip_exit_collection

APPLICATION_PATH = "service.asgi:app"
# Hypercorn cancels the connection tasks this long after the drain deadline, in case
# one is still busy once its connection has been cut (see service.worker).
CANCEL_BACKSTOP = 0.5
# After the drain, the workers get this long to stop their app (logs, traces) before
# the supervisor stops them for good: the whole stop stays within drain + 1 s.
WORKER_EXIT_GRACE = 0.9
# How often the supervisor looks for a stop signal while its workers serve.
STOP_CHECK_INTERVAL = 0.2
# How often serve looks whether hypercorn listens yet, to say so.
LISTEN_CHECK_INTERVAL = 0.02


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
    # In-flight requests get `drain_timeout` after SIGTERM/SIGINT; the worker cuts what
    # is left then, and hypercorn's own cancellation follows as a backstop.
    config.graceful_timeout = settings.drain_timeout + CANCEL_BACKSTOP
    config.include_server_header = False
    config.accesslog = None  # the service writes its own JSONL access line
    config.errorlog = logging.getLogger("hypercorn.error")
    # One read's worth, so a header block sent in pieces reaches the service's own
    # limit (service.security.framing.MAX_HEADER_BYTES) like one sent in one write.
    config.h11_max_incomplete_size = HEAD_BUFFER_BYTES
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


def bind_sockets(settings: Settings, config: HypercornConfig) -> Sockets:
    """The listening sockets, bound before anything starts; ConfigError naming the settings when one cannot be."""
    listeners = [("AI_DIY_HOST", "AI_DIY_PORT", settings.host, settings.port, config.bind[0])]
    if settings.metrics_port is not None:
        listeners.append(
            ("AI_DIY_METRICS_HOST", "AI_DIY_METRICS_PORT", settings.metrics_host, settings.metrics_port, config.bind[1])
        )
    bound: list[socket.socket] = []
    for host_setting, port_setting, host, port, address in listeners:
        try:
            bound.append(_listening_socket(host, port, reuse_port=config.workers > 1))
        except OSError as exc:
            for sock in bound:
                sock.close()
            reason = exc.strerror or str(exc)
            raise ConfigError(f"{host_setting}/{port_setting}: cannot listen on {address}: {reason}") from None
    return Sockets(secure_sockets=[], insecure_sockets=bound, quic_sockets=[])


def when_listening(sockets: Sockets, callback: Callable[[], None]) -> threading.Thread:
    """Call `callback` once every socket listens, from a thread of its own; returns that thread.

    Hypercorn listens on the sockets once the app has started (its lifespan), so a
    request sent from then on is answered. The kernel says when: SO_ACCEPTCONN, set by
    listen() in this process or in any worker sharing the socket. The thread ends then,
    or when the sockets are closed first (a start that failed).
    """

    def watch() -> None:
        try:
            while not all(
                sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) for sock in sockets.insecure_sockets
            ):
                time.sleep(LISTEN_CHECK_INTERVAL)
        except OSError:  # closed: the server stopped before it listened
            return
        callback()

    thread = threading.Thread(target=watch, name="announce-listening", daemon=True)
    thread.start()
    return thread


def _listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """One listening socket as hypercorn makes it, closed again when it cannot be bound.

    Hypercorn's own create_sockets leaves a socket it failed to bind open; here a
    refused address costs nothing, so the start-up check can try it and report.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if reuse_port:  # spawned workers share the one port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.setblocking(False)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def serve(settings: Settings, sockets: Sockets | None = None) -> int:
    """Serve on `sockets` (bound here when None) until a signal arrives; returns the exit code.

    ConfigError when a port cannot be bound.

    Several workers share their metrics through prometheus-client's multiprocess
    files, in a directory made fresh for this start (stale files from an earlier
    run would otherwise be summed in) and removed at exit.
    """
    configure_process()
    config = hypercorn_config(settings)
    if sockets is None:
        sockets = bind_sockets(settings, config)
    try:
        if settings.workers == 1:
            run_worker(config, sockets, drain=settings.drain_timeout)
            return 0
        directory = tempfile.mkdtemp(prefix="ai-diy-metrics-")
        try:
            prepare_multiprocess_dir(directory)
            return _supervise(config, sockets, workers=settings.workers, drain=settings.drain_timeout)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    finally:
        for sock in sockets.insecure_sockets:
            sock.close()
        skip_exit_collection()


def _supervise(config: HypercornConfig, sockets: Sockets, *, workers: int, drain: float) -> int:
    """Run `workers` spawned worker processes until a stop signal, or until one of them ends.

    A worker that ends on its own stops the others (the exit code is its own, or 1),
    so the service manager sees one failure and restarts the whole unit. After a
    stop request every worker drains within `drain` seconds; one still running
    `WORKER_EXIT_GRACE` later is killed.
    """
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    requested: list[float] = []  # when a stop signal arrived

    def request_stop(signum: int, _frame: object) -> None:
        requested.append(time.monotonic())
        stop.set()  # at once: each worker's drain deadline counts from here

    processes: list[BaseProcess] = [
        context.Process(target=run_worker, args=(config, sockets), kwargs={"drain": drain, "stop_event": stop})
        for _ in range(workers)
    ]
    signal.signal(signal.SIGTERM, request_stop)
    # Started with SIGINT ignored (kept across exec): a Ctrl-C that reaches the whole
    # process group while a worker still imports would otherwise end it with a
    # traceback. Each worker listens to SIGINT itself once it serves.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for process in processes:
        process.start()
    signal.signal(signal.SIGINT, request_stop)
    while not requested and all(process.is_alive() for process in processes):
        wait([process.sentinel for process in processes], timeout=STOP_CHECK_INTERVAL)
    stop.set()
    deadline = (requested[0] if requested else time.monotonic()) + drain + WORKER_EXIT_GRACE
    for process in processes:
        process.join(max(deadline - time.monotonic(), 0))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()
    # A worker ended by a signal has a negative exit code: a failure all the same.
    codes = [process.exitcode if (process.exitcode or 0) >= 0 else 1 for process in processes]
    if requested and not any(codes):
        return 0
    return next((code for code in codes if code), 1)
