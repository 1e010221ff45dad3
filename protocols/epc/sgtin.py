"""SGTIN-96: Serialised Global Trade Item Number, the EPC of a case or item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from protocols.epc.epc96 import BitReader, Epc96, Field
from protocols.epc.errors import EPCSyntaxError, FieldRangeError
from protocols.epc.fields import (
    check_company_prefix_length,
    check_digits,
    check_int,
    decode_padded,
    parse_integer,
)
from protocols.epc.gs1 import expect_elements, verify_check_digit, with_check_digit
from protocols.epc.partition import SGTIN_96_PARTITIONS, PartitionRow, PartitionTable

SERIAL_BITS = 38
SERIAL_MAX = (1 << SERIAL_BITS) - 1
GTIN_DIGITS = 14


@dataclass(frozen=True, kw_only=True)
class Sgtin96(Epc96):
    """An SGTIN-96.

    ``item_reference`` is the indicator digit followed by the item reference,
    ``13 - len(company_prefix)`` digits in all, exactly as in the URI
    (``urn:epc:id:sgtin:0614141.812345.6789`` has item reference ``"812345"``).
    """

    NAME: ClassVar[str] = "SGTIN-96"
    SCHEME: ClassVar[str] = "sgtin"
    TAG_SCHEME: ClassVar[str] = "sgtin-96"
    HEADER: ClassVar[int] = 0x30
    PARTITIONS: ClassVar[PartitionTable] = SGTIN_96_PARTITIONS
    URI_COMPONENTS: ClassVar[int] = 2

    item_reference: str
    serial: int

    def _validate(self, row: PartitionRow) -> None:
        check_digits(
            self.NAME,
            "item_reference",
            self.item_reference,
            row.reference_digits,
            f"with a {row.company_prefix_digits}-digit company_prefix",
        )
        check_int(self.NAME, "serial", self.serial, SERIAL_MAX)

    @property
    def gtin(self) -> str:
        """The GTIN-14, check digit included."""
        indicator, item = self.item_reference[:1], self.item_reference[1:]
        return with_check_digit(indicator + self.company_prefix + item)

    @property
    def key_fields(self) -> dict[str, str | int]:
        return {"gtin": self.gtin, "item_reference": self.item_reference, "serial": self.serial}

    @property
    def element_string(self) -> str:
        return f"(01){self.gtin}(21){self.serial}"

    @property
    def uri_components(self) -> tuple[str, ...]:
        return (self.item_reference, str(self.serial))

    def _binary_fields(self, row: PartitionRow) -> tuple[Field, ...]:
        return ((int(self.item_reference), row.reference_bits), (self.serial, SERIAL_BITS))

    @classmethod
    def _from_binary_fields(
        cls, reader: BitReader, row: PartitionRow, *, company_prefix: str, filter: int
    ) -> Self:
        item_reference = decode_padded(
            cls.NAME, "item_reference", reader.take(row.reference_bits), row.reference_digits
        )
        return cls(
            company_prefix=company_prefix,
            item_reference=item_reference,
            serial=reader.take(SERIAL_BITS),
            filter=filter,
        )

    @classmethod
    def _from_uri_components(
        cls, components: Sequence[str], *, company_prefix: str, filter: int
    ) -> Self:
        item_reference, serial = components
        return cls(
            company_prefix=company_prefix,
            item_reference=item_reference,
            serial=parse_integer(cls.NAME, "serial", serial, SERIAL_MAX),
            filter=filter,
        )

    @classmethod
    def from_gtin(
        cls, gtin14: str, *, company_prefix_length: int, serial: int, filter: int = 0
    ) -> Self:
        """Build from a GTIN (14 digits; GTIN-8/12/13 are zero-padded) and a serial.

        The GTIN does not say how long its company prefix is, so the caller must.
        """
        gtin = _gtin14(cls.NAME, gtin14)
        length = check_company_prefix_length(cls.NAME, company_prefix_length)
        return cls(
            company_prefix=gtin[1 : 1 + length],
            item_reference=gtin[0] + gtin[1 + length : 13],
            serial=serial,
            filter=filter,
        )

    @classmethod
    def from_element_string(cls, text: str, *, company_prefix_length: int, filter: int = 0) -> Self:
        """Parse ``(01)<GTIN-14>(21)<serial>``."""
        elements = expect_elements(text, ("01", "21"))
        return cls.from_gtin(
            elements["01"],
            company_prefix_length=company_prefix_length,
            serial=parse_integer(cls.NAME, "serial", elements["21"], SERIAL_MAX),
            filter=filter,
        )


def _gtin14(scheme: str, gtin: str) -> str:
    if not (isinstance(gtin, str) and gtin.isascii() and gtin.isdigit()):
        raise EPCSyntaxError(f"gtin {gtin!r} must be a string of decimal digits")
    if len(gtin) not in (8, 12, 13, GTIN_DIGITS):
        raise FieldRangeError("gtin", gtin, scheme, "a GTIN of 8, 12, 13 or 14 digits")
    return verify_check_digit("gtin", gtin.zfill(GTIN_DIGITS))
