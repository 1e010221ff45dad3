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

Replies are matched to commands by name: an MT-SICS reply starts with the name
of its command's reply (``S S ...`` answers ``S`` and ``SI``, ``Z A`` answers
``Z``, ``T S ...`` answers ``T``, ``I4 A ...`` answers ``I4`` and ``@``); the
general errors ``ES``, ``ET``, ``EL`` answer the oldest command still owed a
reply. A background task reads every line as it arrives. A line that answers
no command owed (an extra line in a reply, a line of another command) is
discarded with a warning, never taken as the answer to the next command. If a
caller gives up on a reply (timeout, cancellation), the command stays owed, and
its late answer is dropped when it arrives. (Two commands with the same reply
name, e.g. ``S`` given up and then ``SI``, cannot be told apart by a late line:
it goes to the older one, as the scale answers in order.)

A scale that answers nothing is reported as such (:class:`ScaleNoAnswerError`,
naming the scale, its address and the time waited), apart from one that keeps
answering that it is not at rest.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Self

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
    "ScaleNoAnswerError",
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


class ScaleNoAnswerError(ScaleTimeoutError):
    """The scale sent no answer at all to a command within the time allowed."""


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


_REPLY_HEAD: Final[dict[Command, ReplyHead]] = {
    Command.SEND_STABLE_WEIGHT: ReplyHead.WEIGHT,
    Command.SEND_WEIGHT_IMMEDIATELY: ReplyHead.WEIGHT,
    Command.ZERO: ReplyHead.ZERO,
    Command.ZERO_IMMEDIATELY: ReplyHead.ZERO_IMMEDIATELY,
    Command.TARE: ReplyHead.TARE,
    Command.SERIAL_NUMBER: ReplyHead.SERIAL_NUMBER,
    Command.RESET: ReplyHead.SERIAL_NUMBER,
}


def reply_name(line: bytes | OverlongLine) -> ReplyHead | ErrorCode | None:
    """The reply name a line starts with (``S``, ``ZI``, ``ES`` ...), None if none is known."""
    if isinstance(line, OverlongLine):
        line = line.head
    try:
        first = line.decode("ascii").split(maxsplit=1)[0]
    except (UnicodeDecodeError, IndexError):
        return None
    for name in (ReplyHead, ErrorCode):
        with contextlib.suppress(ValueError):
            return name(first)
    return None


@dataclass(slots=True)
class OwedCommand:
    """A command sent and not answered yet; ``answer`` is cancelled if its caller gave up."""

    command: Command
    answer: asyncio.Future[bytes | OverlongLine] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def answered_by(owed: collections.deque[OwedCommand], line: bytes | OverlongLine) -> int | None:
    """Which owed command ``line`` answers (its index in ``owed``), None for a stray line.

    A line named like a command's reply answers the oldest such command; a general error
    (``ES``/``ET``/``EL``) answers the oldest; a line with no known name is garbled and
    stands in the oldest command's reply (so that command gets an error, not a wait).
    """
    if not owed:
        return None
    name = reply_name(line)
    if name is None or isinstance(name, ErrorCode):
        return 0
    for index, entry in enumerate(owed):
        if _REPLY_HEAD[entry.command] is name:
            return index
    return None


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
        self._writer: asyncio.StreamWriter | None = None
        self._listener: asyncio.Task[None] | None = None
        self._lost: str | None = None
        self._owed: collections.deque[OwedCommand] = collections.deque()
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ connection

    @property
    def connected(self) -> bool:
        writer = self._writer
        return writer is not None and not writer.is_closing() and self._lost is None

    async def connect(self) -> None:
        if self.connected:
            return
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, self._writer = await asyncio.open_connection(self.host, self.port)
        except TimeoutError:
            raise ScaleConnectionError(
                f"scale {self.scale_id}: no connection to {self.host}:{self.port} "
                f"within {self.connect_timeout} s"
            ) from None
        except OSError as exc:
            raise ScaleConnectionError(
                f"scale {self.scale_id}: cannot connect to {self.host}:{self.port}: {exc}"
            ) from exc
        self._lost = None
        self._owed.clear()
        self._listener = asyncio.create_task(
            self._listen(reader), name=f"scale-{self.scale_id}-listen"
        )
        logger.info("scale %s: connected to %s:%d", self.scale_id, self.host, self.port)

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        self._fail_owed("connection closed")
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
        not_at_rest = False  # the scale has answered 'S I' during this call
        while True:
            try:
                reply = await self._request(Command.SEND_STABLE_WEIGHT, deadline)
            except ScaleNoAnswerError:
                if not_at_rest:  # alive, and still waiting for rest when time ran out
                    raise ScaleTimeoutError(self._not_stable(timeout)) from None
                raise ScaleNoAnswerError(
                    self._no_answer(Command.SEND_STABLE_WEIGHT, timeout)
                ) from None
            if isinstance(reply, WeightReply) and reply.stability is Stability.STABLE:
                return reply
            if isinstance(reply, StatusReply) and reply.status is Status.NOT_EXECUTABLE:
                not_at_rest = True
                if loop.time() + _RETRY_PAUSE_S < deadline:
                    await asyncio.sleep(_RETRY_PAUSE_S)
                    continue
                raise ScaleTimeoutError(self._not_stable(timeout))
            raise self._unexpected(Command.SEND_STABLE_WEIGHT, reply)

    def _not_stable(self, timeout: float) -> str:
        return (
            f"scale {self.scale_id}: weight not stable within {timeout:g} s "
            f"(the scale answered that it is not at rest ('S I'))"
        )

    def _no_answer(self, command: Command, waited_s: float) -> str:
        address = f"{self.host}:{self.port}"
        where = self.scale_id if self.scale_id == address else f"{self.scale_id} at {address}"
        return f"scale {where} sent no answer to {command.value!r} within {waited_s:g} s"

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
            if self._lost is not None:
                await self.close()
                raise ScaleConnectionError(
                    f"scale {self.scale_id}: connection lost before {command.value!r}: {self._lost}"
                )
            waited_s = round(max(0.0, deadline - asyncio.get_running_loop().time()), 3)
            owed = OwedCommand(command)
            self._owed.append(owed)  # from here on the scale owes a reply, whether we wait or not
            try:
                writer.write(encode_command(command))
                await writer.drain()
                async with asyncio.timeout_at(deadline):
                    line = await owed.answer
            except TimeoutError:
                raise ScaleNoAnswerError(self._no_answer(command, waited_s)) from None
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

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        """Read every line the scale sends and hand it to the command it answers."""
        framer = LineFramer()
        try:
            while True:
                data = await reader.read(_READ_CHUNK)
                if not data:
                    raise ConnectionResetError("closed by the scale")
                for line in framer.feed(data):
                    self._dispatch(line)
        except (ConnectionError, OSError) as exc:
            self._lost = str(exc) or type(exc).__name__
            self._fail_owed(self._lost)

    def _dispatch(self, line: bytes | OverlongLine) -> None:
        index = answered_by(self._owed, line)
        if index is None:
            waiting = ", ".join(repr(o.command.value) for o in self._owed) or "nothing"
            logger.warning(
                "scale %s: discarded a line that answers no command owed (%s): %r",
                self.scale_id,
                waiting,
                line if isinstance(line, OverlongLine) else line.decode("ascii", "replace"),
            )
            return
        for _ in range(index):  # older commands the scale will not answer any more
            skipped = self._owed.popleft()
            logger.debug("scale %s: %r got no reply", self.scale_id, skipped.command.value)
            skipped.answer.cancel()
        owed = self._owed.popleft()
        if owed.answer.done():
            logger.debug("scale %s: dropped late reply %r", self.scale_id, line)
        else:
            owed.answer.set_result(line)

    def _fail_owed(self, reason: str) -> None:
        while self._owed:
            answer = self._owed.popleft().answer
            if not answer.done():
                answer.set_exception(ConnectionResetError(reason))
