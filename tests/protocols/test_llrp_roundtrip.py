"""Every LLRP message and parameter survives encode -> decode unchanged (property tests).

The strategies are derived from each class's declared wire layout, so a class added
to the codec is covered without touching this file.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols import llrp
from protocols.llrp import layout, wire

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def kind_strategy(kind: wire.Kind) -> st.SearchStrategy[Any]:
    if isinstance(kind, wire.EnumOf):
        return st.sampled_from(list(kind.enum_type))
    if isinstance(kind, wire.Flag):
        return st.booleans()
    if isinstance(kind, wire.Bits):
        return st.integers(0, (1 << kind.bit_width) - 1)
    if isinstance(kind, wire.UInt):
        return st.integers(kind.low, kind.high)
    if isinstance(kind, wire.Utf8):
        return st.text(max_size=12)
    if isinstance(kind, wire.Blob | wire.Rest):
        return st.binary(max_size=12)
    if isinstance(kind, wire.FixedBytes):
        return st.binary(min_size=kind.size, max_size=kind.size)
    if isinstance(kind, wire.BitArray):
        return st.integers(0, 130).flatmap(
            lambda n: st.binary(min_size=(n + 7) // 8, max_size=(n + 7) // 8).map(
                lambda data: wire.BitString(n, data)
            )
        )
    if isinstance(kind, wire.Array):
        return st.lists(kind_strategy(kind.item), max_size=4).map(tuple)
    if isinstance(kind, layout.TVValue):
        return st.none() | kind_strategy(kind.value_kind)
    if isinstance(kind, layout.ParamSlot):
        one = st.one_of([parameter_strategy(t) for t in kind.types])
        if kind.maximum == 1:
            return one if kind.minimum else st.none() | one
        return st.lists(one, min_size=kind.minimum, max_size=2).map(tuple)
    raise AssertionError(f"no strategy for {kind!r}")


@functools.cache
def parameter_strategy(cls: type[llrp.Parameter]) -> st.SearchStrategy[Any]:
    def build() -> st.SearchStrategy[Any]:
        fields = {name: kind_strategy(kind) for name, kind in cls.LAYOUT if name}
        return st.builds(cls, **fields)

    return st.deferred(build)


def message_strategy(cls: type[llrp.Message]) -> st.SearchStrategy[Any]:
    fields = {name: kind_strategy(kind) for name, kind in cls.LAYOUT if name}
    return st.builds(cls, message_id=st.integers(0, 0xFFFFFFFF), **fields)


MESSAGE_CLASSES = sorted(llrp.MESSAGES.values(), key=lambda c: c.TYPE)
PARAMETER_CLASSES = sorted(
    [*llrp.TLV_PARAMETERS.values(), *llrp.TV_PARAMETERS.values()], key=lambda c: c.TYPE
)


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda c: c.NAME)
def test_every_message_type_round_trips(cls: type[llrp.Message]) -> None:
    @SETTINGS
    @given(message_strategy(cls))
    def check(message: llrp.Message) -> None:
        frame = llrp.encode_message(message)
        assert int.from_bytes(frame[2:6], "big") == len(frame)
        assert llrp.decode_message(frame) == message

    check()


@pytest.mark.parametrize("cls", PARAMETER_CLASSES, ids=lambda c: c.__name__)
def test_every_parameter_type_round_trips(cls: type[llrp.Parameter]) -> None:
    @SETTINGS
    @given(parameter_strategy(cls))
    def check(parameter: llrp.Parameter) -> None:
        assert llrp.decode_parameter(llrp.encode_parameter(parameter)) == parameter

    check()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(message_strategy(llrp.ROAccessReport), min_size=1, max_size=5),
    st.data(),
)
def test_framer_rebuilds_messages_from_any_split_of_the_stream(
    messages: list[llrp.ROAccessReport], data: st.DataObject
) -> None:
    stream = b"".join(llrp.encode_message(m) for m in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    framer = llrp.LLRPFramer()
    decoded = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        decoded.extend(llrp.decode_message(f) for f in framer.frames(stream[start:end]))
    assert decoded == messages
    assert framer.buffered == 0


def test_header_carries_version_type_length_and_id() -> None:
    frame = llrp.encode_message(llrp.KeepaliveAck(message_id=0x01020304))
    assert frame == bytes.fromhex("0448 0000000a 01020304")
    header = llrp.decode_header(frame)
    assert (header.version, header.message_type, header.length, header.message_id) == (
        1,
        72,
        10,
        0x01020304,
    )


def test_tv_and_tlv_forms_are_encoded_as_the_specification_shows() -> None:
    report = llrp.TagReportData(
        epc=llrp.EPC96(bytes.fromhex("3005fb63ac1f3841ec880467")),
        antenna_id=1,
        peak_rssi=-50,
        first_seen_utc=1385585041558537,
        tag_seen_count=1,
    )
    assert llrp.encode_parameter(report).hex() == (
        "00f000228d3005fb63ac1f3841ec88046781000186ce820004ec2ea8354c09880001"
    )
    epc_data = llrp.EPCData(llrp.BitString(12, b"\xab\xc0"))
    assert llrp.encode_parameter(epc_data).hex() == "00f10008000cabc0"


def test_encoding_rejects_a_value_too_big_for_its_field() -> None:
    with pytest.raises(llrp.LLRPEncodeError, match=r"AntennaConfiguration\.antenna_id"):
        llrp.encode_parameter(llrp.AntennaConfiguration(antenna_id=70000))
    with pytest.raises(llrp.LLRPEncodeError, match="required"):
        llrp.encode_message(llrp.ErrorMessage(status=None))  # type: ignore[arg-type]
