"""Bad input raises a specific EPCError whose message names field, value and allowed range."""

from __future__ import annotations

import pytest

from protocols.epc import (
    CheckDigitError,
    EPCError,
    EPCSyntaxError,
    FieldRangeError,
    Giai96,
    Grai96,
    Sgtin96,
    Sscc96,
    UnknownHeaderError,
    UnsupportedSchemeError,
    decode_element_string,
    decode_epc,
)


def test_every_error_is_a_value_error() -> None:
    for error in (
        EPCSyntaxError,
        FieldRangeError,
        UnknownHeaderError,
        UnsupportedSchemeError,
        CheckDigitError,
    ):
        assert issubclass(error, EPCError)
    assert issubclass(EPCError, ValueError)


def test_serial_out_of_range_names_field_value_scheme_and_range() -> None:
    with pytest.raises(FieldRangeError) as caught:
        Sgtin96(company_prefix="0614141", item_reference="812345", serial=2**38)
    assert str(caught.value) == "serial 274877906944 out of range for SGTIN-96: 0..274877906943"
    assert caught.value.field == "serial"
    assert caught.value.value == 2**38


@pytest.mark.parametrize("bad", [-1, 8])
def test_filter_out_of_range(bad: int) -> None:
    with pytest.raises(FieldRangeError, match=rf"^filter {bad} out of range for SSCC-96: 0\.\.7$"):
        Sscc96(company_prefix="0614141", serial_reference="1234567890", filter=bad)


@pytest.mark.parametrize("bad", ["06141", "0614141123456", "06141A1", ""])
def test_company_prefix_must_have_6_to_12_digits(bad: str) -> None:
    with pytest.raises(FieldRangeError, match=r"company_prefix .* a string of 6\.\.12 digits"):
        Sgtin96(company_prefix=bad, item_reference="812345", serial=1)


def test_item_reference_length_follows_the_company_prefix() -> None:
    with pytest.raises(
        FieldRangeError,
        match=r"^item_reference '81234' out of range for SGTIN-96: "
        r"a string of exactly 6 digits with a 7-digit company_prefix$",
    ):
        Sgtin96(company_prefix="0614141", item_reference="81234", serial=1)


def test_serial_reference_length_follows_the_company_prefix() -> None:
    with pytest.raises(FieldRangeError, match=r"serial_reference '123' .* exactly 10 digits"):
        Sscc96(company_prefix="0614141", serial_reference="123")


def test_asset_type_length_follows_the_company_prefix() -> None:
    with pytest.raises(FieldRangeError, match=r"asset_type '1' .* exactly 5 digits"):
        Grai96(company_prefix="0614141", asset_type="1", serial=1)


def test_giai_asset_reference_range() -> None:
    with pytest.raises(FieldRangeError, match=r"asset_reference -1 .* 0\.\.4398046511103"):
        Giai96(company_prefix="061414112345", asset_reference=-1)


def test_unknown_header_is_named_with_the_supported_ones() -> None:
    with pytest.raises(UnknownHeaderError, match="unknown EPC header 0x35") as caught:
        decode_epc("350000000000000000000000")
    assert caught.value.header == 0x35
    assert "0x30 (SGTIN-96)" in str(caught.value)
    assert "0x34 (GIAI-96)" in str(caught.value)


def test_partition_seven_is_rejected() -> None:
    # header 0x30, filter 0, partition 7 -> second byte 0b000_111_00
    with pytest.raises(FieldRangeError, match=r"^partition 7 out of range for SGTIN-96: 0\.\.6$"):
        decode_epc("301C00000000000000000000")


def test_company_prefix_bits_beyond_its_digits_are_rejected() -> None:
    # partition 0: 40 bits of company prefix all ones is more than 12 digits can say
    value = (0x30 << 88) | (0 << 82) | ((2**40 - 1) << 42)
    with pytest.raises(FieldRangeError, match=r"company_prefix 1099511627775 .* 0\.\.999999999999"):
        decode_epc(f"{value:024X}")


def test_item_reference_bits_beyond_its_digits_are_rejected() -> None:
    # partition 0: a 4-bit item reference holds one digit, so 15 is invalid
    value = (0x30 << 88) | (15 << 38)
    with pytest.raises(FieldRangeError, match=r"item_reference 15 .* 0\.\.9 \(1 digits\)"):
        decode_epc(f"{value:024X}")


@pytest.mark.parametrize(
    "text",
    ["3074257BF7194E4000001A8", "3074257BF7194E4000001A85FF", "3074257BF7194E4000001A8G", ""],
)
def test_malformed_hex_is_a_syntax_error(text: str) -> None:
    with pytest.raises(EPCSyntaxError, match="neither 24 hex digits nor an urn:epc"):
        decode_epc(text)


def test_lower_case_hex_is_accepted() -> None:
    assert decode_epc("3074257bf7194e4000001a85").to_hex() == "3074257BF7194E4000001A85"


def test_unsupported_scheme_is_named() -> None:
    with pytest.raises(UnsupportedSchemeError, match="urn:epc:id:sgln"):
        decode_epc("urn:epc:id:sgln:0614141.12345.400")
    with pytest.raises(UnsupportedSchemeError, match="sgtin-198"):
        decode_epc("urn:epc:tag:sgtin-198:3.0614141.812345.ABC")


def test_tag_scheme_in_a_pure_identity_uri_is_rejected() -> None:
    with pytest.raises(EPCSyntaxError, match="'sgtin-96' where 'sgtin' belongs"):
        decode_epc("urn:epc:id:sgtin-96:0614141.812345.6789")


def test_wrong_component_count_is_rejected() -> None:
    with pytest.raises(EPCSyntaxError, match=r"has 2 dot-separated components .* expected 3"):
        decode_epc("urn:epc:id:sgtin:0614141.812345")


@pytest.mark.parametrize("serial", ["06789", "-1", "12a", "", "274877906944"])
def test_uri_serial_must_be_a_plain_integer_in_range(serial: str) -> None:
    with pytest.raises(
        FieldRangeError, match=r"serial .* without leading zeros, 0\.\.274877906943"
    ):
        decode_epc(f"urn:epc:id:sgtin:0614141.812345.{serial}")


def test_tag_uri_filter_out_of_range() -> None:
    with pytest.raises(FieldRangeError, match=r"filter '8' .* 0\.\.7"):
        decode_epc("urn:epc:tag:sgtin-96:8.0614141.812345.6789")


def test_element_string_for_an_unsupported_key() -> None:
    with pytest.raises(EPCSyntaxError, match=r"starts with AI \(414\)"):
        decode_element_string("(414)0614141123452", company_prefix_length=7)


def test_element_string_with_missing_serial() -> None:
    with pytest.raises(EPCSyntaxError, match=r"has AIs \(01\), expected \(01\)\(21\)"):
        decode_element_string("(01)80614141123458", company_prefix_length=7)


def test_company_prefix_length_out_of_range() -> None:
    with pytest.raises(FieldRangeError, match=r"company_prefix_length 13 .* 6\.\.12"):
        Sgtin96.from_gtin("80614141123458", company_prefix_length=13, serial=1)


def test_wrong_gtin_check_digit() -> None:
    with pytest.raises(CheckDigitError):
        decode_element_string("(01)80614141123457(21)1", company_prefix_length=7)
