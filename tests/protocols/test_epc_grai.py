"""GRAI-96: returnable assets, (8003) element strings and the empty asset type."""

from __future__ import annotations

import pytest

from protocols.epc import Grai96, check_digit, decode_epc


def test_tds_example_encodes_to_the_published_hex() -> None:
    asset = Grai96(company_prefix="0614141", asset_type="12345", serial=400, filter=3)
    assert asset.to_hex() == "3374257BF40C0E4000000190"
    assert asset.uri == "urn:epc:id:grai:0614141.12345.400"
    assert asset.tag_uri == "urn:epc:tag:grai-96:3.0614141.12345.400"


def test_hex_layout_is_header_filter_partition_prefix_asset_type_serial() -> None:
    value = (0x33 << 88) | (3 << 85) | (5 << 82) | (614141 << 58) | (12345 << 38) | 400
    assert f"{value:024X}" == "3374257BF40C0E4000000190"


@pytest.mark.parametrize(
    ("hex_epc", "tag_uri"),
    [
        # values published with the Java epcGS1coder and Python epc libraries' tests
        ("33140E511C56ED0000000001", "urn:epc:tag:grai-96:0.0234567.89012.1"),
        ("331800004000004000000001", "urn:epc:tag:grai-96:0.000001.000001.1"),
    ],
)
def test_matches_other_decoders(hex_epc: str, tag_uri: str) -> None:
    assert decode_epc(hex_epc).tag_uri == tag_uri
    assert decode_epc(tag_uri).to_hex() == hex_epc


def test_element_string_has_leading_zero_check_digit_and_serial() -> None:
    asset = decode_epc("3374257BF40C0E4000000190")
    assert isinstance(asset, Grai96)
    assert check_digit("061414112345") == 2
    assert asset.grai == "0" + "061414112345" + "2" + "400"
    assert asset.element_string == "(8003)00614141123452400"
    again = Grai96.from_element_string(asset.element_string, company_prefix_length=7, filter=3)
    assert again == asset


def test_twelve_digit_prefix_has_an_empty_asset_type() -> None:
    asset = Grai96(company_prefix="061414112345", asset_type="", serial=5678)
    assert asset.partition == 0
    assert asset.uri == "urn:epc:id:grai:061414112345..5678"
    assert decode_epc(asset.uri) == asset
    assert decode_epc(asset.to_hex()) == asset
