"""Device faults on a schedule: what can go wrong with a reader or a scale, and when.

A fault is written ``TARGET:KIND[=VALUE][@AT][+FOR]`` on the command line and in
scenario files::

    reader-door-2:drop@30s              the reader drops its TCP connection at 30 s
    reader-door-2:silent@30s+1m         keeps TCP open but sends nothing from 30 s to 90 s
    reader-zone-a:antenna=3@10s+20s     antenna 3 disconnects at 10 s, reconnects at 30 s
    reader-door-1:skew=-90s@0s          the reader's clock runs 90 s behind from the start
    scale-1:overload@2m+15s             the scale reports overload from 120 s to 135 s

``AT`` is simulated time since the scenario started (default ``0s``); ``FOR`` is
how long the fault lasts (default: until the simulator stops; ``drop`` is
instantaneous and takes none). Times are a number with an optional unit
``ms``, ``s``, ``m`` or ``h``, parts may be combined (``1m30s``); a bare number
is seconds. Pure code: parsing, validation against the layout, and the
start/end actions a schedule produces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from protocols.layout import Layout

__all__ = [
    "Fault",
    "FaultAction",
    "FaultError",
    "FaultKind",
    "check_fault",
    "fault_from_mapping",
    "format_duration",
    "parse_duration",
    "parse_fault",
]


class FaultError(ValueError):
    """A fault description is wrong; the message names the bad part."""


class FaultKind(StrEnum):
    DROP = "drop"
    """The reader closes its TCP connection (the client may reconnect)."""
    SILENT = "silent"
    """The reader keeps the connection open but stops sending anything."""
    ANTENNA = "antenna"
    """Antenna ``=ID`` is disconnected: the reader reports the event, the port reads nothing."""
    SKEW = "skew"
    """The reader's clock is off by ``=SECONDS`` (signed) in its report timestamps."""
    OVERLOAD = "overload"
    """The scale reports overload whatever the load."""


_READER_KINDS = frozenset({FaultKind.DROP, FaultKind.SILENT, FaultKind.ANTENNA, FaultKind.SKEW})
_SCALE_KINDS = frozenset({FaultKind.OVERLOAD})
_KINDS_TEXT = ", ".join(k.value for k in FaultKind)

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)?")
_TARGET = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Fault:
    """One scheduled fault of one device."""

    target: str
    """A reader id or a scale id of the layout."""
    kind: FaultKind
    at_s: float = 0.0
    """Simulated seconds after the scenario start."""
    duration_s: float | None = None
    """How long it lasts; None: until the end (always None for ``drop``)."""
    value: float | None = None
    """Antenna id for ``antenna``, seconds for ``skew``; None otherwise."""

    @property
    def end_s(self) -> float | None:
        return None if self.duration_s is None else self.at_s + self.duration_s

    def __str__(self) -> str:
        text = f"{self.target}:{self.kind.value}"
        if self.kind is FaultKind.ANTENNA and self.value is not None:
            text += f"={int(self.value)}"
        elif self.kind is FaultKind.SKEW and self.value is not None:
            text += f"={self.value:+g}s"
        text += f"@{format_duration(self.at_s)}"
        if self.duration_s is not None:
            text += f"+{format_duration(self.duration_s)}"
        return text


@dataclass(frozen=True, slots=True)
class FaultAction:
    """A fault starting (``active``) or ending, for the device shell to carry out."""

    fault: Fault
    active: bool


def format_duration(seconds: float) -> str:
    return f"{seconds:g}s"


def parse_duration(text: str, what: str = "duration") -> float:
    """``'90'``, ``'90s'``, ``'1.5m'``, ``'1m30s'``, ``'250ms'`` -> seconds (not negative)."""
    s = text.strip()
    if not s:
        raise FaultError(f"{what}: empty; expected e.g. '30s', '2m' or '1m30s'")
    pos = 0
    total = 0.0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None:
            raise FaultError(
                f"{what}: {text!r} is not a duration; expected e.g. '30s', '2m', '1m30s' or '250ms'"
            )
        total += float(m.group(1)) * _UNITS[m.group(2) or "s"]
        pos = m.end()
    return total


def _parse_signed_seconds(text: str, what: str) -> float:
    s = text.strip()
    sign = -1.0 if s.startswith("-") else 1.0
    return sign * parse_duration(s.lstrip("+-"), what)


def _make(
    target: str,
    kind_text: str,
    value_text: str | None,
    at_s: float,
    duration_s: float | None,
    where: str,
) -> Fault:
    if not _TARGET.match(target):
        raise FaultError(f"{where}: target {target!r} is not a reader or scale id")
    try:
        kind = FaultKind(kind_text.strip().lower())
    except ValueError:
        raise FaultError(
            f"{where}: unknown kind {kind_text!r}; expected one of: {_KINDS_TEXT}"
        ) from None
    value: float | None = None
    if kind is FaultKind.ANTENNA:
        if value_text is None or not value_text.strip().isdigit():
            raise FaultError(
                f"{where}: kind 'antenna' needs the antenna id, e.g. 'antenna=3' "
                f"(got {value_text!r})"
            )
        value = float(int(value_text))
        if not 1 <= value <= 32:
            raise FaultError(f"{where}: antenna id {value_text!r} is not 1-32")
    elif kind is FaultKind.SKEW:
        if value_text is None:
            raise FaultError(f"{where}: kind 'skew' needs the offset, e.g. 'skew=+90s'")
        value = _parse_signed_seconds(value_text, f"{where}: skew value")
    elif value_text is not None:
        raise FaultError(f"{where}: kind {kind.value!r} takes no value (got {value_text!r})")
    if kind is FaultKind.DROP and duration_s is not None:
        raise FaultError(f"{where}: kind 'drop' is instantaneous and takes no '+FOR' duration")
    if duration_s is not None and duration_s <= 0:
        raise FaultError(f"{where}: duration must be positive (got {duration_s:g}s)")
    return Fault(target=target, kind=kind, at_s=at_s, duration_s=duration_s, value=value)


def parse_fault(text: str) -> Fault:
    """Parse ``TARGET:KIND[=VALUE][@AT][+FOR]``; :class:`FaultError` names the bad part."""
    where = f"fault {text!r}"
    target, sep, rest = text.strip().partition(":")
    if not sep or not target:
        raise FaultError(
            f"{where}: expected TARGET:KIND[=VALUE][@AT][+FOR], e.g. 'reader-1:silent@30s'"
        )
    kind_part, at_sep, time_part = rest.partition("@")
    kind_text, eq, value_text = kind_part.partition("=")
    if not kind_text:
        raise FaultError(f"{where}: missing KIND after ':'; expected one of: {_KINDS_TEXT}")
    at_s = 0.0
    duration_s: float | None = None
    if at_sep:
        at_text, plus, for_text = time_part.partition("+")
        at_s = parse_duration(at_text, f"{where}: time after '@'")
        if plus:
            duration_s = parse_duration(for_text, f"{where}: duration after '+'")
    return _make(target, kind_text, value_text if eq else None, at_s, duration_s, where)


def fault_from_mapping(data: Any, where: str = "fault") -> Fault:
    """A fault from a scenario file: the text form, or ``{target, kind, value?, at?, for?}``."""
    if isinstance(data, str):
        return parse_fault(data)
    if not isinstance(data, dict):
        raise FaultError(f"{where}: expected a string or a mapping, got {type(data).__name__}")
    unknown = set(data) - {"target", "kind", "value", "at", "for"}
    if unknown:
        raise FaultError(f"{where}: unknown field(s) {sorted(unknown)}")
    for required in ("target", "kind"):
        if required not in data:
            raise FaultError(f"{where}.{required}: missing")

    def seconds(key: str) -> float | None:
        raw = data.get(key)
        if raw is None:
            return None
        if isinstance(raw, bool):
            raise FaultError(f"{where}.{key}: {raw!r} is not a duration")
        if isinstance(raw, int | float):
            return float(raw)
        return parse_duration(str(raw), f"{where}.{key}")

    value = data.get("value")
    return _make(
        str(data["target"]),
        str(data["kind"]),
        None if value is None else str(value),
        seconds("at") or 0.0,
        seconds("for"),
        where,
    )


def check_fault(fault: Fault, layout: Layout, where: str | None = None) -> None:
    """Check that the target exists and can have this kind of fault."""
    where = where or f"fault {str(fault)!r}"
    readers = {r.id: r for r in layout.readers}
    scales = {s.id for s in layout.scales}
    if fault.kind in _READER_KINDS:
        reader = readers.get(fault.target)
        if reader is None:
            hint = " (it is a scale)" if fault.target in scales else ""
            raise FaultError(
                f"{where}: target {fault.target!r} is not a reader of the layout{hint}; "
                f"kind {fault.kind.value!r} applies to readers"
            )
        if fault.kind is FaultKind.ANTENNA:
            ids = sorted(a.id for a in reader.antennas)
            if int(fault.value or 0) not in ids:
                raise FaultError(
                    f"{where}: reader {reader.id!r} has no antenna {int(fault.value or 0)} "
                    f"(it has {ids})"
                )
    elif fault.kind in _SCALE_KINDS and fault.target not in scales:
        hint = " (it is a reader)" if fault.target in readers else ""
        raise FaultError(
            f"{where}: target {fault.target!r} is not a scale of the layout{hint}; "
            f"kind {fault.kind.value!r} applies to scales"
        )
