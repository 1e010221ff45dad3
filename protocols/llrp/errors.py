"""Exceptions raised by the LLRP codec."""

from __future__ import annotations


class LLRPError(Exception):
    """Base class of every error the LLRP codec raises."""


class LLRPDecodeError(LLRPError):
    """Bytes that are not a well-formed LLRP message.

    ``offset`` is the position of the offending byte counted from the start of the
    buffer handed to the decoder (for a framed message: from its first header byte).
    """

    def __init__(self, offset: int, problem: str) -> None:
        super().__init__(f"at byte offset {offset}: {problem}")
        self.offset = offset
        self.problem = problem


class LLRPEncodeError(LLRPError):
    """A message or parameter whose field values cannot be put on the wire."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
