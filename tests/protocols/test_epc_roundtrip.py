"""Properties: every form of every scheme and partition converts back to the same EPC."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.epc import (
    AnyEpc,
    EPCError,
    Giai96,
    Grai96,
    Sgtin96,
    Sscc96,
    decode_element_string,
    decode_epc,
    decode_int,
    decode_uri,
)

PREFIX_LENGTHS = st.integers(min_value=6, max_value=12)
FILTERS = st.integers(min_value=0, max_value=7)
SERIALS = st.integers(min_value=0, max_value=2**38 - 1)
GIAI_BITS = {12: 42, 11: 45, 10: 48, 9: 52, 8: 55, 7: 58, 6: 62}


def digits(count: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=count, max_size=count)


@st.composite
def sgtins(draw: st.DrawFn) -> Sgtin96:
    length = draw(PREFIX_LENGTHS)
    return Sgtin96(
        company_prefix=draw(digits(length)),
        item_reference=draw(digits(13 - length)),
        serial=draw(SERIALS),
        filter=draw(FILTERS),
    )


@st.composite
def ssccs(draw: st.DrawFn) -> Sscc96:
    length = draw(PREFIX_LENGTHS)
    return Sscc96(
        company_prefix=draw(digits(length)),
        serial_reference=draw(digits(17 - length)),
        filter=draw(FILTERS),
    )


@st.composite
def grais(draw: st.DrawFn) -> Grai96:
    length = draw(PREFIX_LENGTHS)
    return Grai96(
        company_prefix=draw(digits(length)),
        asset_type=draw(digits(12 - length)),
        serial=draw(SERIALS),
        filter=draw(FILTERS),
    )


@st.composite
def giais(draw: st.DrawFn) -> Giai96:
    length = draw(PREFIX_LENGTHS)
    return Giai96(
        company_prefix=draw(digits(length)),
        asset_reference=draw(st.integers(min_value=0, max_value=2 ** GIAI_BITS[length] - 1)),
        filter=draw(FILTERS),
    )


EPCS = st.one_of(sgtins(), ssccs(), grais(), giais())


@given(EPCS)
def test_hex_to_pure_uri_to_hex_is_the_identity(epc: AnyEpc) -> None:
    hex_epc = epc.to_hex()
    assert len(hex_epc) == 24
    assert hex_epc == hex_epc.upper()
    decoded = decode_epc(hex_epc)
    assert decoded == epc
    assert decode_uri(decoded.uri, filter=decoded.filter).to_hex() == hex_epc


@given(EPCS)
def test_tag_uri_round_trips_with_its_filter(epc: AnyEpc) -> None:
    assert decode_epc(epc.tag_uri) == epc
    assert decode_epc(epc.tag_uri).tag_uri == epc.tag_uri


@given(EPCS)
def test_element_string_round_trips_given_the_prefix_length(epc: AnyEpc) -> None:
    again = decode_element_string(
        epc.element_string, company_prefix_length=len(epc.company_prefix), filter=epc.filter
    )
    assert again == epc


@given(EPCS)
def test_bytes_and_int_forms_agree_with_hex(epc: AnyEpc) -> None:
    assert epc.to_bytes().hex().upper() == epc.to_hex()
    assert decode_epc(epc.to_bytes()) == epc
    assert decode_int(epc.to_int()) == epc


@pytest.mark.parametrize("header", [0x30, 0x31, 0x33, 0x34])
@given(body=st.integers(min_value=0, max_value=2**88 - 1))
def test_any_96_bits_either_decode_exactly_or_raise_epc_error(header: int, body: int) -> None:
    value = (header << 88) | body
    try:
        epc = decode_int(value)
    except EPCError:
        return
    assert epc.to_int() == value
