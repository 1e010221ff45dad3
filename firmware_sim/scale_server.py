"""A simulated MT-SICS scale on TCP: the thin shell around :class:`~firmware_sim.scale.Scale`.

::

    async with ScaleServer("scale-1", world, port=0) as server:
        print(server.port)   # clients connect to 127.0.0.1:<port>

Each client connection is served on its own: one reply per command, in order.
Commands that wait for stability (``S``, ``Z``, ``T``) are polled against the
scale model until it answers. Unknown commands get ``ES``, bad bytes ``ET``,
stray parameters ``EL``; nothing a client sends takes the server down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType
from typing import Self

from firmware_sim.scale import Scale, ScaleSpec
from firmware_sim.world_view import Clock, WeightSource
from protocols.mtsics import (
    CommandError,
    ErrorCode,
    ErrorReply,
    LineFramer,
    OverlongLine,
    Reply,
    decode_command,
    encode_reply,
)

__all__ = ["ScaleServer"]

logger = logging.getLogger(__name__)

_READ_CHUNK = 4096


class ScaleServer:
    """Serves one simulated scale over MT-SICS on TCP; use as an async context manager.

    ``model_or_source`` is either a ready :class:`Scale` (then ``clock`` and ``spec``
    must be left out: the scale has its own) or a :class:`WeightSource`, from which a
    scale is built with ``clock`` (default ``time.time``) and ``spec``.
    """

    def __init__(
        self,
        scale_id: str,
        model_or_source: Scale | WeightSource,
        clock: Clock | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        spec: ScaleSpec | None = None,
        poll_interval_s: float = 0.02,
    ) -> None:
        if isinstance(model_or_source, Scale):
            if model_or_source.scale_id != scale_id:
                raise ValueError(
                    f"scale_id {scale_id!r} does not match the scale's {model_or_source.scale_id!r}"
                )
            if clock is not None or spec is not None:
                raise ValueError("pass clock and spec to the Scale, not to a server given a Scale")
            self.scale = model_or_source
        else:
            self.scale = Scale(scale_id, model_or_source, clock or time.time, spec)
        if poll_interval_s <= 0:
            raise ValueError(f"poll_interval_s must be positive, got {poll_interval_s!r}")
        self.scale_id = scale_id
        self.host = host
        self._requested_port = port
        self._poll_interval_s = poll_interval_s
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful with ``port=0``)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError(f"scale server {self.scale_id} is not running")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError(f"scale server {self.scale_id} is already running")
        self._server = await asyncio.start_server(
            self._serve_connection, self.host, self._requested_port
        )
        logger.info(
            "scale %s: MT-SICS server listening on %s:%d", self.scale_id, self.host, self.port
        )

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await server.wait_closed()
        logger.info("scale %s: MT-SICS server stopped", self.scale_id)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ per connection

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername")
        logger.info("scale %s: client %s connected", self.scale_id, peer)
        framer = LineFramer()
        try:
            while True:
                data = await reader.read(_READ_CHUNK)
                if not data:
                    break
                for line in framer.feed(data):
                    reply = await self._answer(line, peer)
                    if reply is not None:
                        writer.write(encode_reply(reply))
                        await writer.drain()
        except (ConnectionError, OSError) as exc:
            logger.info("scale %s: client %s connection lost: %s", self.scale_id, peer, exc)
        except asyncio.CancelledError:
            # Only close() cancels these tasks. Ending normally keeps asyncio's stream
            # callback (which calls task.exception()) from logging a spurious error.
            logger.debug("scale %s: client %s dropped at shutdown", self.scale_id, peer)
        except Exception:
            logger.exception("scale %s: client %s: unexpected error", self.scale_id, peer)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            logger.info("scale %s: client %s disconnected", self.scale_id, peer)

    async def _answer(self, line: bytes | OverlongLine, peer: object) -> Reply | None:
        if isinstance(line, OverlongLine):
            logger.warning(
                "scale %s: client %s sent a %d-byte line starting %r: ET",
                self.scale_id,
                peer,
                line.length,
                line.head,
            )
            return ErrorReply(ErrorCode.TRANSMISSION)
        if not line.strip():
            return None  # an empty line is not a command; real terminals send them
        try:
            command = decode_command(line)
        except CommandError as exc:
            logger.warning(
                "scale %s: client %s: %s: %s", self.scale_id, peer, exc, exc.error_code.value
            )
            return exc.reply()
        started = self.scale.clock()
        while True:  # the scale model is polled: it says when it has become stable
            reply = self.scale.execute(command, started)
            if reply is not None:
                break
            await asyncio.sleep(self._poll_interval_s)
        logger.debug("scale %s: client %s: %s -> %s", self.scale_id, peer, command.value, reply)
        return reply
