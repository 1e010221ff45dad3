"""Partition tables of the GS1 EPC Tag Data Standard (TDS 2.x, section 14).

A 96-bit EPC splits a fixed number of bits between the GS1 Company Prefix and
the field that follows it. The 3-bit partition value says where the split is;
the table below maps it to bit and digit counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocols.epc.errors import FieldRangeError

COMPANY_PREFIX_DIGITS = range(6, 13)
"""A GS1 Company Prefix in a 96-bit EPC has 6 to 12 digits."""


@dataclass(frozen=True)
class PartitionRow:
    """One row of a partition table.

    ``reference_digits`` is the exact digit count of a zero-padded reference
    (item reference, serial reference, asset type), or the most digits an
    integer reference (GIAI asset reference) can have.
    """

    partition: int
    company_prefix_bits: int
    company_prefix_digits: int
    reference_bits: int
    reference_digits: int


class PartitionTable:
    """The partition table of one EPC scheme, looked up either way."""

    def __init__(self, scheme: str, rows: tuple[tuple[int, int, int, int], ...]) -> None:
        self.scheme = scheme
        self.rows = tuple(PartitionRow(p, *row) for p, row in enumerate(rows))
        self._by_digits = {row.company_prefix_digits: row for row in self.rows}

    def by_partition(self, partition: int) -> PartitionRow:
        """The row for a partition value read from a binary EPC."""
        if not 0 <= partition < len(self.rows):
            raise FieldRangeError("partition", partition, self.scheme, f"0..{len(self.rows) - 1}")
        return self.rows[partition]

    def by_company_prefix(self, company_prefix: str) -> PartitionRow:
        """The row for a GS1 Company Prefix (digit string), validating it."""
        if not (isinstance(company_prefix, str) and company_prefix.isascii()):
            raise FieldRangeError(
                "company_prefix", company_prefix, self.scheme, "a string of 6..12 digits"
            )
        row = self._by_digits.get(len(company_prefix))
        if row is None or not company_prefix.isdigit():
            raise FieldRangeError(
                "company_prefix", company_prefix, self.scheme, "a string of 6..12 digits"
            )
        return row


SGTIN_96_PARTITIONS = PartitionTable(
    "SGTIN-96",
    (
        (40, 12, 4, 1),
        (37, 11, 7, 2),
        (34, 10, 10, 3),
        (30, 9, 14, 4),
        (27, 8, 17, 5),
        (24, 7, 20, 6),
        (20, 6, 24, 7),
    ),
)
"""SGTIN: company prefix + indicator digit and item reference = 13 digits."""

SSCC_96_PARTITIONS = PartitionTable(
    "SSCC-96",
    (
        (40, 12, 18, 5),
        (37, 11, 21, 6),
        (34, 10, 24, 7),
        (30, 9, 28, 8),
        (27, 8, 31, 9),
        (24, 7, 34, 10),
        (20, 6, 38, 11),
    ),
)
"""SSCC: company prefix + extension digit and serial reference = 17 digits."""

GRAI_96_PARTITIONS = PartitionTable(
    "GRAI-96",
    (
        (40, 12, 4, 0),
        (37, 11, 7, 1),
        (34, 10, 10, 2),
        (30, 9, 14, 3),
        (27, 8, 17, 4),
        (24, 7, 20, 5),
        (20, 6, 24, 6),
    ),
)
"""GRAI: company prefix + asset type = 12 digits."""

GIAI_96_PARTITIONS = PartitionTable(
    "GIAI-96",
    (
        (40, 12, 42, 13),
        (37, 11, 45, 14),
        (34, 10, 48, 15),
        (30, 9, 52, 16),
        (27, 8, 55, 17),
        (24, 7, 58, 18),
        (20, 6, 62, 19),
    ),
)
"""GIAI-96: the individual asset reference is an integer below 2**reference_bits."""
