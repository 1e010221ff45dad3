"""A reader's faults and antenna events, from what its link sees to the health message.

Pure: :func:`notification_events` reads a sllurp READER_EVENT_NOTIFICATION (antenna
connected or disconnected, reader exception, report buffer filling or overflowing) and
:func:`error_message_event` an LLRP ERROR_MESSAGE; a :class:`FaultStreak` keeps a
reader that stays unreachable from making one event per connection attempt; a
:class:`ReaderEventLog` holds each reader's events until enough health messages
carried them.

Health messages are not spooled (a lost one is replaced by the next), so an event rides
in every health message until :attr:`ReaderEventLog.carry` of them reached the broker,
and the cloud keeps one copy per (edge, reader, time, kind, antenna). A reader with more
than :data:`~protocols.mqtt.MAX_EVENTS_PER_READER` events waiting (a flapping one, a
broker down for long) drops its oldest, counted in :attr:`ReaderEventLog.dropped`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from protocols.mqtt import (
    MAX_EVENT_DETAIL,
    MAX_EVENTS_PER_READER,
    ReaderEventKind,
    ReaderEventMessage,
)

CARRY = 3
"""Health messages the broker took that carry an event before the edge forgets it."""


@dataclass(frozen=True, slots=True)
class SeenEvent:
    """An event as a reader link saw it, before it has a time."""

    kind: ReaderEventKind
    antenna: int | None = None
    detail: str = ""


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def notification_events(message: Any) -> list[SeenEvent]:
    """The faults and antenna events in a sllurp READER_EVENT_NOTIFICATION (none for a
    ConnectionAttemptEvent, a ROSpec event or anything else)."""
    try:
        data = message.msgdict["READER_EVENT_NOTIFICATION"]["ReaderEventNotificationData"]
    except (AttributeError, KeyError, TypeError):
        return []
    if not isinstance(data, Mapping):
        return []
    found: list[SeenEvent] = []
    antenna = data.get("AntennaEvent")
    if isinstance(antenna, Mapping):
        try:
            antenna_id = int(antenna["AntennaID"])
        except (KeyError, TypeError, ValueError):
            antenna_id = 0
        if 1 <= antenna_id <= 65535:
            connected = str(antenna.get("EventType")) == "Connected"
            kind = (
                ReaderEventKind.ANTENNA_CONNECTED
                if connected
                else ReaderEventKind.ANTENNA_DISCONNECTED
            )
            found.append(SeenEvent(kind, antenna_id))
    exception = data.get("ReaderExceptionEvent")
    if isinstance(exception, Mapping):
        text = _text(exception.get("Message", "")).strip() or "no message"
        where = exception.get("AntennaID")
        suffix = f" (antenna {where})" if where is not None else ""
        found.append(SeenEvent(ReaderEventKind.READER_EXCEPTION, None, f"{text}{suffix}"))
    if "ReportBufferOverflowErrorEvent" in data:
        found.append(
            SeenEvent(ReaderEventKind.LLRP_ERROR, None, "report buffer overflow: reports lost")
        )
    level = data.get("ReportBufferLevelWarningEvent")
    if level is not None:
        percent = level.get("ReportBufferPercentageFull") if isinstance(level, Mapping) else None
        full = f" ({percent} % full)" if percent is not None else ""
        found.append(SeenEvent(ReaderEventKind.LLRP_ERROR, None, f"report buffer filling{full}"))
    return found


def error_message_event(message: Any) -> SeenEvent:
    """An LLRP ERROR_MESSAGE from the reader (it could not parse what it was sent)."""
    try:
        status = message.msgdict["ERROR_MESSAGE"]["LLRPStatus"]
        code = str(status.get("StatusCode", "unknown"))
        said = _text(status.get("ErrorDescription", "")).strip()
    except (AttributeError, KeyError, TypeError):
        code, said = "unknown", ""
    return SeenEvent(ReaderEventKind.LLRP_ERROR, None, f"ERROR_MESSAGE {code}: {said}".rstrip(": "))


class FaultStreak:
    """A reader's connection faults since it last inventoried: the first of a kind and
    detail is news, the same again (every retry of a reader that stays unreachable) is
    not; :meth:`recovered` ends the streak, with what to say of it."""

    def __init__(self) -> None:
        self._last: SeenEvent | None = None
        self._since: float | None = None
        self._faults = 0

    @property
    def open(self) -> bool:
        return self._since is not None

    def fault(self, event: SeenEvent, now_s: float) -> bool:
        """Count ``event`` (at monotonic ``now_s``); True when it is news."""
        self._faults += 1
        if self._since is None:
            self._since = now_s
        news = event != self._last
        self._last = event
        return news

    def recovered(self, now_s: float) -> SeenEvent | None:
        """The reader inventories again: a ``reconnected`` event saying after how long and
        how many faults, or None when no fault came before."""
        if self._since is None:
            return None
        down_s, faults = now_s - self._since, self._faults
        self._last, self._since, self._faults = None, None, 0
        attempts = "1 fault" if faults == 1 else f"{faults} faults"
        return SeenEvent(ReaderEventKind.RECONNECTED, None, f"after {down_s:.1f} s ({attempts})")


@dataclass(slots=True)
class _Held:
    message: ReaderEventMessage
    carried: int = 0


class ReaderEventLog:
    """Each reader's events waiting to be carried by health messages."""

    def __init__(self, carry: int = CARRY, most_per_reader: int = MAX_EVENTS_PER_READER) -> None:
        if carry < 1 or most_per_reader < 1:
            raise ValueError("carry and most_per_reader must be at least 1")
        self.carry = carry
        self.most_per_reader = most_per_reader
        self._held: dict[str, list[_Held]] = {}
        self.dropped = 0
        """Events dropped before enough health messages carried them (too many waiting)."""

    def record(self, reader_id: str, event: SeenEvent, time: datetime) -> ReaderEventMessage:
        detail = event.detail
        if len(detail) > MAX_EVENT_DETAIL:
            detail = detail[: MAX_EVENT_DETAIL - 3] + "..."
        message = ReaderEventMessage(
            kind=event.kind, time=time, antenna=event.antenna, detail=detail
        )
        held = self._held.setdefault(reader_id, [])
        held.append(_Held(message))
        if len(held) > self.most_per_reader:
            del held[: len(held) - self.most_per_reader]
            self.dropped += 1
        return message

    def waiting(self, reader_id: str) -> list[ReaderEventMessage]:
        """The reader's events for the next health message, oldest first."""
        return [h.message for h in self._held.get(reader_id, ())]

    def carried(self, messages: Iterable[ReaderEventMessage]) -> None:
        """A health message with ``messages`` reached the broker: count it for each, and
        forget those carried often enough."""
        sent = {id(m) for m in messages}
        for reader_id in list(self._held):
            kept = []
            for h in self._held[reader_id]:
                if id(h.message) in sent:
                    h.carried += 1
                if h.carried < self.carry:
                    kept.append(h)
            if kept:
                self._held[reader_id] = kept
            else:
                del self._held[reader_id]
