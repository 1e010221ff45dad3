"""A tag read as the edge sees it, and its translation from sllurp's report dicts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class BadTagReport(ValueError):
    """A tag report from a reader that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class TagRead:
    """One TagReportData entry: an antenna of a reader saw a tag one or more times."""

    reader_id: str
    antenna: int
    epc: str
    """Upper-case hex."""
    rssi_dbm: float | None
    first_seen: datetime
    last_seen: datetime
    seen_count: int


_HEX = re.compile("[0-9A-F]+")

MAX_EPC_HEX = 124
"""The longest EPC the MQTT contract carries: 31 words of 16 bits (496 bits)."""


_EPC_CACHE: dict[object, str] = {}
"""Raw EPCs already checked: the same tags are reported over and over."""
_EPC_CACHE_MAX = 200_000


def _epc_hex(raw: object) -> str:
    if isinstance(raw, bytes | str):
        known = _EPC_CACHE.get(raw)
        if known is not None:
            return known
    text = _check_epc_hex(raw)
    if isinstance(raw, bytes | str):
        if len(_EPC_CACHE) >= _EPC_CACHE_MAX:
            _EPC_CACHE.clear()
        _EPC_CACHE[raw] = text
    return text


def _check_epc_hex(raw: object) -> str:
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode("ascii", errors="replace")
    elif isinstance(raw, str):
        text = raw
    else:
        raise BadTagReport(f"EPC has unexpected type {type(raw).__name__}")
    text = text.strip().upper()
    if not text or len(text) % 4 or not _HEX.fullmatch(text):
        raise BadTagReport(f"EPC {text[:40]!r} is not hex of whole 16-bit words")
    if len(text) > MAX_EPC_HEX:
        raise BadTagReport(f"EPC of {len(text) * 4} bits is longer than 496 bits")
    return text


def _utc_from_us(value: object, fallback: datetime) -> datetime:
    if isinstance(value, int) and value > 0:
        try:
            return datetime.fromtimestamp(value / 1_000_000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise BadTagReport(f"timestamp {value} µs is not a time") from None
    return fallback


def tag_read_from_sllurp(
    reader_id: str,
    report: dict[str, Any],
    received_at: datetime,
    default_antenna: int | None = None,
) -> TagRead:
    """Translate one of sllurp's TagReportData dicts.

    sllurp gives ``EPC`` (or ``EPC-96``) as hex bytes, timestamps in microseconds
    since the epoch, and leaves out whatever the ROSpec's content selector did not
    ask for; missing timestamps fall back to the time the report arrived. A reader
    asked for reports per tag (not per tag and antenna) sends no ``AntennaID``: the
    read is filed under ``default_antenna`` (one of its antennas, all of which watch
    the same read point); without one, a missing antenna is a bad report.
    """
    raw_epc = report.get("EPC", report.get("EPC-96"))
    if raw_epc is None:
        raise BadTagReport("tag report has no EPC")
    antenna = report.get("AntennaID", default_antenna)
    if not isinstance(antenna, int) or antenna < 1:
        raise BadTagReport(f"tag report has no usable AntennaID (got {antenna!r})")
    rssi = report.get("PeakRSSI")
    first = _utc_from_us(report.get("FirstSeenTimestampUTC"), received_at)
    last = _utc_from_us(report.get("LastSeenTimestampUTC"), first)
    count = report.get("TagSeenCount", 1)
    return TagRead(
        reader_id=reader_id,
        antenna=antenna,
        epc=_epc_hex(raw_epc),
        rssi_dbm=float(rssi) if isinstance(rssi, int | float) else None,
        first_seen=min(first, last),
        last_seen=max(first, last),
        seen_count=count if isinstance(count, int) and count > 0 else 1,
    )
