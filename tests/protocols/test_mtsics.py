"""MT-SICS codec: every command and reply kind, errors that name the culprit, framing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.mtsics import (
    Command,
    CommandError,
    CommandParameterError,
    EncodeError,
    ErrorCode,
    ErrorReply,
    LineFramer,
    MalformedReplyError,
    OverlongLine,
    Reply,
    ReplyHead,
    SerialNumberReply,
    Stability,
    Status,
    StatusReply,
    TareReply,
    TransmissionError,
    UnknownCommandError,
    WeightReply,
    ZeroImmediateReply,
    decode_command,
    decode_reply,
    encode_command,
    encode_reply,
    format_weight_field,
)

# --------------------------------------------------------------------------- commands

COMMANDS = [
    (Command.SEND_STABLE_WEIGHT, b"S\r\n"),
    (Command.SEND_WEIGHT_IMMEDIATELY, b"SI\r\n"),
    (Command.ZERO, b"Z\r\n"),
    (Command.ZERO_IMMEDIATELY, b"ZI\r\n"),
    (Command.TARE, b"T\r\n"),
    (Command.SERIAL_NUMBER, b"I4\r\n"),
    (Command.RESET, b"@\r\n"),
]


@pytest.mark.parametrize(("command", "wire"), COMMANDS)
def test_command_encodes_to_its_wire_spelling_and_back(command: Command, wire: bytes) -> None:
    assert encode_command(command) == wire
    assert decode_command(wire) is command
    assert decode_command(wire.rstrip(b"\r\n")) is command
    assert decode_command(wire.decode()) is command


@pytest.mark.parametrize(
    ("line", "error", "code", "named"),
    [
        (b"X", UnknownCommandError, ErrorCode.SYNTAX, "'X'"),
        (b"s", UnknownCommandError, ErrorCode.SYNTAX, "'s'"),  # commands are case sensitive
        (b"SIX", UnknownCommandError, ErrorCode.SYNTAX, "'SIX'"),
        (b" S", UnknownCommandError, ErrorCode.SYNTAX, "' S'"),
        (b"", UnknownCommandError, ErrorCode.SYNTAX, "''"),
        (b"S\x00", UnknownCommandError, ErrorCode.SYNTAX, "'S\\x00'"),
        (b"S 12", CommandParameterError, ErrorCode.LOGICAL, "'12'"),
        (b"I4 now please", CommandParameterError, ErrorCode.LOGICAL, "'now please'"),
        (b"S\xff", TransmissionError, ErrorCode.TRANSMISSION, "not ASCII"),
        (b"S" * 300, TransmissionError, ErrorCode.TRANSMISSION, "300 characters"),
    ],
)
def test_bad_command_line_raises_error_naming_it_with_the_scale_error_code(
    line: bytes, error: type[Exception], code: ErrorCode, named: str
) -> None:
    with pytest.raises(error) as caught:
        decode_command(line)
    assert named in str(caught.value)
    assert isinstance(caught.value, CommandError)
    assert caught.value.error_code is code
    assert caught.value.reply() == ErrorReply(code)


def test_trailing_space_after_command_is_not_a_parameter() -> None:
    assert decode_command(b"SI \r\n") is Command.SEND_WEIGHT_IMMEDIATELY


# --------------------------------------------------------------------------- replies

REPLIES: list[tuple[Reply, bytes]] = [
    (WeightReply(Stability.STABLE, Decimal("100.00"), "g"), b"S S     100.00 g\r\n"),
    (WeightReply(Stability.STABLE, Decimal("12.34"), "kg"), b"S S      12.34 kg\r\n"),
    (WeightReply(Stability.DYNAMIC, Decimal("12.36"), "kg"), b"S D      12.36 kg\r\n"),
    (WeightReply(Stability.STABLE, Decimal("-0.5"), "kg"), b"S S       -0.5 kg\r\n"),
    (WeightReply(Stability.STABLE, Decimal("1500"), "lb"), b"S S       1500 lb\r\n"),
    (WeightReply(Stability.STABLE, Decimal("-123456.78"), "kg"), b"S S -123456.78 kg\r\n"),
    (StatusReply(ReplyHead.WEIGHT, Status.NOT_EXECUTABLE), b"S I\r\n"),
    (StatusReply(ReplyHead.WEIGHT, Status.ABOVE_RANGE), b"S +\r\n"),
    (StatusReply(ReplyHead.WEIGHT, Status.BELOW_RANGE), b"S -\r\n"),
    (StatusReply(ReplyHead.ZERO, Status.EXECUTED), b"Z A\r\n"),
    (StatusReply(ReplyHead.ZERO, Status.NOT_EXECUTABLE), b"Z I\r\n"),
    (StatusReply(ReplyHead.ZERO, Status.ABOVE_RANGE), b"Z +\r\n"),
    (StatusReply(ReplyHead.ZERO, Status.BELOW_RANGE), b"Z -\r\n"),
    (ZeroImmediateReply(Stability.STABLE), b"ZI S\r\n"),
    (ZeroImmediateReply(Stability.DYNAMIC), b"ZI D\r\n"),
    (StatusReply(ReplyHead.ZERO_IMMEDIATELY, Status.NOT_EXECUTABLE), b"ZI I\r\n"),
    (StatusReply(ReplyHead.ZERO_IMMEDIATELY, Status.ABOVE_RANGE), b"ZI +\r\n"),
    (StatusReply(ReplyHead.ZERO_IMMEDIATELY, Status.BELOW_RANGE), b"ZI -\r\n"),
    (TareReply(Decimal("25.5"), "kg"), b"T S       25.5 kg\r\n"),
    (StatusReply(ReplyHead.TARE, Status.NOT_EXECUTABLE), b"T I\r\n"),
    (StatusReply(ReplyHead.TARE, Status.ABOVE_RANGE), b"T +\r\n"),
    (StatusReply(ReplyHead.TARE, Status.BELOW_RANGE), b"T -\r\n"),
    (SerialNumberReply("B021002593"), b'I4 A "B021002593"\r\n'),
    (SerialNumberReply("SIM dock 3"), b'I4 A "SIM dock 3"\r\n'),
    (SerialNumberReply(""), b'I4 A ""\r\n'),
    (StatusReply(ReplyHead.SERIAL_NUMBER, Status.NOT_EXECUTABLE), b"I4 I\r\n"),
    (ErrorReply(ErrorCode.SYNTAX), b"ES\r\n"),
    (ErrorReply(ErrorCode.TRANSMISSION), b"ET\r\n"),
    (ErrorReply(ErrorCode.LOGICAL), b"EL\r\n"),
]


@pytest.mark.parametrize(("reply", "wire"), REPLIES)
def test_reply_encodes_to_mtsics_line(reply: Reply, wire: bytes) -> None:
    assert encode_reply(reply) == wire


@pytest.mark.parametrize(("reply", "wire"), REPLIES)
def test_reply_decodes_from_mtsics_line(reply: Reply, wire: bytes) -> None:
    assert decode_reply(wire) == reply
    assert decode_reply(wire.rstrip(b"\r\n")) == reply
    assert decode_reply(wire.decode()) == reply


def test_weight_field_is_ten_characters_right_aligned() -> None:
    line = encode_reply(WeightReply(Stability.STABLE, Decimal("7.5"), "kg"))
    assert line[4:14] == b"       7.5"
    assert format_weight_field(Decimal("1E+3")) == "      1000"


@pytest.mark.parametrize(
    ("wire", "reply"),
    [
        (b"S  S   12.34   kg", WeightReply(Stability.STABLE, Decimal("12.34"), "kg")),
        (b"S S 12.34 kg ", WeightReply(Stability.STABLE, Decimal("12.34"), "kg")),
        (b"S D -0.02 g\n", WeightReply(Stability.DYNAMIC, Decimal("-0.02"), "g")),
        (b'I4  A  "X1"', SerialNumberReply("X1")),
    ],
)
def test_reply_decoding_tolerates_runs_of_spaces(wire: bytes, reply: Reply) -> None:
    assert decode_reply(wire) == reply


def test_decoded_weight_keeps_its_decimals() -> None:
    reply = decode_reply(b"S S      12.50 kg\r\n")
    assert isinstance(reply, WeightReply)
    assert str(reply.value) == "12.50"


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"S S x1.2 kg", "malformed weight value 'x1.2' in reply 'S S x1.2 kg'"),
        (b"S S 1.2.3 kg", "malformed weight value '1.2.3'"),
        (b"S S NaN kg", "malformed weight value 'NaN'"),
        (b"S S 1e3 kg", "malformed weight value '1e3'"),
        (b"S S +1.0 kg", "malformed weight value '+1.0'"),
        (b"S S 1. kg", "malformed weight value '1.'"),
        (b"T S abc kg", "malformed tare value 'abc' in reply 'T S abc kg'"),
        (b"S S 12.34 k9", "malformed unit 'k9'"),
        (b"S S 12.34", "weight reply 'S S 12.34' needs a value and a unit"),
        (b"S S 12.34 kg extra", "needs a value and a unit"),
        (b"T S", "tare reply 'T S' needs a value and a unit"),
        (b"S X", "unknown status 'X' after 'S'"),
        (b"S A", "status 'A' is not valid after 'S'"),
        (b"T D 1.0 kg", "unknown status 'D' after 'T'"),
        (b"I4 +", "status '+' is not valid after 'I4'"),
        (b"Z S", "unknown status 'S' after 'Z'"),
        (b"Z A now", "unexpected text after status 'A'"),
        (b"ZI S 1.0", "unexpected text after 'S'"),
        (b"I4 A B0210", "malformed serial number in reply 'I4 A B0210'"),
        (b'I4 A "B02"10"', "malformed serial number"),
        (b"Q A", "unknown reply head 'Q'"),
        (b"EX", "reply 'EX' has no status"),
        (b"", "empty reply"),
        (b"   \r\n", "empty reply"),
        (b"S S \xb512 kg", "is not ASCII"),
    ],
)
def test_malformed_reply_raises_error_naming_the_culprit(wire: bytes, message: str) -> None:
    with pytest.raises(MalformedReplyError) as caught:
        decode_reply(wire)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: WeightReply(Stability.STABLE, Decimal("NaN"), "kg"), "finite Decimal"),
        (lambda: WeightReply(Stability.STABLE, Decimal("1"), "k g"), "unit must be 1-5 letters"),
        (lambda: WeightReply(Stability.STABLE, 1.5, "kg"), "finite Decimal"),  # type: ignore[arg-type]
        (lambda: TareReply(Decimal("1"), ""), "tare unit"),
        (lambda: SerialNumberReply('a"b'), "serial number"),
        (lambda: SerialNumberReply("é"), "serial number"),
        (lambda: SerialNumberReply("x" * 65), "serial number"),
        (lambda: StatusReply(ReplyHead.WEIGHT, Status.EXECUTED), "'S A' is not an MT-SICS reply"),
        (lambda: StatusReply(ReplyHead.SERIAL_NUMBER, Status.ABOVE_RANGE), "'I4 +'"),
    ],
)
def test_reply_that_mtsics_cannot_express_is_refused(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(EncodeError) as caught:
        build()
    assert message in str(caught.value)


def test_weight_wider_than_its_field_cannot_be_encoded() -> None:
    reply = WeightReply(Stability.STABLE, Decimal("-1234567.89"), "kg")
    with pytest.raises(EncodeError, match=r"'-1234567\.89' is wider than the 10-character field"):
        encode_reply(reply)


weights = st.builds(
    WeightReply,
    stability=st.sampled_from(Stability),
    value=st.integers(min_value=0, max_value=3).flatmap(
        lambda places: st.decimals(min_value=-99999, max_value=999999, places=places)
    ),
    unit=st.sampled_from(["kg", "g", "lb", "oz", "t", "mg"]),
)


@given(weights)
def test_weight_reply_round_trips_through_the_wire(reply: WeightReply) -> None:
    wire = encode_reply(reply)
    assert wire.endswith(b"\r\n")
    assert len(wire) == len(f"S S  {reply.unit}\r\n") + 10
    decoded = decode_reply(wire)
    assert decoded == reply
    assert isinstance(decoded, WeightReply)
    assert format(decoded.value, "f") == format(reply.value, "f")
    assert encode_reply(decoded) == wire


@given(st.sampled_from([reply for reply, _ in REPLIES]), st.integers(min_value=1, max_value=20))
def test_every_reply_kind_survives_being_split_into_chunks(reply: Reply, chunk: int) -> None:
    wire = encode_reply(reply) * 3
    framer = LineFramer()
    lines: list[bytes | OverlongLine] = []
    for start in range(0, len(wire), chunk):
        lines.extend(framer.feed(wire[start : start + chunk]))
    assert [decode_reply(line) for line in lines if isinstance(line, bytes)] == [reply] * 3
    assert len(lines) == 3
    assert framer.pending == b""


# --------------------------------------------------------------------------- framing


def test_framer_returns_complete_lines_and_keeps_the_rest() -> None:
    framer = LineFramer()
    assert framer.feed(b"S\r\nSI\r") == [b"S"]
    assert framer.pending == b"SI\r"
    assert framer.feed(b"\nZ\nT") == [b"SI", b"Z"]
    assert framer.feed(b"\r\n") == [b"T"]
    assert framer.feed(b"") == []


def test_framer_keeps_empty_lines_and_inner_carriage_returns() -> None:
    assert LineFramer().feed(b"\r\n\n S\rX \r\n") == [b"", b"", b" S\rX "]


def test_framer_reports_overlong_line_without_holding_it() -> None:
    framer = LineFramer(max_line_length=8)
    assert framer.feed(b"0123456789") == []
    assert framer.pending == b""
    out = framer.feed(b"abcdef\r\nS\r\n")
    assert out == [OverlongLine(length=16, head=b"0123456789"), b"S"]


def test_framer_accepts_line_exactly_at_the_limit() -> None:
    framer = LineFramer(max_line_length=4)
    assert framer.feed(b"ABCD\r") == []
    assert framer.feed(b"\nABCDE\r\n") == [b"ABCD", OverlongLine(length=5, head=b"ABCDE")]


def test_framer_refuses_nonsense_limit() -> None:
    with pytest.raises(ValueError, match="max_line_length must be positive, got 0"):
        LineFramer(max_line_length=0)


@given(st.lists(st.binary(max_size=40), max_size=20), st.integers(min_value=1, max_value=64))
def test_framer_never_loses_or_invents_bytes_of_short_lines(
    chunks: list[bytes], limit: int
) -> None:
    stream = b"".join(chunks)
    framer = LineFramer(max_line_length=limit)
    out: list[bytes | OverlongLine] = []
    for chunk in chunks:
        out.extend(framer.feed(chunk))
    expected_lines = stream.split(b"\n")[:-1]
    assert len(out) == len(expected_lines)
    for got, raw in zip(out, expected_lines, strict=True):
        body = raw[:-1] if raw.endswith(b"\r") else raw
        if len(body) <= limit:
            assert got == body
        else:
            assert isinstance(got, OverlongLine)
