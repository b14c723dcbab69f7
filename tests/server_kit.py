"""Test servers: an ASGI app under uvicorn on 127.0.0.1 in a thread, for tests whose point is
real sockets (other processes, the gate's own HTTP client, a client hanging up mid-body).

uvicorn polls for its exit flag every 0.1 s and waits a fixed 0.1 s before it closes connections;
`Served` tells it to stop with an event and closes at once, which takes about 0.2 s off every
server a test starts and stops (hundreds per suite run).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

__all__ = ["Served", "bound_socket", "serve_app", "served_nothing"]

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


def bound_socket(port: int = 0) -> socket.socket:
    """A TCP socket bound to 127.0.0.1 (`port` 0: a free one), not yet listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    """uvicorn stopped by an event instead of its 0.1 s poll, without the fixed grace period."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop_requested = asyncio.Event()
        await super().startup(sockets)

    async def main_loop(self) -> None:
        await self.on_tick(0)  # sets the Date and Server headers
        await self.stop_requested.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # idle keep-alive connections close now, busy ones after
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                while self.server_state.connections or self.server_state.tasks:
                    await asyncio.sleep(0.005)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel()
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()

    def request_stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_requested.set)


class Served:
    """An ASGI app on 127.0.0.1 in a thread; `stop()` and `start()` again on the same port.

    The port (`port`, a free one by default, or that of a bound `sock`) is held from construction
    on, so nothing else on the machine can take it between choosing and serving."""

    def __init__(
        self, app: Any, port: int | None = None, *, sock: socket.socket | None = None
    ) -> None:
        self.app = app
        self._sock: socket.socket | None = sock or bound_socket(port or 0)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Served:
        sock = self._sock or bound_socket(self.port)
        self._sock = sock
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False)
        server = _Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                server.should_exit = True
                thread.join(STOP_TIMEOUT_S)
                self.close()
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.005)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving (the app's lifespan ends) and free the port."""
        if self._server is not None and self._thread is not None:
            self._server.request_stop()
            self._thread.join(STOP_TIMEOUT_S)
            self._server = self._thread = None
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


@contextmanager
def serve_app(app: Any, sock: socket.socket | None = None) -> Iterator[Served]:
    """`app` served on 127.0.0.1 for the block (on `sock`, or on a free port)."""
    served = Served(app, sock=sock).start()
    try:
        yield served
    finally:
        served.stop()


def served_nothing(app: Any, **_: Any) -> None:
    """Stands in for `uvicorn.run` in tests of a `serve` command: the service started up to
    serving; close what it opened."""
    state = app.state
    if hasattr(state, "runtime"):
        state.runtime.close()
    if hasattr(state, "service"):
        state.service.close()
        state.service.engine.dispose()
