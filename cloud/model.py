"""The cloud's domain records: reads, tag locations, moves, reader and edge status.

Plain frozen dataclasses shared by the ingester (which produces them), the live
hub (which keeps the latest of them), the read queries and the API (which
serialise them; pydantic and FastAPI handle dataclasses directly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Read:
    """One observation: an EPC seen at a read point (``time`` is its last_seen)."""

    time: datetime
    epc: str
    read_point: str
    reader_id: str
    antenna: int
    rssi_dbm: float | None
    seen_count: int
    edge_id: str
    first_seen: datetime

    @property
    def last_seen(self) -> datetime:
        """The observation's last sighting: its ``time``."""
        return self.time


@dataclass(frozen=True, slots=True)
class TagLocation:
    """Where an EPC is now: the read point of its newest observation."""

    epc: str
    read_point: str
    reader_id: str
    antenna: int
    edge_id: str
    rssi_dbm: float | None
    last_seen: datetime
    arrived_at: datetime
    """When the tag was first seen at this read point (since its last move)."""


@dataclass(frozen=True, slots=True)
class TagMove:
    """A tag seen at a new read point; ``from_read_point`` is None for a tag never seen."""

    epc: str
    from_read_point: str | None
    to_read_point: str
    at: datetime
    reader_id: str


@dataclass(frozen=True, slots=True)
class ReaderStatus:
    """A reader as its edge's health messages describe it."""

    reader_id: str
    edge_id: str
    state: str
    reads_per_s: dict[str, float]
    last_report_at: datetime | None
    last_seen: datetime
    """Time of the newest health message that mentioned the reader."""
    clock_offset_s: float | None = None
    """Edge clock minus reader clock (s), as the edge estimates it; None: not reported."""


@dataclass(frozen=True, slots=True)
class EdgeState:
    """An edge agent's online/offline state from its (retained) status messages."""

    edge_id: str
    state: str
    last_seen: datetime
    changed_at: datetime
    spool: SpoolDepth | None = None
    """The edge's spool by its newest health message; None: not reported."""


@dataclass(frozen=True, slots=True)
class SpoolDepth:
    """What waits in an edge's spool for the cloud's confirmation, by a health message."""

    batches: int
    bytes: int
    max_bytes: int
    full: bool
    refused_batches: int
    at: datetime
    """The health message's time (the edge's clock)."""


EDGE_COLUMNS = "edge_id, state, last_seen, changed_at, spool, spool_at"
"""The ``edges`` columns :func:`edge_state_of_row` reads, in its order."""


def edge_state_of_row(row: tuple[Any, ...]) -> EdgeState:
    """An edge from a row of :data:`EDGE_COLUMNS` (``spool`` a JSON object, or null)."""
    edge_id, state, last_seen, changed_at, doc, at = row
    spool = None
    if isinstance(doc, Mapping) and at is not None:
        spool = SpoolDepth(
            batches=int(doc["batches"]),
            bytes=int(doc["bytes"]),
            max_bytes=int(doc["max_bytes"]),
            full=bool(doc["full"]),
            refused_batches=int(doc.get("refused_batches", 0)),
            at=at,
        )
    return EdgeState(edge_id, state, last_seen, changed_at, spool)


@dataclass(frozen=True, slots=True)
class PassageRecord:
    """A door crossing an edge reported (``time``: when it crossed the door's middle)."""

    time: datetime
    door: str
    direction: str
    epc: str
    cases: list[str]
    confidence: float
    edge_id: str
    stored_at: datetime


@dataclass(frozen=True, slots=True)
class ZoneEventRecord:
    """A tag's zone changed (arrived, moved, departed, unknown, present)."""

    time: datetime
    kind: str
    epc: str
    zone: str
    from_zone: str | None
    edge_id: str
    stored_at: datetime


@dataclass(frozen=True, slots=True)
class WeightRecord:
    """A stable weight of a scale, with the pallet found on it (``epc``) if any."""

    time: datetime
    scale: str
    weight_kg: float
    epc: str | None
    edge_id: str
    stored_at: datetime


@dataclass(frozen=True, slots=True)
class TagPlace:
    """Where a tag is by the edges' events."""

    epc: str
    state: str
    """present (in ``zone``), departed (from ``last_zone``), unknown (its zone's readers
    are out), received (came in through ``door``) or shipped (left through ``door``)"""
    zone: str | None
    last_zone: str | None
    door: str | None
    pallet: str | None
    """For a case: the pallet it crossed a door with."""
    changed_at: datetime
    """Time of the event that put it here."""
    stored_at: datetime


@dataclass(frozen=True, slots=True)
class ReaderEventRecord:
    """A fault of a reader or an antenna event, as its edge's health message carried it
    (``time``: when the edge saw it, on its clock; ``stored_at``: the cloud's)."""

    id: int
    time: datetime
    edge_id: str
    reader_id: str
    kind: str
    antenna: int | None
    detail: str
    stored_at: datetime


READER_EVENT_COLUMNS = "id, time, edge_id, reader_id, kind, antenna, detail, stored_at"
"""The ``reader_events`` columns of a :class:`ReaderEventRecord`, in its order."""


@dataclass(slots=True)
class LiveChange:
    """What one committed ingest transaction changed, for the live feeds."""

    reads: list[Read] = field(default_factory=list)
    read_count: int = 0
    locations: list[TagLocation] = field(default_factory=list)
    """Every tag location written (arrivals, moves and refreshed last_seen)."""
    moves: list[TagMove] = field(default_factory=list)
    readers: list[ReaderStatus] = field(default_factory=list)
    edges: list[EdgeState] = field(default_factory=list)
    passages: list[PassageRecord] = field(default_factory=list)
    zone_events: list[ZoneEventRecord] = field(default_factory=list)
    weights: list[WeightRecord] = field(default_factory=list)
    places: list[TagPlace] = field(default_factory=list)
    """Every tag place written by the events of the commit."""
    location_count: int | None = None
    """How many locations the commit wrote when ``locations`` holds only the newest of
    them (a change cut to the live view, :func:`cloud.live.delta.trimmed`); None: all
    are in ``locations``. Likewise the counts below for their lists."""
    move_count: int | None = None
    passage_count: int | None = None
    zone_event_count: int | None = None
    place_count: int | None = None
    reader_events: list[ReaderEventRecord] = field(default_factory=list)
    """The readers' faults and antenna events stored by the commit (new ones only),
    oldest first."""

    def __bool__(self) -> bool:
        return bool(
            self.read_count
            or self.locations
            or self.readers
            or self.edges
            or self.passages
            or self.zone_events
            or self.weights
            or self.reader_events
        )
