"""The 10-byte LLRP message header.

Layout (LLRP 1.0.1 section 4.1): 3 reserved bits, a 3-bit protocol version (1),
a 10-bit message type, a 32-bit message length counting the header itself, and a
32-bit message id that a response repeats from its request.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from protocols.llrp.errors import LLRPDecodeError, LLRPEncodeError

HEADER_LENGTH = 10
LLRP_VERSION = 1
"""Version field value of LLRP 1.0.1 (LLRP 1.1 uses 2)."""
MAX_MESSAGE_ID = 0xFFFFFFFF

_HEADER = struct.Struct(">HII")


@dataclass(frozen=True, slots=True)
class MessageHeader:
    message_type: int
    length: int
    """Whole message length in bytes, header included."""
    message_id: int
    version: int = LLRP_VERSION


def encode_header(header: MessageHeader) -> bytes:
    if not 0 <= header.message_type < 1024:
        raise LLRPEncodeError("header", f"message type {header.message_type} is not 10 bits")
    if not HEADER_LENGTH <= header.length <= 0xFFFFFFFF:
        raise LLRPEncodeError("header", f"message length {header.length} out of range")
    if not 0 <= header.message_id <= MAX_MESSAGE_ID:
        raise LLRPEncodeError("header", f"message id {header.message_id} is not 32 bits")
    if not 0 <= header.version < 8:
        raise LLRPEncodeError("header", f"version {header.version} is not 3 bits")
    first = (header.version << 10) | header.message_type
    return _HEADER.pack(first, header.length, header.message_id)


def decode_header(data: bytes) -> MessageHeader:
    """Read the header at the start of ``data`` and check its version and length."""
    if len(data) < HEADER_LENGTH:
        raise LLRPDecodeError(len(data), f"truncated header: {len(data)} of {HEADER_LENGTH} bytes")
    first, length, message_id = _HEADER.unpack_from(data)
    version = (first >> 10) & 0x7
    if version != LLRP_VERSION:
        raise LLRPDecodeError(0, f"unsupported LLRP version {version} (expected {LLRP_VERSION})")
    if length < HEADER_LENGTH:
        raise LLRPDecodeError(
            2, f"message length {length} is shorter than the {HEADER_LENGTH}-byte header"
        )
    return MessageHeader(first & 0x3FF, length, message_id, version)
