"""What the event core concludes: zone events and door passages, in domain words.

Every event carries ``time``: when the movement truly happened as far as the reads
show (the crossing of a door's middle, the last read in a zone a tag left), not
when the core made up its mind. All times are those of the reads (the reader
clock, as corrected by the edge) and of the ``now`` the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

Direction = Literal["inbound", "outbound"]
Side = Literal["outside", "inside"]

SSCC96_HEADER = "31"
SGTIN96_HEADER = "30"


def is_pallet(epc: str) -> bool:
    """An SSCC-96 EPC (GS1 header 0x31): a pallet's label."""
    return len(epc) == 24 and epc.startswith(SSCC96_HEADER)


def is_case(epc: str) -> bool:
    """An SGTIN-96 EPC (GS1 header 0x30): a case (or item) on a pallet."""
    return len(epc) == 24 and epc.startswith(SGTIN96_HEADER)


class ZoneEventKind(StrEnum):
    ARRIVED = "arrived"
    """The tag is in ``zone`` now; it was in no zone before."""
    MOVED = "moved"
    """The tag went from ``from_zone`` to ``zone`` without leaving the readers' range."""
    DEPARTED = "departed"
    """The tag left ``zone`` (``time`` = its last read there)."""
    UNKNOWN = "unknown"
    """Every reader of ``zone`` is down or silent: where the tag is cannot be told."""
    PRESENT = "present"
    """After ``unknown``: the recovered reader hears the tag in ``zone`` again."""


@dataclass(frozen=True, slots=True)
class ZoneEvent:
    kind: ZoneEventKind
    epc: str
    zone: str
    """The zone arrived in, moved to, departed from, unknown in or present again in."""
    time: datetime
    from_zone: str | None = None
    """For ``moved``: the zone the tag came from."""


@dataclass(frozen=True, slots=True)
class SideEvidence:
    """What one side of a door heard of a tag during one crossing."""

    reads: int
    peak_rssi_dbm: float | None
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class PassageEvidence:
    outside: SideEvidence
    inside: SideEvidence

    @property
    def first_seen(self) -> datetime | None:
        times = [t for t in (self.outside.first_seen, self.inside.first_seen) if t is not None]
        return min(times) if times else None

    @property
    def last_seen(self) -> datetime | None:
        times = [t for t in (self.outside.last_seen, self.inside.last_seen) if t is not None]
        return max(times) if times else None


@dataclass(frozen=True, slots=True)
class Passage:
    """A tag crossed a dock door. For a pallet, ``epc`` is its SSCC-96 and ``cases`` the
    SGTIN-96 EPCs that crossed with it; a lone tag has ``cases`` empty."""

    door: str
    direction: Direction
    time: datetime
    """When the tag crossed the door's middle."""
    epc: str
    cases: tuple[str, ...]
    confidence: float
    """0..1: how sure the reads make the passage (reads per side, signal, dominance)."""
    evidence: PassageEvidence


Event = ZoneEvent | Passage
