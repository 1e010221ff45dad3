"""GRAI-96: Global Returnable Asset Identifier, the EPC of a returnable pallet, crate or tote."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from protocols.epc.epc96 import BitReader, Epc96, Field
from protocols.epc.errors import EPCSyntaxError
from protocols.epc.fields import (
    check_company_prefix_length,
    check_digits,
    check_int,
    decode_padded,
    parse_integer,
)
from protocols.epc.gs1 import expect_elements, verify_check_digit, with_check_digit
from protocols.epc.partition import GRAI_96_PARTITIONS, PartitionRow, PartitionTable

SERIAL_BITS = 38
SERIAL_MAX = (1 << SERIAL_BITS) - 1
GRAI_KEY_DIGITS = 14
"""AI (8003) starts with a zero, then company prefix and asset type (12 digits), then a
check digit; the serial follows."""


@dataclass(frozen=True, kw_only=True)
class Grai96(Epc96):
    """A GRAI-96.

    ``asset_type`` has ``12 - len(company_prefix)`` digits (none with a 12-digit
    prefix); the GRAI-96 ``serial`` is an integer.
    """

    NAME: ClassVar[str] = "GRAI-96"
    SCHEME: ClassVar[str] = "grai"
    TAG_SCHEME: ClassVar[str] = "grai-96"
    HEADER: ClassVar[int] = 0x33
    PARTITIONS: ClassVar[PartitionTable] = GRAI_96_PARTITIONS
    URI_COMPONENTS: ClassVar[int] = 2

    asset_type: str
    serial: int

    def _validate(self, row: PartitionRow) -> None:
        check_digits(
            self.NAME,
            "asset_type",
            self.asset_type,
            row.reference_digits,
            f"with a {row.company_prefix_digits}-digit company_prefix",
        )
        check_int(self.NAME, "serial", self.serial, SERIAL_MAX)

    @property
    def grai(self) -> str:
        """The AI (8003) data: ``0``, company prefix, asset type, check digit, serial."""
        return with_check_digit("0" + self.company_prefix + self.asset_type) + str(self.serial)

    @property
    def key_fields(self) -> dict[str, str | int]:
        return {"grai": self.grai, "asset_type": self.asset_type, "serial": self.serial}

    @property
    def element_string(self) -> str:
        return f"(8003){self.grai}"

    @property
    def uri_components(self) -> tuple[str, ...]:
        return (self.asset_type, str(self.serial))

    def _binary_fields(self, row: PartitionRow) -> tuple[Field, ...]:
        return ((int(self.asset_type or "0"), row.reference_bits), (self.serial, SERIAL_BITS))

    @classmethod
    def _from_binary_fields(
        cls, reader: BitReader, row: PartitionRow, *, company_prefix: str, filter: int
    ) -> Self:
        asset_type = decode_padded(
            cls.NAME, "asset_type", reader.take(row.reference_bits), row.reference_digits
        )
        return cls(
            company_prefix=company_prefix,
            asset_type=asset_type,
            serial=reader.take(SERIAL_BITS),
            filter=filter,
        )

    @classmethod
    def _from_uri_components(
        cls, components: Sequence[str], *, company_prefix: str, filter: int
    ) -> Self:
        asset_type, serial = components
        return cls(
            company_prefix=company_prefix,
            asset_type=asset_type,
            serial=parse_integer(cls.NAME, "serial", serial, SERIAL_MAX),
            filter=filter,
        )

    @classmethod
    def from_grai(cls, grai: str, *, company_prefix_length: int, filter: int = 0) -> Self:
        """Build from the AI (8003) data; the caller says how long its company prefix is."""
        key, serial = grai[:GRAI_KEY_DIGITS], grai[GRAI_KEY_DIGITS:]
        if len(key) != GRAI_KEY_DIGITS or not key.startswith("0") or not serial:
            raise EPCSyntaxError(
                f"grai {grai!r} must be '0', 12 digits of company prefix and asset type, "
                "a check digit, then the serial"
            )
        verify_check_digit("grai", key)
        length = check_company_prefix_length(cls.NAME, company_prefix_length)
        return cls(
            company_prefix=key[1 : 1 + length],
            asset_type=key[1 + length : 13],
            serial=parse_integer(cls.NAME, "serial", serial, SERIAL_MAX),
            filter=filter,
        )

    @classmethod
    def from_element_string(cls, text: str, *, company_prefix_length: int, filter: int = 0) -> Self:
        """Parse ``(8003)0<company prefix><asset type><check digit><serial>``."""
        elements = expect_elements(text, ("8003",))
        return cls.from_grai(
            elements["8003"], company_prefix_length=company_prefix_length, filter=filter
        )
