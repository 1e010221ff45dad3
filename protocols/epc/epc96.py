"""The shape every 96-bit EPC shares: header, filter, partition, company prefix.

A concrete scheme (SGTIN-96, SSCC-96, ...) is a frozen dataclass deriving from
:class:`Epc96`; it says how its fields after the company prefix are laid out in
binary and in the URI, and the base class does the rest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from protocols.epc.errors import EPCSyntaxError, FieldRangeError
from protocols.epc.fields import check_filter, decode_padded
from protocols.epc.partition import PartitionRow, PartitionTable
from protocols.epc.uri import parse_uri

EPC_BITS = 96
HEX_DIGITS = EPC_BITS // 4

Field = tuple[int, int]
"""A binary field: (value, width in bits)."""


class BitReader:
    """Reads fixed-width unsigned fields from a big-endian integer, left to right."""

    def __init__(self, value: int, width: int = EPC_BITS) -> None:
        self._value = value
        self._remaining = width

    def take(self, bits: int) -> int:
        self._remaining -= bits
        if self._remaining < 0:
            raise ValueError("read past the end of the EPC")
        return (self._value >> self._remaining) & ((1 << bits) - 1)


def parse_hex(text: str) -> int:
    """Parse 24 hex digits (either case, optional ``0x``) into a 96-bit integer."""
    digits = text.strip()
    if digits[:2].lower() == "0x":
        digits = digits[2:]
    if len(digits) != HEX_DIGITS or not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise EPCSyntaxError(f"EPC hex {text!r} is not {HEX_DIGITS} hexadecimal digits")
    return int(digits, 16)


@dataclass(frozen=True, kw_only=True)
class Epc96(ABC):
    """A 96-bit EPC. Subclasses add the fields after the company prefix."""

    NAME: ClassVar[str]
    """Binary scheme name, e.g. ``SGTIN-96``."""
    SCHEME: ClassVar[str]
    """Pure-identity URI scheme, e.g. ``sgtin``."""
    TAG_SCHEME: ClassVar[str]
    """Tag URI scheme, e.g. ``sgtin-96``."""
    HEADER: ClassVar[int]
    PARTITIONS: ClassVar[PartitionTable]
    URI_COMPONENTS: ClassVar[int]
    """How many dot-separated components follow the company prefix in a URI."""

    company_prefix: str
    filter: int = 0

    def __post_init__(self) -> None:
        check_filter(self.NAME, self.filter)
        self._validate(self.PARTITIONS.by_company_prefix(self.company_prefix))

    @abstractmethod
    def _validate(self, row: PartitionRow) -> None:
        """Check the scheme's own fields; ``row`` follows from the company prefix."""

    @abstractmethod
    def _binary_fields(self, row: PartitionRow) -> tuple[Field, ...]:
        """The binary fields after the company prefix, summing to the rest of 96 bits."""

    @classmethod
    @abstractmethod
    def _from_binary_fields(
        cls, reader: BitReader, row: PartitionRow, *, company_prefix: str, filter: int
    ) -> Self:
        """Read the fields after the company prefix."""

    @property
    @abstractmethod
    def uri_components(self) -> tuple[str, ...]:
        """The URI components after the company prefix."""

    @classmethod
    @abstractmethod
    def _from_uri_components(
        cls, components: Sequence[str], *, company_prefix: str, filter: int
    ) -> Self:
        """Build from URI components after the company prefix (already split)."""

    @property
    @abstractmethod
    def element_string(self) -> str:
        """The GS1 element string, application identifiers in brackets."""

    @property
    @abstractmethod
    def key_fields(self) -> dict[str, str | int]:
        """The scheme's own fields and GS1 key, e.g. ``gtin``, ``item_reference``, ``serial``."""

    # -- derived forms ---------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        """The pure-identity scheme name (``sgtin``, ``sscc``, ``grai``, ``giai``)."""
        return self.SCHEME

    @property
    def partition(self) -> int:
        return self.PARTITIONS.by_company_prefix(self.company_prefix).partition

    @property
    def uri(self) -> str:
        """Pure-identity URI, e.g. ``urn:epc:id:sgtin:0614141.812345.6789``."""
        return f"urn:epc:id:{self.SCHEME}:" + ".".join((self.company_prefix, *self.uri_components))

    @property
    def tag_uri(self) -> str:
        """Tag URI with the filter, e.g. ``urn:epc:tag:sgtin-96:3.0614141.812345.6789``."""
        parts = (str(self.filter), self.company_prefix, *self.uri_components)
        return f"urn:epc:tag:{self.TAG_SCHEME}:" + ".".join(parts)

    def to_int(self) -> int:
        row = self.PARTITIONS.by_company_prefix(self.company_prefix)
        fields: tuple[Field, ...] = (
            (self.HEADER, 8),
            (self.filter, 3),
            (row.partition, 3),
            (int(self.company_prefix), row.company_prefix_bits),
            *self._binary_fields(row),
        )
        value = 0
        width = 0
        for field, bits in fields:
            value = (value << bits) | field
            width += bits
        if width != EPC_BITS:  # pragma: no cover - a scheme definition bug
            raise AssertionError(f"{self.NAME} layout is {width} bits, not {EPC_BITS}")
        return value

    def to_hex(self) -> str:
        """The EPC as 24 upper-case hex digits, as LLRP and readers report it."""
        return f"{self.to_int():0{HEX_DIGITS}X}"

    def to_bytes(self) -> bytes:
        return self.to_int().to_bytes(EPC_BITS // 8, "big")

    def as_dict(self) -> dict[str, str | int]:
        """Every form of this EPC, for display or a JSON payload."""
        return {
            "hex": self.to_hex(),
            "uri": self.uri,
            "tag_uri": self.tag_uri,
            "scheme": self.scheme,
            "filter": self.filter,
            "partition": self.partition,
            "company_prefix": self.company_prefix,
            **self.key_fields,
            "element_string": self.element_string,
        }

    def __str__(self) -> str:
        return self.uri

    # -- parsing ---------------------------------------------------------------------------

    @classmethod
    def from_int(cls, value: int) -> Self:
        if not 0 <= value < 1 << EPC_BITS:
            raise EPCSyntaxError(f"EPC value {value!r} is not a 96-bit unsigned integer")
        reader = BitReader(value)
        header = reader.take(8)
        if header != cls.HEADER:
            raise FieldRangeError("header", f"0x{header:02X}", cls.NAME, f"0x{cls.HEADER:02X}")
        filter_value = reader.take(3)
        row = cls.PARTITIONS.by_partition(reader.take(3))
        company_prefix = decode_padded(
            cls.NAME,
            "company_prefix",
            reader.take(row.company_prefix_bits),
            row.company_prefix_digits,
        )
        return cls._from_binary_fields(
            reader, row, company_prefix=company_prefix, filter=filter_value
        )

    @classmethod
    def from_hex(cls, text: str) -> Self:
        return cls.from_int(parse_hex(text))

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        if len(data) != EPC_BITS // 8:
            raise EPCSyntaxError(f"EPC is {len(data)} bytes, a 96-bit EPC is {EPC_BITS // 8}")
        return cls.from_int(int.from_bytes(data, "big"))

    @classmethod
    def from_uri(cls, uri: str, *, filter: int = 0) -> Self:
        """Parse this scheme's pure-identity URI or tag URI.

        ``filter`` applies to a pure-identity URI, which carries none; a tag URI's
        own filter always wins.
        """
        parsed = parse_uri(uri)
        if parsed.scheme not in (cls.SCHEME, cls.TAG_SCHEME):
            raise EPCSyntaxError(
                f"URI {uri!r} is not a {cls.NAME} URI "
                f"(urn:epc:id:{cls.SCHEME}: or urn:epc:tag:{cls.TAG_SCHEME}:)"
            )
        if parsed.filter is not None:
            filter = parsed.filter
        return cls.from_uri_parts(parsed.components, filter=filter, uri=uri)

    @classmethod
    def from_uri_parts(cls, components: Sequence[str], *, filter: int, uri: str) -> Self:
        """Build from the dot-separated components of a URI after the scheme name."""
        if len(components) != 1 + cls.URI_COMPONENTS:
            raise EPCSyntaxError(
                f"{cls.NAME} URI {uri!r} has {len(components)} dot-separated components "
                f"after the scheme, expected {1 + cls.URI_COMPONENTS}"
            )
        company_prefix, *rest = components
        return cls._from_uri_components(rest, company_prefix=company_prefix, filter=filter)
