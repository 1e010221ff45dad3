"""Talk MT-SICS to one scale over TCP.

::

    async with ScaleClient("10.0.4.21", 4001, scale_id="dock-3-scale") as scale:
        reading = await scale.stable_weight(timeout=10.0)
        print(reading.value, reading.unit)

One connection, one command in flight at a time (concurrent callers queue up).
Each command waits at most ``reply_timeout`` for its reply (``stable_weight`` takes
its own ``timeout``); wrap a call in ``asyncio.timeout`` to wait less.
Every failure is a :class:`ScaleError`; the connection is not re-established
here: reconnecting, and how often, is the caller's policy.

If a caller gives up on a reply (timeout, cancellation), the scale still owes
it; the client remembers how many replies are owed and drops them when they
arrive, so a late answer is never mistaken for the answer to a later command.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from types import TracebackType
from typing import Self

from protocols.mtsics import (
    Command,
    ErrorCode,
    ErrorReply,
    LineFramer,
    MalformedReplyError,
    OverlongLine,
    Reply,
    ReplyHead,
    SerialNumberReply,
    Stability,
    Status,
    StatusReply,
    TareReply,
    WeightReply,
    ZeroImmediateReply,
    decode_reply,
    encode_command,
)

__all__ = [
    "ScaleClient",
    "ScaleCommandError",
    "ScaleConnectionError",
    "ScaleError",
    "ScaleNotReadyError",
    "ScaleOverloadError",
    "ScaleProtocolError",
    "ScaleTimeoutError",
    "ScaleUnderloadError",
]

logger = logging.getLogger(__name__)

_READ_CHUNK = 4096
_RETRY_PAUSE_S = 0.05


class ScaleError(Exception):
    """Base of everything that can go wrong talking to a scale."""


class ScaleConnectionError(ScaleError):
    """Not connected, could not connect, or the connection was lost."""


class ScaleTimeoutError(ScaleError, TimeoutError):
    """No (usable) answer within the time allowed."""


class ScaleProtocolError(ScaleError):
    """The scale answered with something that is not MT-SICS or not an answer to the command."""


class ScaleCommandError(ScaleError):
    """The scale rejected the command: ``ES``, ``ET`` or ``EL``."""

    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message)
        self.code = code


class ScaleNotReadyError(ScaleError):
    """``<cmd> I``: understood but not executable now (busy, or no stability in time)."""


class ScaleOverloadError(ScaleError):
    """``<cmd> +``: overload, or the upper limit of the zero/tare range exceeded."""


class ScaleUnderloadError(ScaleError):
    """``<cmd> -``: underload, or the lower limit of the zero/tare range exceeded."""


_REPLY_HEAD: dict[Command, ReplyHead] = {
    Command.SEND_STABLE_WEIGHT: ReplyHead.WEIGHT,
    Command.SEND_WEIGHT_IMMEDIATELY: ReplyHead.WEIGHT,
    Command.ZERO: ReplyHead.ZERO,
    Command.ZERO_IMMEDIATELY: ReplyHead.ZERO_IMMEDIATELY,
    Command.TARE: ReplyHead.TARE,
    Command.SERIAL_NUMBER: ReplyHead.SERIAL_NUMBER,
    Command.RESET: ReplyHead.SERIAL_NUMBER,
}


class ScaleClient:
    """An MT-SICS connection to one scale; use as an async context manager."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        scale_id: str | None = None,
        connect_timeout: float = 5.0,
        reply_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.scale_id = scale_id or f"{host}:{port}"
        self.connect_timeout = connect_timeout
        self.reply_timeout = reply_timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._framer = LineFramer()
        self._lines: collections.deque[bytes | OverlongLine] = collections.deque()
        self._owed = 0
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ connection

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self) -> None:
        if self.connected:
            return
        try:
            async with asyncio.timeout(self.connect_timeout):
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except TimeoutError:
            raise ScaleConnectionError(
                f"scale {self.scale_id}: no connection to {self.host}:{self.port} "
                f"within {self.connect_timeout} s"
            ) from None
        except OSError as exc:
            raise ScaleConnectionError(
                f"scale {self.scale_id}: cannot connect to {self.host}:{self.port}: {exc}"
            ) from exc
        self._framer = LineFramer()
        self._lines.clear()
        self._owed = 0
        logger.info("scale %s: connected to %s:%d", self.scale_id, self.host, self.port)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        logger.info("scale %s: disconnected", self.scale_id)

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ commands

    async def stable_weight(self, timeout: float = 10.0) -> WeightReply:
        """The net weight once the platform is at rest (``S``).

        The scale answers ``S I`` when it gives up waiting for stability itself;
        the request is then repeated until ``timeout`` seconds have passed in all
        (a deadline spanning several requests, hence a parameter and not ``asyncio.timeout``).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                reply = await self._request(Command.SEND_STABLE_WEIGHT, deadline)
            except ScaleTimeoutError:
                raise ScaleTimeoutError(
                    f"scale {self.scale_id}: weight not stable within {timeout} s "
                    f"(the scale was still waiting for rest)"
                ) from None
            if isinstance(reply, WeightReply) and reply.stability is Stability.STABLE:
                return reply
            if isinstance(reply, StatusReply) and reply.status is Status.NOT_EXECUTABLE:
                if loop.time() + _RETRY_PAUSE_S < deadline:
                    await asyncio.sleep(_RETRY_PAUSE_S)
                    continue
                raise ScaleTimeoutError(
                    f"scale {self.scale_id}: weight not stable within {timeout} s"
                )
            raise self._unexpected(Command.SEND_STABLE_WEIGHT, reply)

    async def weight_immediately(self) -> WeightReply:
        """The net weight now (``SI``); ``stability`` says whether it is at rest."""
        reply = await self._request(Command.SEND_WEIGHT_IMMEDIATELY, self._deadline())
        if isinstance(reply, WeightReply):
            return reply
        raise self._unexpected(Command.SEND_WEIGHT_IMMEDIATELY, reply)

    async def zero(self) -> None:
        """Set zero once the platform is at rest (``Z``); clears the tare."""
        reply = await self._request(Command.ZERO, self._deadline())
        if reply == StatusReply(ReplyHead.ZERO, Status.EXECUTED):
            return
        raise self._unexpected(Command.ZERO, reply)

    async def zero_immediately(self) -> Stability:
        """Set zero now (``ZI``); tells whether the platform was at rest when it was done."""
        reply = await self._request(Command.ZERO_IMMEDIATELY, self._deadline())
        if isinstance(reply, ZeroImmediateReply):
            return reply.stability
        raise self._unexpected(Command.ZERO_IMMEDIATELY, reply)

    async def tare(self) -> TareReply:
        """Take the load at rest as tare (``T``); the reply carries the tare weight."""
        reply = await self._request(Command.TARE, self._deadline())
        if isinstance(reply, TareReply):
            return reply
        raise self._unexpected(Command.TARE, reply)

    async def serial_number(self) -> str:
        """The scale's serial number (``I4``)."""
        reply = await self._request(Command.SERIAL_NUMBER, self._deadline())
        if isinstance(reply, SerialNumberReply):
            return reply.serial
        raise self._unexpected(Command.SERIAL_NUMBER, reply)

    async def reset(self) -> str:
        """Reset the scale to its power-on state (``@``); returns its serial number."""
        reply = await self._request(Command.RESET, self._deadline())
        if isinstance(reply, SerialNumberReply):
            return reply.serial
        raise self._unexpected(Command.RESET, reply)

    # ------------------------------------------------------------------ plumbing

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.reply_timeout

    def _unexpected(self, command: Command, reply: Reply) -> ScaleError:
        """The exception for a reply that is not the success answer to ``command``."""
        where = f"scale {self.scale_id}: {command.value!r}"
        match reply:
            case ErrorReply(code=code):
                return ScaleCommandError(f"{where} rejected with {code.value}", code)
            case StatusReply(head=head, status=status) if head is _REPLY_HEAD[command]:
                text = f"{head.value} {status.value}"
                if status is Status.NOT_EXECUTABLE:
                    return ScaleNotReadyError(f"{where} not executable now ({text})")
                if status is Status.ABOVE_RANGE:
                    return ScaleOverloadError(f"{where} above range: overload ({text})")
                if status is Status.BELOW_RANGE:
                    return ScaleUnderloadError(f"{where} below range: underload ({text})")
        return ScaleProtocolError(f"{where} got an unexpected reply {reply!r}")

    async def _request(self, command: Command, deadline: float) -> Reply:
        async with self._lock:
            writer = self._writer
            if writer is None or writer.is_closing():
                raise ScaleConnectionError(f"scale {self.scale_id}: not connected")
            writer.write(encode_command(command))
            self._owed += 1  # from here on the scale owes a reply, whether we wait or not
            try:
                await writer.drain()
                while True:
                    line = await self._read_line(deadline)
                    self._owed -= 1
                    if self._owed == 0:
                        break
                    logger.debug("scale %s: dropped late reply %r", self.scale_id, line)
            except TimeoutError:
                raise ScaleTimeoutError(
                    f"scale {self.scale_id}: no reply to {command.value!r} in time"
                ) from None
            except (ConnectionError, OSError) as exc:
                await self.close()
                raise ScaleConnectionError(
                    f"scale {self.scale_id}: connection lost during {command.value!r}: {exc}"
                ) from exc
        if isinstance(line, OverlongLine):
            raise ScaleProtocolError(
                f"scale {self.scale_id}: {line.length}-byte reply to {command.value!r}"
            )
        try:
            reply = decode_reply(line)
        except MalformedReplyError as exc:
            raise ScaleProtocolError(f"scale {self.scale_id}: {exc}") from exc
        logger.debug("scale %s: %s -> %r", self.scale_id, command.value, reply)
        return reply

    async def _read_line(self, deadline: float) -> bytes | OverlongLine:
        reader = self._reader
        assert reader is not None
        async with asyncio.timeout_at(deadline):
            while not self._lines:
                data = await reader.read(_READ_CHUNK)
                if not data:
                    raise ConnectionResetError("closed by the scale")
                self._lines.extend(self._framer.feed(data))
        return self._lines.popleft()
