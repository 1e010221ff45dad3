"""Run the cloud app under uvicorn as an async context manager.

``async with CloudServer(app, host, port) as server:`` returns once the app has
started (lifespan done, socket listening) with ``server.url`` set, and stops it
gracefully on exit. Signals are left to the caller: uvicorn's own handlers would
re-raise them after shutdown.

A WebSocket connection's kernel send buffer is fixed at :data:`WS_SEND_BUFFER`
(:class:`BoundedSendWebSocket`): left to autotuning it grows to megabytes, and a page
that reads slowly then goes on reading deltas that are seconds to minutes old from
the buffers while the server, whose writes still succeed, never sees it fall behind
(``docs/cloud.md``, *Live feed*).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from types import TracebackType

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

log = logging.getLogger(__name__)


class ServerError(RuntimeError):
    """The HTTP server did not start; the message says why (see the log above it)."""


WS_SEND_BUFFER = 256 * 1024
"""Bytes asked for a WebSocket connection's kernel send buffer (Linux doubles it): some
0.2 s of the live feed at 10,000 observations a second, ample for a page that keeps up
(loopback or LAN), small enough that one that does not is seen falling behind."""


class BoundedSendWebSocket(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol with a fixed kernel send buffer (:data:`WS_SEND_BUFFER`).
    Once it is full, uvicorn's own buffer fills and its sends wait, so the messages queued
    for a slow page age and the live hub drops it to a fresh snapshot."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, WS_SEND_BUFFER)
        super().connection_made(transport)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class CloudServer:
    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        *,
        access_log: bool = False,
        ws_compression: bool = False,
    ) -> None:
        """``ws_compression``: offer WebSocket clients permessage-deflate
        (``RFIDWMS_HTTP_WS_COMPRESSION``)."""
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=access_log,
            lifespan="on",
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            ws=BoundedSendWebSocket,
            ws_per_message_deflate=ws_compression,
        )
        self._server = _Server(self._config)
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    async def __aenter__(self) -> CloudServer:
        self._task = asyncio.create_task(self._server.serve(), name="uvicorn")
        while not self._server.started:
            if self._task.done():
                try:
                    self._task.result()
                except SystemExit:  # uvicorn exits when it cannot bind the port
                    pass
                raise ServerError(
                    f"HTTP server on {self._config.host}:{self._config.port} did not start"
                )
            await asyncio.sleep(0.02)
        sock = self._server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}/"
        return self

    async def wait(self) -> None:
        """Until the server stops by itself."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=15)
        except TimeoutError:
            log.warning("HTTP server did not stop within 15 s; forcing it")
            self._server.force_exit = True
            with contextlib.suppress(BaseException):
                await self._task
        self._task = None
