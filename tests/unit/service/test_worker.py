"""The worker's event loop knows its open connections, so the drain can cut them at its deadline."""

from __future__ import annotations

import asyncio

from service.worker import DrainingLoop


def test_worker_loop_cuts_the_connections_still_open() -> None:
    async def scenario() -> tuple[int, int, bytes, int]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, DrainingLoop)

        async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the connection goes away
            writer.close()

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.05)
        open_before = len(loop.connections)  # the client's own connection is not a server's
        cut = loop.cut_connections()
        received = await asyncio.wait_for(reader.read(), 5)  # EOF: the server side is gone
        writer.close()
        server.close()
        await asyncio.sleep(0.05)
        return open_before, cut, received, len(loop.connections)

    with asyncio.Runner(loop_factory=DrainingLoop) as runner:
        assert runner.run(scenario()) == (1, 1, b"", 0)
