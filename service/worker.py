"""One hypercorn worker: serve until asked to stop, then drain, and cut what is left at the deadline.

Hypercorn's own drain waits `graceful_timeout`, then cancels the connection tasks;
but a task blocked writing to a client that reads slowly, or not at all, finishes
its cancelled write by closing the connection, and a close waits for the unsent
data to leave. The process then outlives its drain by as long as that client
takes (forever for one that never reads), and asyncio logs each cancelled
connection as an ERROR. Here the event loop knows its open connections: at
`drain` seconds after the stop request it aborts the ones still open (their data
is dropped, the task wakes up and ends normally), before hypercorn's own
cancellation, which is left as a backstop.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Callable
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any, cast

import uvloop
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app

log = logging.getLogger("hypercorn.error")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How often a spawned worker looks at the supervisor's stop event.
STOP_POLL_INTERVAL = 0.05


class DrainingLoop(uvloop.Loop):
    """uvloop's event loop, remembering the transports its servers accepted so the drain can end on time."""

    def __init__(self) -> None:
        super().__init__()
        self.connections: set[asyncio.Transport] = set()

    async def create_server(
        self, protocol_factory: Callable[[], asyncio.BaseProtocol], *args: Any, **kwargs: Any
    ) -> Any:
        connections = self.connections
        # asyncio.start_server's factory makes a StreamReaderProtocol, an asyncio.Protocol.
        return await super().create_server(
            lambda: _Tracked(cast(asyncio.Protocol, protocol_factory()), connections), *args, **kwargs
        )

    def cut_connections(self) -> int:
        """Abort every connection still open; how many there were."""
        open_now = list(self.connections)
        for transport in open_now:
            transport.abort()
        return len(open_now)


class _Tracked(asyncio.Protocol):
    """A server connection's protocol that keeps its transport in the loop's set while it is open."""

    def __init__(self, inner: asyncio.Protocol, connections: set[asyncio.Transport]) -> None:
        self._inner = inner
        self._connections = connections
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A server's connections are stream transports: they can be aborted.
        self._transport = cast(asyncio.Transport, transport)
        self._connections.add(self._transport)
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._connections.discard(self._transport)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def run_worker(
    config: Config,
    sockets: Sockets,
    *,
    drain: float,
    stop_event: ProcessEvent | None = None,
    app: Any = None,
) -> None:
    """Serve `app` (the service's by default) on `sockets` until SIGTERM/SIGINT (or `stop_event`), then drain.

    `config.graceful_timeout` must be a little longer than `drain`: it is the backstop.
    """
    if app is None:
        from service.asgi import app  # noqa: PLC0415  # built here: a spawned worker process imports the app itself

    with asyncio.Runner(loop_factory=DrainingLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, DrainingLoop)  # noqa: S101  # narrows the type: the runner's loop_factory made it
        loop.set_exception_handler(_exception_handler)
        runner.run(
            worker_serve(
                wrap_app(app, config.wsgi_max_body_size, "asgi"),
                config,
                sockets=sockets,
                shutdown_trigger=lambda: _stop_requested(loop, drain, stop_event),
            )
        )
    skip_exit_collection()


def skip_exit_collection() -> None:
    """Leave the heap out of the interpreter's last garbage collection: call when all work is done.

    That collection walks the whole heap (0.2 s of CPU for a worker, 0.5 s for the
    supervisor on a busy machine) only to free memory the exit frees anyway; frozen
    objects are left out of it, so the exit stays within the drain's promise.
    Everything that must be flushed (logs, spans) was flushed by the app's lifespan.
    """
    gc.freeze()


async def _stop_requested(loop: DrainingLoop, drain: float, stop_event: ProcessEvent | None) -> None:
    """Return when a stop signal (or the supervisor's event) arrives, with the drain deadline armed."""
    stop = asyncio.Event()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    if stop_event is None:
        await stop.wait()
    else:
        while not (stop.is_set() or stop_event.is_set()):  # noqa: ASYNC110  # a process event cannot be awaited
            await asyncio.sleep(STOP_POLL_INTERVAL)
    log.info("Stopping: in-flight requests have %g s to finish", drain)
    loop.call_later(drain, _drain_deadline, loop)


def _drain_deadline(loop: DrainingLoop) -> None:
    cut = loop.cut_connections()
    if cut:
        log.warning("Drain deadline reached: %d connection(s) still open were closed", cut)


def _exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # A connection task cancelled by the drain is expected; asyncio's stream callback
    # reports it as an error all the same ("Exception in callback ... CancelledError").
    if isinstance(context.get("exception"), asyncio.CancelledError):
        log.info("A connection was cancelled at the end of the drain")
        return
    loop.default_exception_handler(context)
