"""Field kinds: how one field of an LLRP parameter or message looks on the wire.

LLRP 1.0.1 fields are big-endian integers, runs of bits packed most significant
bit first, counted arrays (a 16-bit count then the items), UTF-8 strings and byte
strings with a 16-bit byte count, and bit strings with a 16-bit *bit* count. Each
kind below knows how to write one value into a :class:`Writer` and read it back
from a :class:`Reader`; parameter and message classes list their fields as
``(name, kind)`` pairs (see :mod:`protocols.llrp.layout`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from protocols.llrp.errors import LLRPDecodeError, LLRPEncodeError


@dataclass(frozen=True, slots=True)
class BitString:
    """A field measured in bits (an EPC of any length, a tag mask)."""

    bit_length: int
    data: bytes

    def __post_init__(self) -> None:
        if len(self.data) != (self.bit_length + 7) // 8:
            raise ValueError(
                f"BitString of {self.bit_length} bits needs {(self.bit_length + 7) // 8} bytes, "
                f"got {len(self.data)}"
            )

    @classmethod
    def of_bytes(cls, data: bytes) -> BitString:
        """A bit string that uses every bit of ``data``."""
        return cls(len(data) * 8, bytes(data))


class Reader:
    """A cursor over a frame: ``pos`` is an absolute offset into ``data``, ``end`` a limit."""

    __slots__ = ("_bits", "_nbits", "data", "end", "pos")

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self._bits = 0
        self._nbits = 0

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def take(self, count: int, what: str) -> bytes:
        if count > self.end - self.pos:
            raise LLRPDecodeError(
                self.pos,
                f"{what} needs {count} bytes but only {self.end - self.pos} remain (truncated)",
            )
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def take_bits(self, count: int, what: str) -> int:
        while self._nbits < count:
            self._bits = (self._bits << 8) | self.take(1, what)[0]
            self._nbits += 8
        self._nbits -= count
        value = self._bits >> self._nbits
        self._bits &= (1 << self._nbits) - 1
        return value


class Writer:
    """An output buffer that also packs runs of bit fields."""

    __slots__ = ("_bits", "_nbits", "out")

    def __init__(self) -> None:
        self.out = bytearray()
        self._bits = 0
        self._nbits = 0

    def put_bits(self, value: int, count: int) -> None:
        self._bits = (self._bits << count) | value
        self._nbits += count
        while self._nbits >= 8:
            self._nbits -= 8
            self.out.append((self._bits >> self._nbits) & 0xFF)
        self._bits &= (1 << self._nbits) - 1


class Kind:
    """How one field is encoded. ``bit_width`` > 0 marks a bit-packed kind."""

    bit_width: int = 0
    fixed_size: int | None = None
    """Bytes on the wire when they do not depend on the value (None: variable)."""

    def encode(self, value: Any, w: Writer, where: str) -> None:
        raise NotImplementedError

    def decode(self, r: Reader, where: str) -> Any:
        raise NotImplementedError


def _require_int(value: Any, where: str) -> int:
    if not isinstance(value, int):
        raise LLRPEncodeError(where, f"expected an integer, got {value!r}")
    return value


class UInt(Kind):
    def __init__(self, size: int, signed: bool = False) -> None:
        self.size = size
        self.signed = signed
        self.fixed_size = size
        bits = size * 8
        self.low = -(1 << (bits - 1)) if signed else 0
        self.high = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def encode(self, value: Any, w: Writer, where: str) -> None:
        number = _require_int(value, where)
        if not self.low <= number <= self.high:
            raise LLRPEncodeError(
                where,
                f"value {number} outside {self.low}..{self.high} of its {self.size * 8}-bit field",
            )
        w.out += number.to_bytes(self.size, "big", signed=self.signed)

    def decode(self, r: Reader, where: str) -> Any:
        return int.from_bytes(r.take(self.size, where), "big", signed=self.signed)


U8 = UInt(1)
U16 = UInt(2)
U32 = UInt(4)
U64 = UInt(8)
S8 = UInt(1, signed=True)
S16 = UInt(2, signed=True)
S32 = UInt(4, signed=True)


class Bits(Kind):
    """An unsigned integer of ``width`` bits inside a packed run."""

    def __init__(self, width: int) -> None:
        self.bit_width = width

    def encode(self, value: Any, w: Writer, where: str) -> None:
        number = _require_int(value, where)
        if not 0 <= number < (1 << self.bit_width):
            raise LLRPEncodeError(where, f"value {number} does not fit in {self.bit_width} bits")
        w.put_bits(number, self.bit_width)

    def decode(self, r: Reader, where: str) -> Any:
        return r.take_bits(self.bit_width, where)


class Flag(Bits):
    """A one-bit boolean."""

    def __init__(self) -> None:
        super().__init__(1)

    def encode(self, value: Any, w: Writer, where: str) -> None:
        w.put_bits(1 if value else 0, 1)

    def decode(self, r: Reader, where: str) -> Any:
        return r.take_bits(1, where) == 1


FLAG = Flag()


class Reserved(Bits):
    """Bits the specification reserves: written as zero, ignored when read."""

    def encode(self, value: Any, w: Writer, where: str) -> None:
        w.put_bits(0, self.bit_width)

    def decode(self, r: Reader, where: str) -> Any:
        r.take_bits(self.bit_width, where)
        return None


class EnumOf(Kind):
    """An integer field (bytes or bits) whose values are an :class:`enum.IntEnum`."""

    def __init__(self, base: Kind, enum_type: type[enum.IntEnum]) -> None:
        self.base = base
        self.enum_type = enum_type
        self.bit_width = base.bit_width
        self.fixed_size = base.fixed_size

    def encode(self, value: Any, w: Writer, where: str) -> None:
        self.base.encode(int(value), w, where)

    def decode(self, r: Reader, where: str) -> Any:
        start = r.pos
        raw = self.base.decode(r, where)
        try:
            return self.enum_type(raw)
        except ValueError:
            raise LLRPDecodeError(
                start, f"{where}: value {raw} is not a known {self.enum_type.__name__}"
            ) from None


class Utf8(Kind):
    """A UTF-8 string preceded by its 16-bit byte count."""

    def encode(self, value: Any, w: Writer, where: str) -> None:
        if not isinstance(value, str):
            raise LLRPEncodeError(where, f"expected a string, got {value!r}")
        raw = value.encode("utf-8")
        U16.encode(len(raw), w, where + " (byte count)")
        w.out += raw

    def decode(self, r: Reader, where: str) -> Any:
        count = U16.decode(r, where)
        start = r.pos
        raw = r.take(count, where)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LLRPDecodeError(start + exc.start, f"{where}: invalid UTF-8") from None


class Blob(Kind):
    """Bytes preceded by their 16-bit count."""

    def encode(self, value: Any, w: Writer, where: str) -> None:
        if not isinstance(value, bytes | bytearray):
            raise LLRPEncodeError(where, f"expected bytes, got {value!r}")
        U16.encode(len(value), w, where + " (byte count)")
        w.out += value

    def decode(self, r: Reader, where: str) -> Any:
        return bytes(r.take(U16.decode(r, where), where))


class BitArray(Kind):
    """A :class:`BitString` preceded by its 16-bit bit count."""

    def encode(self, value: Any, w: Writer, where: str) -> None:
        if not isinstance(value, BitString):
            raise LLRPEncodeError(where, f"expected a BitString, got {value!r}")
        U16.encode(value.bit_length, w, where + " (bit count)")
        w.out += value.data

    def decode(self, r: Reader, where: str) -> Any:
        bit_length = U16.decode(r, where)
        return BitString(bit_length, bytes(r.take((bit_length + 7) // 8, where)))


class Array(Kind):
    """A 16-bit item count followed by that many integers of kind ``item``."""

    def __init__(self, item: UInt) -> None:
        self.item = item

    def encode(self, value: Any, w: Writer, where: str) -> None:
        if not isinstance(value, tuple | list):
            raise LLRPEncodeError(where, f"expected a tuple of integers, got {value!r}")
        U16.encode(len(value), w, where + " (count)")
        for index, item in enumerate(value):
            self.item.encode(item, w, f"{where}[{index}]")

    def decode(self, r: Reader, where: str) -> Any:
        count = U16.decode(r, where)
        raw = r.take(count * self.item.size, where)
        size = self.item.size
        signed = self.item.signed
        return tuple(
            int.from_bytes(raw[i : i + size], "big", signed=signed)
            for i in range(0, len(raw), size)
        )


class FixedBytes(Kind):
    """Exactly ``size`` bytes (an EPC-96)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.fixed_size = size

    def encode(self, value: Any, w: Writer, where: str) -> None:
        if not isinstance(value, bytes | bytearray) or len(value) != self.size:
            raise LLRPEncodeError(where, f"expected exactly {self.size} bytes, got {value!r}")
        w.out += value

    def decode(self, r: Reader, where: str) -> Any:
        return bytes(r.take(self.size, where))


class Rest(Kind):
    """Every remaining byte of the enclosing body (vendor payloads)."""

    def encode(self, value: Any, w: Writer, where: str) -> None:
        if not isinstance(value, bytes | bytearray):
            raise LLRPEncodeError(where, f"expected bytes, got {value!r}")
        w.out += value

    def decode(self, r: Reader, where: str) -> Any:
        return bytes(r.take(r.remaining, where))
