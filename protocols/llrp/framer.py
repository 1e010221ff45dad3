"""Cut a TCP byte stream into whole LLRP messages.

Bytes arrive in arbitrary pieces; :class:`LLRPFramer` keeps a partial message until
the rest arrives and hands out each complete frame (header included). A header
whose length field cannot be right (shorter than the header, or beyond
``max_message_length``) leaves no way to find the next message, so the framer
discards what it holds and raises :class:`LLRPDecodeError` naming the stream offset.
"""

from __future__ import annotations

from collections.abc import Iterator

from protocols.llrp.errors import LLRPDecodeError
from protocols.llrp.header import HEADER_LENGTH
from protocols.llrp.layout import Message, decode_message

DEFAULT_MAX_MESSAGE_LENGTH = 4 * 1024 * 1024


class LLRPFramer:
    def __init__(self, max_message_length: int = DEFAULT_MAX_MESSAGE_LENGTH) -> None:
        self._buffer = bytearray()
        self._consumed = 0
        self.max_message_length = max_message_length

    @property
    def buffered(self) -> int:
        """Bytes held that do not yet form a whole message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def pop(self) -> bytes | None:
        """The next whole message, or None until more bytes arrive."""
        if len(self._buffer) < HEADER_LENGTH:
            return None
        length = int.from_bytes(self._buffer[2:6], "big")
        if length < HEADER_LENGTH or length > self.max_message_length:
            offset = self._consumed + 2
            self._consumed += len(self._buffer)
            self._buffer.clear()
            raise LLRPDecodeError(
                offset,
                f"message length field {length} is impossible "
                f"(must be {HEADER_LENGTH}..{self.max_message_length}); buffered bytes dropped",
            )
        if len(self._buffer) < length:
            return None
        frame = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._consumed += length
        return frame

    def frames(self, data: bytes = b"") -> Iterator[bytes]:
        """Feed ``data`` and yield every whole message now available."""
        self.feed(data)
        while (frame := self.pop()) is not None:
            yield frame


def decode_stream(data: bytes) -> list[Message]:
    """Decode back-to-back messages filling ``data`` exactly (a capture file).

    Error offsets count from the start of ``data``.
    """
    framer = LLRPFramer(max_message_length=max(len(data), HEADER_LENGTH))
    messages: list[Message] = []
    start = 0
    for frame in framer.frames(data):
        try:
            messages.append(decode_message(frame))
        except LLRPDecodeError as exc:
            raise LLRPDecodeError(start + exc.offset, exc.problem) from None
        start += len(frame)
    if framer.buffered:
        raise LLRPDecodeError(
            start, f"truncated message: {framer.buffered} bytes left after the last whole one"
        )
    return messages
