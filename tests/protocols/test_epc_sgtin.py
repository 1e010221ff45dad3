"""SGTIN-96 against the GS1 Tag Data Standard worked example and other decoders."""

from __future__ import annotations

import pytest

from protocols.epc import CheckDigitError, FieldRangeError, Sgtin96, decode_epc

TDS_HEX = "3074257BF7194E4000001A85"
TDS_URI = "urn:epc:id:sgtin:0614141.812345.6789"
TDS_TAG_URI = "urn:epc:tag:sgtin-96:3.0614141.812345.6789"


def _bits(*fields: tuple[int, int]) -> str:
    """Independent packing of (value, width) fields into 24 hex digits."""
    text = "".join(format(value, f"0{width}b") for value, width in fields)
    assert len(text) == 96
    return f"{int(text, 2):024X}"


def test_tds_example_encodes_to_the_published_hex() -> None:
    tag = Sgtin96(company_prefix="0614141", item_reference="812345", serial=6789, filter=3)
    assert tag.to_hex() == TDS_HEX
    assert tag.uri == TDS_URI
    assert tag.tag_uri == TDS_TAG_URI


def test_tds_example_decodes_from_hex_with_every_field() -> None:
    tag = decode_epc(TDS_HEX)
    assert isinstance(tag, Sgtin96)
    assert tag.scheme == "sgtin"
    assert tag.filter == 3
    assert tag.partition == 5
    assert tag.company_prefix == "0614141"
    assert tag.item_reference == "812345"
    assert tag.serial == 6789
    assert tag.gtin == "80614141123458"
    assert tag.element_string == "(01)80614141123458(21)6789"


def test_tds_example_matches_an_independent_bit_layout() -> None:
    # header 0x30, filter 3, partition 5: 24-bit prefix, 20-bit item reference, 38-bit serial
    assert _bits((0x30, 8), (3, 3), (5, 3), (614141, 24), (812345, 20), (6789, 38)) == TDS_HEX


def test_filter_one_example_from_the_brief() -> None:
    tag = Sgtin96(company_prefix="0614141", item_reference="812345", serial=6789, filter=1)
    assert tag.to_hex() == "3034257BF7194E4000001A85"


def test_from_gtin_splits_indicator_prefix_and_item_reference() -> None:
    tag = Sgtin96.from_gtin(gtin14="80614141123458", company_prefix_length=7, serial=6789, filter=1)
    assert tag == Sgtin96(company_prefix="0614141", item_reference="812345", serial=6789, filter=1)


def test_from_gtin_pads_a_gtin_13() -> None:
    tag = Sgtin96.from_gtin("4006381333931", company_prefix_length=7, serial=1)
    assert tag.gtin == "04006381333931"
    assert tag.item_reference == "033393"


def test_from_gtin_rejects_a_wrong_check_digit() -> None:
    with pytest.raises(CheckDigitError, match=r"gtin '80614141123459'.*check digit is 8"):
        Sgtin96.from_gtin("80614141123459", company_prefix_length=7, serial=1)


def test_element_string_round_trip() -> None:
    tag = Sgtin96.from_element_string(
        "(01)80614141123458(21)6789", company_prefix_length=7, filter=3
    )
    assert tag.to_hex() == TDS_HEX


def test_partition_six_matches_another_decoder() -> None:
    # value published with the Rust gs1 crate's tests
    data = bytes([48, 57, 96, 98, 195, 161, 168, 0, 0, 107, 51, 244])
    assert decode_epc(data).uri == "urn:epc:id:sgtin:360843.0951968.7025652"


@pytest.mark.parametrize(
    ("company_prefix", "item_reference", "partition"),
    [
        ("061414112345", "8", 0),
        ("06141411234", "81", 1),
        ("0614141123", "812", 2),
        ("061414112", "8123", 3),
        ("06141411", "81234", 4),
        ("0614141", "812345", 5),
        ("061414", "8123456", 6),
    ],
)
def test_every_partition_encodes_its_bit_split(
    company_prefix: str, item_reference: str, partition: int
) -> None:
    widths = {
        0: (40, 4),
        1: (37, 7),
        2: (34, 10),
        3: (30, 14),
        4: (27, 17),
        5: (24, 20),
        6: (20, 24),
    }
    prefix_bits, item_bits = widths[partition]
    tag = Sgtin96(company_prefix=company_prefix, item_reference=item_reference, serial=42, filter=2)
    expected = _bits(
        (0x30, 8),
        (2, 3),
        (partition, 3),
        (int(company_prefix), prefix_bits),
        (int(item_reference), item_bits),
        (42, 38),
    )
    assert tag.partition == partition
    assert tag.to_hex() == expected
    assert decode_epc(expected) == tag


def test_largest_serial_is_accepted_and_next_is_rejected() -> None:
    tag = Sgtin96(company_prefix="0614141", item_reference="812345", serial=2**38 - 1)
    assert tag.to_int() & (2**38 - 1) == 2**38 - 1
    assert decode_epc(tag.to_hex()) == tag
    with pytest.raises(FieldRangeError):
        Sgtin96(company_prefix="0614141", item_reference="812345", serial=2**38)
