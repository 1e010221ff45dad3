"""GIAI-96: Global Individual Asset Identifier, the EPC of a fixed asset (forklift, reader)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Self

from protocols.epc.epc96 import BitReader, Epc96, Field
from protocols.epc.errors import EPCSyntaxError
from protocols.epc.fields import check_company_prefix_length, check_int, parse_integer
from protocols.epc.gs1 import expect_elements
from protocols.epc.partition import GIAI_96_PARTITIONS, PartitionRow, PartitionTable


@dataclass(frozen=True, kw_only=True)
class Giai96(Epc96):
    """A GIAI-96.

    ``asset_reference`` is an integer below ``2**bits``, where the number of bits
    follows from the company prefix length (42 bits with 12 digits, 62 with 6).
    """

    NAME: ClassVar[str] = "GIAI-96"
    SCHEME: ClassVar[str] = "giai"
    TAG_SCHEME: ClassVar[str] = "giai-96"
    HEADER: ClassVar[int] = 0x34
    PARTITIONS: ClassVar[PartitionTable] = GIAI_96_PARTITIONS
    URI_COMPONENTS: ClassVar[int] = 1

    asset_reference: int

    def _validate(self, row: PartitionRow) -> None:
        check_int(self.NAME, "asset_reference", self.asset_reference, _maximum(row))

    @property
    def giai(self) -> str:
        """The AI (8004) data: company prefix followed by the asset reference."""
        return f"{self.company_prefix}{self.asset_reference}"

    @property
    def key_fields(self) -> dict[str, str | int]:
        return {"giai": self.giai, "asset_reference": self.asset_reference}

    @property
    def element_string(self) -> str:
        return f"(8004){self.giai}"

    @property
    def uri_components(self) -> tuple[str, ...]:
        return (str(self.asset_reference),)

    def _binary_fields(self, row: PartitionRow) -> tuple[Field, ...]:
        return ((self.asset_reference, row.reference_bits),)

    @classmethod
    def _from_binary_fields(
        cls, reader: BitReader, row: PartitionRow, *, company_prefix: str, filter: int
    ) -> Self:
        return cls(
            company_prefix=company_prefix,
            asset_reference=reader.take(row.reference_bits),
            filter=filter,
        )

    @classmethod
    def _from_uri_components(
        cls, components: Sequence[str], *, company_prefix: str, filter: int
    ) -> Self:
        (asset_reference,) = components
        row = cls.PARTITIONS.by_company_prefix(company_prefix)
        return cls(
            company_prefix=company_prefix,
            asset_reference=parse_integer(
                cls.NAME, "asset_reference", asset_reference, _maximum(row)
            ),
            filter=filter,
        )

    @classmethod
    def from_giai(cls, giai: str, *, company_prefix_length: int, filter: int = 0) -> Self:
        """Build from the AI (8004) data; the caller says how long its company prefix is."""
        length = check_company_prefix_length(cls.NAME, company_prefix_length)
        if len(giai) <= length:
            raise EPCSyntaxError(
                f"giai {giai!r} must be a {length}-digit company prefix and an asset reference"
            )
        return cls.from_uri_parts(
            (giai[:length], giai[length:]), filter=filter, uri=f"(8004){giai}"
        )

    @classmethod
    def from_element_string(cls, text: str, *, company_prefix_length: int, filter: int = 0) -> Self:
        """Parse ``(8004)<company prefix><asset reference>``."""
        elements = expect_elements(text, ("8004",))
        return cls.from_giai(
            elements["8004"], company_prefix_length=company_prefix_length, filter=filter
        )


def _maximum(row: PartitionRow) -> int:
    return (1 << row.reference_bits) - 1
