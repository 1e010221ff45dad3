"""GIAI-96: fixed assets with an integer asset reference."""

from __future__ import annotations

import pytest

from protocols.epc import FieldRangeError, Giai96, decode_epc


def test_tds_example_encodes_to_the_published_hex() -> None:
    asset = Giai96(company_prefix="0614141", asset_reference=5678, filter=3)
    assert asset.to_hex() == "3474257BF40000000000162E"
    assert asset.uri == "urn:epc:id:giai:0614141.5678"
    assert asset.tag_uri == "urn:epc:tag:giai-96:3.0614141.5678"


def test_hex_layout_is_header_filter_partition_prefix_asset_reference() -> None:
    value = (0x34 << 88) | (3 << 85) | (5 << 82) | (614141 << 58) | 5678
    assert f"{value:024X}" == "3474257BF40000000000162E"


def test_matches_another_decoder() -> None:
    # value published with the Java epcGS1coder library's tests
    assert decode_epc("341816E80000000000010015").tag_uri == "urn:epc:tag:giai-96:0.023456.65557"


def test_element_string_is_prefix_then_asset_reference() -> None:
    asset = Giai96(company_prefix="0614141", asset_reference=12345400)
    assert asset.giai == "061414112345400"
    assert asset.element_string == "(8004)061414112345400"
    assert Giai96.from_element_string(asset.element_string, company_prefix_length=7) == asset


@pytest.mark.parametrize(
    ("company_prefix", "bits"),
    [
        ("0" * 12, 42),
        ("0" * 11, 45),
        ("0" * 10, 48),
        ("0" * 9, 52),
        ("0" * 8, 55),
        ("0" * 7, 58),
        ("0" * 6, 62),
    ],
)
def test_asset_reference_fills_the_bits_the_partition_leaves(
    company_prefix: str, bits: int
) -> None:
    biggest = Giai96(company_prefix=company_prefix, asset_reference=2**bits - 1)
    assert decode_epc(biggest.to_hex()) == biggest
    with pytest.raises(FieldRangeError, match=f"asset_reference {2**bits} out of range"):
        Giai96(company_prefix=company_prefix, asset_reference=2**bits)
