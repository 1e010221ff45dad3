"""Malformed LLRP bytes raise LLRPDecodeError naming the byte offset and the problem."""

from __future__ import annotations

import pytest

from protocols import llrp

REPORT = llrp.encode_message(
    llrp.ROAccessReport(
        message_id=1,
        tag_reports=(
            llrp.TagReportData(
                epc=llrp.EPC96(bytes(range(12))), antenna_id=2, peak_rssi=-60, tag_seen_count=3
            ),
        ),
    )
)


def frame(message_type: int, body: bytes, message_id: int = 1, version: int = 1) -> bytes:
    first = (version << 10) | message_type
    return (
        first.to_bytes(2, "big")
        + (10 + len(body)).to_bytes(4, "big")
        + message_id.to_bytes(4, "big")
        + body
    )


def tlv(param_type: int, body: bytes) -> bytes:
    return param_type.to_bytes(2, "big") + (4 + len(body)).to_bytes(2, "big") + body


def decode_error(data: bytes) -> llrp.LLRPDecodeError:
    with pytest.raises(llrp.LLRPDecodeError) as caught:
        llrp.decode_message(data)
    return caught.value


@pytest.mark.parametrize(
    ("data", "offset", "problem"),
    [
        (b"\x04\x3d\x00", 3, "truncated header"),
        (bytes.fromhex("043d 00000004 00000001"), 2, "shorter than the 10-byte header"),
        (bytes.fromhex("043d 00000020 00000001"), 2, "frame has 10"),
        (frame(1015, b""), 0, "unknown message type 1015"),
        (frame(61, b"", version=2), 0, "unsupported LLRP version 2"),
        (frame(21, b"\x00\x00"), 10, "needs 4 bytes but only 2 remain"),
        (frame(1, b"\x00\x00"), 11, "1 unexpected bytes"),
        (frame(61, tlv(240, b"")[:2] + b"\x00\x40"), 10, "truncated parameter type 240"),
        (frame(61, b"\x00\xf0\x00\x02"), 10, "less than its header"),
        (frame(61, tlv(240, b"\x00")[:3]), 10, "TLV parameter header needs 4 bytes"),
        (frame(61, tlv(999, b"")), 10, "unknown parameter type 999"),
        (frame(61, tlv(240, b"\xfe\x00")), 14, "unknown TV parameter type 126"),
        (frame(61, tlv(240, b"\x8d\x01\x02")), 14, "truncated parameter EPC96"),
        (frame(61, tlv(240, tlv(128, bytes(8)))), 14, "UTCTimestamp is not allowed inside"),
        (frame(61, tlv(240, b"\x81\x00\x01")), 10, "TagReportData lacks its required EPC96"),
        (
            frame(61, tlv(240, b"\x8d" + bytes(12) + b"\x81\x00\x01\x81\x00\x02")),
            30,
            "duplicate AntennaID",
        ),
        (frame(100, tlv(287, b"\x03\xe7\x00\x00")), 14, "value 999 is not a known StatusCode"),
        (frame(100, tlv(287, b"\x00\x00\x00\x02\xff\xfe")), 18, "invalid UTF-8"),
    ],
)
def test_malformed_frame_error_names_offset_and_problem(
    data: bytes, offset: int, problem: str
) -> None:
    error = decode_error(data)
    assert error.offset == offset
    assert problem in error.problem
    assert str(error).startswith(f"at byte offset {offset}: ")


def test_every_truncation_of_a_valid_report_raises_a_decode_error() -> None:
    for cut in range(len(REPORT)):
        with pytest.raises(llrp.LLRPDecodeError):
            llrp.decode_message(REPORT[:cut])
    for cut in range(11, len(REPORT)):  # length field agrees, the parameter is cut short
        shortened = REPORT[:2] + cut.to_bytes(4, "big") + REPORT[6:cut]
        with pytest.raises(llrp.LLRPDecodeError, match=r"at byte offset 10: .*truncated"):
            llrp.decode_message(shortened)


def test_vendor_custom_parameters_are_skipped_anywhere() -> None:
    custom = tlv(1023, (25882).to_bytes(4, "big") + (24).to_bytes(4, "big") + b"\x00\x01")
    tag_body = b"\x8d" + bytes(range(12)) + custom + b"\x81\x00\x02"
    data = frame(61, custom + tlv(240, tag_body) + custom)
    message = llrp.decode_message(data)
    assert isinstance(message, llrp.ROAccessReport)
    (tag,) = message.tag_reports
    assert (tag.epc_bytes, tag.antenna_id) == (bytes(range(12)), 2)


def test_framer_keeps_partial_messages_until_complete() -> None:
    framer = llrp.LLRPFramer()
    stream = REPORT + REPORT
    assert list(framer.frames(stream[:5])) == []
    assert list(framer.frames(stream[5 : len(REPORT) + 3])) == [REPORT]
    assert framer.buffered == 3
    assert list(framer.frames(stream[len(REPORT) + 3 :])) == [REPORT]
    assert framer.buffered == 0


def test_framer_reports_an_impossible_length_with_its_stream_offset_and_recovers() -> None:
    framer = llrp.LLRPFramer()
    assert list(framer.frames(REPORT)) == [REPORT]
    framer.feed(bytes.fromhex("043d 00000003 00000001"))
    with pytest.raises(llrp.LLRPDecodeError) as caught:
        framer.pop()
    assert caught.value.offset == len(REPORT) + 2
    assert "impossible" in caught.value.problem
    assert framer.buffered == 0
    assert list(framer.frames(REPORT)) == [REPORT]


def test_framer_refuses_a_length_beyond_its_limit() -> None:
    framer = llrp.LLRPFramer(max_message_length=1024)
    framer.feed(bytes.fromhex("043d 00100000 00000001"))
    with pytest.raises(llrp.LLRPDecodeError, match="1048576"):
        framer.pop()


def test_decode_stream_names_the_offset_within_the_stream() -> None:
    bad = frame(61, tlv(999, b""))
    with pytest.raises(llrp.LLRPDecodeError) as caught:
        llrp.decode_stream(REPORT + bad)
    assert caught.value.offset == len(REPORT) + 10
    with pytest.raises(llrp.LLRPDecodeError, match="truncated message"):
        llrp.decode_stream(REPORT + REPORT[:12])
