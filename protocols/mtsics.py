"""Mettler Toledo MT-SICS level 0/1: the scale's line protocol, as pure data.

MT-SICS is a request/response ASCII protocol. The host sends one command per
line, the scale answers each command with exactly one reply line, in order.
Lines end with CR LF. This module covers the commands a warehouse needs:

======  ===========================  ==================================================
command meaning                      replies
======  ===========================  ==================================================
``S``   send stable weight           ``S S <weight> <unit>``, ``S I``, ``S +``, ``S -``
``SI``  send weight immediately      ``S S|D <weight> <unit>``, ``S I``, ``S +``, ``S -``
``Z``   zero (waits for stability)   ``Z A``, ``Z I``, ``Z +``, ``Z -``
``ZI``  zero immediately             ``ZI S``, ``ZI D``, ``ZI I``, ``ZI +``, ``ZI -``
``T``   tare (waits for stability)   ``T S <weight> <unit>``, ``T I``, ``T +``, ``T -``
``I4``  serial number                ``I4 A "<serial>"``, ``I4 I``
``@``   reset                        ``I4 A "<serial>"``
======  ===========================  ==================================================

Any command may instead get a general error: ``ES`` (syntax error: command not
recognised), ``ET`` (transmission error: faulty bytes) or ``EL`` (logical
error: command recognised but not acceptable as sent, e.g. a stray parameter).

The weight is right-aligned in a 10-character field, separated by single spaces
from the status before it and the unit after it: ``S S     100.00 g``.
Decoding is lenient about runs of spaces and strict about every token.

Nothing here does I/O: :class:`LineFramer` cuts a byte stream into lines,
``encode_*`` produce bytes ready to send, ``decode_*`` turn one line into
typed values or raise a :class:`MtsicsError` naming what was wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

__all__ = [
    "LINE_END",
    "MAX_LINE_LENGTH",
    "WEIGHT_FIELD_WIDTH",
    "Command",
    "CommandError",
    "CommandParameterError",
    "EncodeError",
    "ErrorCode",
    "ErrorReply",
    "LineFramer",
    "MalformedReplyError",
    "MtsicsError",
    "OverlongLine",
    "Reply",
    "ReplyHead",
    "SerialNumberReply",
    "Stability",
    "Status",
    "StatusReply",
    "TareReply",
    "TransmissionError",
    "UnknownCommandError",
    "WeightReply",
    "ZeroImmediateReply",
    "decode_command",
    "decode_reply",
    "encode_command",
    "encode_reply",
    "format_weight_field",
]

LINE_END: Final = b"\r\n"
"""Every MT-SICS line, command or reply, ends with CR LF."""

MAX_LINE_LENGTH: Final = 256
"""Longest line (without CR LF) either side accepts; longer input is a transmission error."""

WEIGHT_FIELD_WIDTH: Final = 10
"""The weight value is right-aligned in a field this many characters wide."""

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_UNIT = re.compile(r"[A-Za-z%/]{1,5}")
_SERIAL = re.compile(r"[\x20-\x7e]{0,64}")
_SERIAL_REPLY = re.compile(r'I4 +A +"([^"]*)"')


# --------------------------------------------------------------------------- vocabulary


class Command(StrEnum):
    """A host-to-scale command; the value is its wire spelling."""

    SEND_STABLE_WEIGHT = "S"
    SEND_WEIGHT_IMMEDIATELY = "SI"
    ZERO = "Z"
    ZERO_IMMEDIATELY = "ZI"
    TARE = "T"
    SERIAL_NUMBER = "I4"
    RESET = "@"


class ReplyHead(StrEnum):
    """The first token of a reply. ``S`` and ``SI`` both answer with ``S``; ``@`` with ``I4``."""

    WEIGHT = "S"
    ZERO = "Z"
    ZERO_IMMEDIATELY = "ZI"
    TARE = "T"
    SERIAL_NUMBER = "I4"


class Stability(StrEnum):
    """Whether a reading was taken with the platform at rest."""

    STABLE = "S"
    DYNAMIC = "D"


class Status(StrEnum):
    """The status token of a reply that carries no value."""

    EXECUTED = "A"
    """Command carried out (``Z A``)."""
    NOT_EXECUTABLE = "I"
    """Command understood but not executable now: busy, or no stability before the timeout."""
    ABOVE_RANGE = "+"
    """Overload (``S +``) or upper limit of the zero/tare range exceeded (``Z +``, ``T +``)."""
    BELOW_RANGE = "-"
    """Underload (``S -``) or lower limit of the zero/tare range exceeded (``Z -``, ``T -``)."""


class ErrorCode(StrEnum):
    """General MT-SICS errors, valid as a reply to any command."""

    SYNTAX = "ES"
    """The scale did not recognise the command."""
    TRANSMISSION = "ET"
    """The scale received faulty bytes (not ASCII, line too long)."""
    LOGICAL = "EL"
    """The command was recognised but cannot be carried out as sent (e.g. a stray parameter)."""


_STATUSES_BY_HEAD: Final[dict[ReplyHead, frozenset[Status]]] = {
    ReplyHead.WEIGHT: frozenset({Status.NOT_EXECUTABLE, Status.ABOVE_RANGE, Status.BELOW_RANGE}),
    ReplyHead.ZERO: frozenset(
        {Status.EXECUTED, Status.NOT_EXECUTABLE, Status.ABOVE_RANGE, Status.BELOW_RANGE}
    ),
    ReplyHead.ZERO_IMMEDIATELY: frozenset(
        {Status.NOT_EXECUTABLE, Status.ABOVE_RANGE, Status.BELOW_RANGE}
    ),
    ReplyHead.TARE: frozenset({Status.NOT_EXECUTABLE, Status.ABOVE_RANGE, Status.BELOW_RANGE}),
    ReplyHead.SERIAL_NUMBER: frozenset({Status.NOT_EXECUTABLE}),
}


# --------------------------------------------------------------------------- errors


class MtsicsError(ValueError):
    """Base of every MT-SICS codec error."""


class EncodeError(MtsicsError):
    """A value cannot be put on the wire (e.g. a weight wider than its 10-character field)."""


class MalformedReplyError(MtsicsError):
    """A reply line from the scale does not follow MT-SICS."""


class CommandError(MtsicsError):
    """A command line the scale cannot accept; :attr:`error_code` is what the scale answers."""

    error_code: ErrorCode = ErrorCode.SYNTAX

    def reply(self) -> ErrorReply:
        """The general error reply a scale sends for this failure."""
        return ErrorReply(self.error_code)


class UnknownCommandError(CommandError):
    """Not a command this scale knows: answered with ``ES``."""

    error_code = ErrorCode.SYNTAX


class CommandParameterError(CommandError):
    """A known command with parameters it does not take: answered with ``EL``."""

    error_code = ErrorCode.LOGICAL


class TransmissionError(CommandError):
    """Bytes that are not a command line at all (not ASCII, too long): answered with ``ET``."""

    error_code = ErrorCode.TRANSMISSION


# --------------------------------------------------------------------------- replies


def _check_weight(value: Decimal, unit: str, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise EncodeError(f"{what} value must be a finite Decimal, got {value!r}")
    if not _UNIT.fullmatch(unit):
        raise EncodeError(f"{what} unit must be 1-5 letters, got {unit!r}")


@dataclass(frozen=True, slots=True)
class WeightReply:
    """``S S <weight> <unit>`` (stable) or ``S D <weight> <unit>`` (dynamic, ``SI`` only)."""

    stability: Stability
    value: Decimal
    unit: str = "kg"

    def __post_init__(self) -> None:
        _check_weight(self.value, self.unit, "weight")


@dataclass(frozen=True, slots=True)
class TareReply:
    """``T S <weight> <unit>``: taring done; ``value`` is the tare now in memory."""

    value: Decimal
    unit: str = "kg"

    def __post_init__(self) -> None:
        _check_weight(self.value, self.unit, "tare")


@dataclass(frozen=True, slots=True)
class ZeroImmediateReply:
    """``ZI S`` / ``ZI D``: zeroed immediately, with the platform stable or in motion."""

    stability: Stability


@dataclass(frozen=True, slots=True)
class SerialNumberReply:
    """``I4 A "<serial>"``: the scale's serial number (also the reply to ``@``)."""

    serial: str

    def __post_init__(self) -> None:
        if '"' in self.serial or not _SERIAL.fullmatch(self.serial):
            raise EncodeError(
                f"serial number must be at most 64 printable ASCII characters "
                f"without '\"', got {self.serial!r}"
            )


@dataclass(frozen=True, slots=True)
class StatusReply:
    """A reply with a status and no value: ``S I``, ``S +``, ``Z A``, ``T -``, ``I4 I`` ..."""

    head: ReplyHead
    status: Status

    def __post_init__(self) -> None:
        if self.status not in _STATUSES_BY_HEAD[self.head]:
            raise EncodeError(f"'{self.head} {self.status}' is not an MT-SICS reply")


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """``ES``, ``ET`` or ``EL``."""

    code: ErrorCode


Reply = WeightReply | TareReply | ZeroImmediateReply | SerialNumberReply | StatusReply | ErrorReply
"""Any reply line a scale sends."""


# --------------------------------------------------------------------------- encoding


def format_weight_field(value: Decimal) -> str:
    """``value`` right-aligned in the 10-character weight field, in plain notation."""
    text = format(value, "f")
    if len(text) > WEIGHT_FIELD_WIDTH:
        raise EncodeError(
            f"weight value {text!r} is wider than the {WEIGHT_FIELD_WIDTH}-character field"
        )
    return text.rjust(WEIGHT_FIELD_WIDTH)


def encode_command(command: Command) -> bytes:
    """One command line, CR LF included."""
    return command.value.encode("ascii") + LINE_END


def encode_reply(reply: Reply) -> bytes:
    """One reply line, CR LF included."""
    match reply:
        case WeightReply(stability=stability, value=value, unit=unit):
            text = f"S {stability} {format_weight_field(value)} {unit}"
        case TareReply(value=value, unit=unit):
            text = f"T S {format_weight_field(value)} {unit}"
        case ZeroImmediateReply(stability=stability):
            text = f"ZI {stability}"
        case SerialNumberReply(serial=serial):
            text = f'I4 A "{serial}"'
        case StatusReply(head=head, status=status):
            text = f"{head} {status}"
        case ErrorReply(code=code):
            text = str(code)
    return text.encode("ascii") + LINE_END


# --------------------------------------------------------------------------- decoding


def _line_text(line: bytes | str) -> str:
    """``line`` as text with one trailing line end removed; ValueError if not ASCII."""
    if isinstance(line, bytes):
        text = line.decode("ascii")
    else:
        text = line
        text.encode("ascii")
    if text.endswith("\r\n"):
        return text[:-2]
    return text.rstrip("\r\n")


def decode_command(line: bytes | str) -> Command:
    """The command on one line (line end optional).

    Raises :class:`TransmissionError` (``ET``) for non-ASCII or over-long input,
    :class:`UnknownCommandError` (``ES``) for anything not a known command, and
    :class:`CommandParameterError` (``EL``) for a known command with parameters.
    """
    try:
        text = _line_text(line)
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise TransmissionError(f"command line {line!r} is not ASCII") from None
    if len(text) > MAX_LINE_LENGTH:
        raise TransmissionError(f"command line of {len(text)} characters exceeds {MAX_LINE_LENGTH}")
    tokens = text.split(" ")
    try:
        command = Command(tokens[0])
    except ValueError:
        raise UnknownCommandError(f"unknown command {tokens[0]!r} in line {text!r}") from None
    parameters = [token for token in tokens[1:] if token]
    if parameters:
        raise CommandParameterError(
            f"command {command.value!r} takes no parameters, got {' '.join(parameters)!r}"
        )
    return command


def _decode_value(token: str, text: str, what: str) -> Decimal:
    if not _NUMBER.fullmatch(token):
        raise MalformedReplyError(f"malformed {what} value {token!r} in reply {text!r}")
    try:
        return Decimal(token)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes this
        raise MalformedReplyError(f"malformed {what} value {token!r} in reply {text!r}") from None


def _decode_unit(token: str, text: str) -> str:
    if not _UNIT.fullmatch(token):
        raise MalformedReplyError(f"malformed unit {token!r} in reply {text!r}")
    return token


def _decode_status(head: ReplyHead, token: str, text: str) -> StatusReply:
    try:
        status = Status(token)
    except ValueError:
        raise MalformedReplyError(
            f"unknown status {token!r} after {head.value!r} in reply {text!r}"
        ) from None
    if status not in _STATUSES_BY_HEAD[head]:
        raise MalformedReplyError(
            f"status {token!r} is not valid after {head.value!r} in reply {text!r}"
        )
    return StatusReply(head, status)


def decode_reply(line: bytes | str) -> Reply:
    """The reply on one line (line end optional); :class:`MalformedReplyError` if not MT-SICS."""
    try:
        text = _line_text(line)
    except (UnicodeDecodeError, UnicodeEncodeError):
        raise MalformedReplyError(f"reply {line!r} is not ASCII") from None
    tokens = text.split()
    if not tokens:
        raise MalformedReplyError(f"empty reply {text!r}")
    first = tokens[0]
    if len(tokens) == 1:
        try:
            return ErrorReply(ErrorCode(first))
        except ValueError:
            raise MalformedReplyError(f"reply {text!r} has no status") from None
    try:
        head = ReplyHead(first)
    except ValueError:
        raise MalformedReplyError(f"unknown reply head {first!r} in reply {text!r}") from None
    status = tokens[1]
    match head:
        case ReplyHead.WEIGHT if status in (Stability.STABLE, Stability.DYNAMIC):
            if len(tokens) != 4:
                raise MalformedReplyError(f"weight reply {text!r} needs a value and a unit")
            value = _decode_value(tokens[2], text, "weight")
            return WeightReply(Stability(status), value, _decode_unit(tokens[3], text))
        case ReplyHead.TARE if status == Stability.STABLE:
            if len(tokens) != 4:
                raise MalformedReplyError(f"tare reply {text!r} needs a value and a unit")
            value = _decode_value(tokens[2], text, "tare")
            return TareReply(value, _decode_unit(tokens[3], text))
        case ReplyHead.ZERO_IMMEDIATELY if status in (Stability.STABLE, Stability.DYNAMIC):
            if len(tokens) != 2:
                raise MalformedReplyError(f"unexpected text after {status!r} in reply {text!r}")
            return ZeroImmediateReply(Stability(status))
        case ReplyHead.SERIAL_NUMBER if status == Status.EXECUTED:
            match = _SERIAL_REPLY.fullmatch(text.strip())
            if match is None:
                raise MalformedReplyError(f"malformed serial number in reply {text!r}")
            try:
                return SerialNumberReply(match.group(1))
            except EncodeError as exc:
                raise MalformedReplyError(f"{exc} in reply {text!r}") from None
    reply = _decode_status(head, status, text)
    if len(tokens) != 2:
        raise MalformedReplyError(f"unexpected text after status {status!r} in reply {text!r}")
    return reply


# --------------------------------------------------------------------------- framing


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """Stands in for a line longer than the framer's limit; its bytes were discarded."""

    length: int
    """How many bytes the line had, without its CR LF."""
    head: bytes
    """Its first few bytes, for logging."""


class LineFramer:
    """Cuts a byte stream into lines at LF, dropping the CR LF (a bare LF is accepted too).

    ``feed`` returns the complete lines so far; a partial line waits for more bytes.
    A line longer than ``max_line_length`` comes out as an :class:`OverlongLine`
    (its bytes are dropped as they arrive, so memory stays bounded).
    """

    def __init__(self, max_line_length: int = MAX_LINE_LENGTH) -> None:
        if max_line_length < 1:
            raise ValueError(f"max_line_length must be positive, got {max_line_length}")
        self._max = max_line_length
        self._buffer = bytearray()
        self._overlong_head: bytes | None = None
        self._overlong_length = 0
        self._overlong_ends_with_cr = False

    @property
    def pending(self) -> bytes:
        """Bytes of the unfinished line held so far (empty while skipping an overlong line)."""
        return bytes(self._buffer)

    def feed(self, data: bytes) -> list[bytes | OverlongLine]:
        """Add ``data``; return every line it completes, in order."""
        out: list[bytes | OverlongLine] = []
        start = 0
        while start <= len(data):
            end = data.find(b"\n", start)
            chunk = data[start:] if end < 0 else data[start:end]
            self._take(chunk)
            if end < 0:
                break
            out.append(self._finish())
            start = end + 1
        return out

    def _take(self, chunk: bytes) -> None:
        if self._overlong_head is not None:
            if chunk:
                self._overlong_length += len(chunk)
                self._overlong_ends_with_cr = chunk.endswith(b"\r")
            return
        self._buffer += chunk
        # One byte of slack: the line's CR is only known to be its end once LF arrives.
        if len(self._buffer) > self._max + 1:
            self._overlong_head = bytes(self._buffer[:16])
            self._overlong_length = len(self._buffer)
            self._overlong_ends_with_cr = self._buffer.endswith(b"\r")
            self._buffer.clear()

    def _finish(self) -> bytes | OverlongLine:
        if self._overlong_head is not None:
            length = self._overlong_length - (1 if self._overlong_ends_with_cr else 0)
            line: bytes | OverlongLine = OverlongLine(length, self._overlong_head[:length])
            self._overlong_head = None
            self._overlong_length = 0
            return line
        raw = bytes(self._buffer)
        self._buffer.clear()
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) > self._max:
            return OverlongLine(len(raw), raw[:16])
        return raw
