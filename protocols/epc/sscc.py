"""SSCC-96: Serial Shipping Container Code, the EPC of a pallet or other logistic unit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from protocols.epc.epc96 import BitReader, Epc96, Field
from protocols.epc.errors import EPCSyntaxError, FieldRangeError
from protocols.epc.fields import check_company_prefix_length, check_digits, decode_padded
from protocols.epc.gs1 import expect_elements, verify_check_digit, with_check_digit
from protocols.epc.partition import SSCC_96_PARTITIONS, PartitionRow, PartitionTable

RESERVED_BITS = 24
SSCC_DIGITS = 18


@dataclass(frozen=True, kw_only=True)
class Sscc96(Epc96):
    """An SSCC-96.

    ``serial_reference`` is the extension digit followed by the serial
    reference, ``17 - len(company_prefix)`` digits in all, exactly as in the URI
    (``urn:epc:id:sscc:0614141.1234567890`` has serial reference ``"1234567890"``).
    """

    NAME: ClassVar[str] = "SSCC-96"
    SCHEME: ClassVar[str] = "sscc"
    TAG_SCHEME: ClassVar[str] = "sscc-96"
    HEADER: ClassVar[int] = 0x31
    PARTITIONS: ClassVar[PartitionTable] = SSCC_96_PARTITIONS
    URI_COMPONENTS: ClassVar[int] = 1

    serial_reference: str

    def _validate(self, row: PartitionRow) -> None:
        check_digits(
            self.NAME,
            "serial_reference",
            self.serial_reference,
            row.reference_digits,
            f"with a {row.company_prefix_digits}-digit company_prefix",
        )

    @property
    def sscc(self) -> str:
        """The 18-digit SSCC, check digit included."""
        extension, serial = self.serial_reference[:1], self.serial_reference[1:]
        return with_check_digit(extension + self.company_prefix + serial)

    @property
    def key_fields(self) -> dict[str, str | int]:
        return {"sscc": self.sscc, "serial_reference": self.serial_reference}

    @property
    def element_string(self) -> str:
        return f"(00){self.sscc}"

    @property
    def uri_components(self) -> tuple[str, ...]:
        return (self.serial_reference,)

    def _binary_fields(self, row: PartitionRow) -> tuple[Field, ...]:
        return ((int(self.serial_reference), row.reference_bits), (0, RESERVED_BITS))

    @classmethod
    def _from_binary_fields(
        cls, reader: BitReader, row: PartitionRow, *, company_prefix: str, filter: int
    ) -> Self:
        serial_reference = decode_padded(
            cls.NAME, "serial_reference", reader.take(row.reference_bits), row.reference_digits
        )
        reserved = reader.take(RESERVED_BITS)
        if reserved:
            raise FieldRangeError("reserved bits", f"0x{reserved:06X}", cls.NAME, "all zero")
        return cls(company_prefix=company_prefix, serial_reference=serial_reference, filter=filter)

    @classmethod
    def _from_uri_components(
        cls, components: Sequence[str], *, company_prefix: str, filter: int
    ) -> Self:
        (serial_reference,) = components
        return cls(company_prefix=company_prefix, serial_reference=serial_reference, filter=filter)

    @classmethod
    def from_sscc(cls, sscc: str, *, company_prefix_length: int, filter: int = 0) -> Self:
        """Build from the 18-digit SSCC; the caller says how long its company prefix is."""
        if not (isinstance(sscc, str) and sscc.isascii() and sscc.isdigit()):
            raise EPCSyntaxError(f"sscc {sscc!r} must be a string of decimal digits")
        if len(sscc) != SSCC_DIGITS:
            raise FieldRangeError("sscc", sscc, cls.NAME, f"exactly {SSCC_DIGITS} digits")
        verify_check_digit("sscc", sscc)
        length = check_company_prefix_length(cls.NAME, company_prefix_length)
        return cls(
            company_prefix=sscc[1 : 1 + length],
            serial_reference=sscc[0] + sscc[1 + length : 17],
            filter=filter,
        )

    @classmethod
    def from_element_string(cls, text: str, *, company_prefix_length: int, filter: int = 0) -> Self:
        """Parse ``(00)<SSCC-18>``."""
        elements = expect_elements(text, ("00",))
        return cls.from_sscc(
            elements["00"], company_prefix_length=company_prefix_length, filter=filter
        )
