"""SSCC-96 against the GS1 Tag Data Standard example and check-digit maths."""

from __future__ import annotations

import pytest

from protocols.epc import CheckDigitError, FieldRangeError, Sscc96, check_digit, decode_epc

TDS_TAG_URI = "urn:epc:tag:sscc-96:3.0614141.1234567890"
TDS_HEX = "3174257BF4499602D2000000"


def test_tds_example_encodes_to_the_published_hex() -> None:
    pallet = Sscc96(company_prefix="0614141", serial_reference="1234567890", filter=3)
    assert pallet.to_hex() == TDS_HEX
    assert pallet.tag_uri == TDS_TAG_URI
    assert pallet.uri == "urn:epc:id:sscc:0614141.1234567890"


def test_tds_example_matches_an_independent_bit_layout() -> None:
    # header 0x31, filter 3, partition 5, 24-bit prefix, 34-bit serial reference, 24 zero bits
    value = (0x31 << 88) | (3 << 85) | (5 << 82) | (614141 << 58) | (1234567890 << 24)
    assert f"{value:024X}" == TDS_HEX


def test_filter_zero_example_from_the_brief() -> None:
    pallet = Sscc96(company_prefix="0614141", serial_reference="1234567890", filter=0)
    assert pallet.to_hex() == "3114257BF4499602D2000000"


def test_sscc_18_puts_the_extension_digit_first_and_a_check_digit_last() -> None:
    pallet = decode_epc(TDS_HEX)
    assert isinstance(pallet, Sscc96)
    # extension 1, prefix 0614141, serial 234567890; check digit of the 17 digits is 8
    assert check_digit("10614141234567890") == 8
    assert pallet.sscc == "106141412345678908"
    assert pallet.element_string == "(00)106141412345678908"


def test_element_string_round_trip() -> None:
    pallet = Sscc96.from_element_string("(00)106141412345678908", company_prefix_length=7, filter=3)
    assert pallet.to_hex() == TDS_HEX


def test_element_string_with_a_wrong_check_digit_is_rejected() -> None:
    with pytest.raises(CheckDigitError, match="sscc '106141412345678909'"):
        Sscc96.from_element_string("(00)106141412345678909", company_prefix_length=7)


@pytest.mark.parametrize(
    ("company_prefix", "serial_reference", "partition", "bits"),
    [
        ("061414112345", "12345", 0, (40, 18)),
        ("06141411234", "123456", 1, (37, 21)),
        ("0614141123", "1234567", 2, (34, 24)),
        ("061414112", "12345678", 3, (30, 28)),
        ("06141411", "123456789", 4, (27, 31)),
        ("0614141", "1234567890", 5, (24, 34)),
        ("061414", "12345678901", 6, (20, 38)),
    ],
)
def test_every_partition_encodes_its_bit_split(
    company_prefix: str, serial_reference: str, partition: int, bits: tuple[int, int]
) -> None:
    prefix_bits, reference_bits = bits
    assert prefix_bits + reference_bits == 58
    value = (
        (0x31 << 88)
        | (1 << 85)
        | (partition << 82)
        | (int(company_prefix) << (82 - prefix_bits))
        | (int(serial_reference) << 24)
    )
    pallet = Sscc96(company_prefix=company_prefix, serial_reference=serial_reference, filter=1)
    assert pallet.to_hex() == f"{value:024X}"
    assert decode_epc(f"{value:024X}") == pallet


def test_nonzero_reserved_bits_are_rejected() -> None:
    with pytest.raises(FieldRangeError, match=r"reserved bits '0x000001' .* all zero"):
        decode_epc("3174257BF4499602D2000001")
