"""What ingested messages change: tag locations and moves, reader and edge status.

Pure functions of the messages and the current state, no I/O; the store reads the
current rows, calls these, and writes what they return.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import islice
from operator import attrgetter
from typing import Protocol

from cloud.model import EdgeState, Read, ReaderStatus, SpoolDepth, TagLocation, TagMove
from protocols.mqtt import EdgeHealth, EdgeStatus, ReaderEventMessage
from protocols.observations_in import ObservationBatchIn, ObservationIn


def reads_of_batch(batch: ObservationBatchIn) -> list[Read]:
    """The batch's observations as reads (``time`` is each observation's last_seen)."""
    return [_read(o, batch.edge_id) for o in batch.observations]


def _read(o: ObservationIn, edge_id: str) -> Read:
    return Read(
        time=o.last_seen,
        epc=o.epc,
        read_point=o.read_point,
        reader_id=o.reader_id,
        antenna=o.antenna,
        rssi_dbm=o.rssi_dbm,
        seen_count=o.seen_count,
        edge_id=edge_id,
        first_seen=o.first_seen,
    )


_last_seen = attrgetter("last_seen")
EXACT = timedelta(0)
"""Every refresh of a tag's ``last_seen`` written (:func:`locate_tags`)."""


class BatchReads:
    """The observation batches of a group, each sorted newest first once (C code, not a
    loop here): what the live feed's newest reads and each tag's newest read are taken
    from. Reads become :class:`Read` objects only where they are needed."""

    __slots__ = ("_batches", "_received")

    def __init__(self, batches: Iterable[ObservationBatchIn]) -> None:
        self._received = list(batches)
        self._batches = [
            (b.edge_id, sorted(b.observations, key=_last_seen, reverse=True))  # stable
            for b in self._received
        ]

    def newest(self, most: int | None) -> list[Read]:
        """The ``most`` newest reads, newest first, equal times in the batches' order
        (what ``heapq.nlargest`` over every read gives); every read, in the batches'
        order, when ``most`` is None."""
        if most is None:
            return [r for b in self._received for r in reads_of_batch(b)]
        tops = [[(o, e) for o in ordered[:most]] for e, ordered in self._batches]
        merged = heapq.merge(*tops, key=_pair_last_seen, reverse=True)  # stable
        return [_read(o, e) for o, e in islice(merged, most)]

    def newest_per_epc(self) -> dict[str, Read]:
        """:func:`newest_per_epc` of every read, with one :class:`Read` per EPC."""
        return {epc: _read(o, e) for epc, (o, e) in self.newest_sightings().items()}

    def newest_sightings(self) -> dict[str, tuple[ObservationIn, str]]:
        """Each EPC's newest observation (as :meth:`newest_per_epc` picks it) with its
        batch's edge: what :func:`locate_newest` takes, with no object made per EPC."""
        best: dict[str, tuple[ObservationIn, str]] = {}
        for edge_id, ordered in self._batches:
            for epc, o in _newest_of_sorted(ordered).items():
                h = best.get(epc)
                if h is not None and (
                    o.last_seen < h[0].last_seen
                    or (o.last_seen == h[0].last_seen and _obs_rssi(o) <= _obs_rssi(h[0]))
                ):
                    continue
                best[epc] = (o, edge_id)
        return best


def newest_reads(batches: Sequence[ObservationBatchIn], most: int | None) -> list[Read]:
    """:meth:`BatchReads.newest` of the batches."""
    return BatchReads(batches).newest(most)


def _pair_last_seen(p: tuple[ObservationIn, str]) -> datetime:
    return p[0].last_seen


def newest_read_per_epc(batches: Iterable[ObservationBatchIn]) -> dict[str, Read]:
    """:func:`newest_per_epc` of the batches' reads, without a :class:`Read` for every
    observation: one per EPC."""
    return BatchReads(batches).newest_per_epc()


def _newest_of_sorted(ordered: Sequence[ObservationIn]) -> dict[str, ObservationIn]:
    """Each EPC's newest observation in one batch sorted newest first (stable); on equal
    times the stronger one, then the first one (the ties of time, rare, are settled by
    RSSI)."""
    newest: dict[str, ObservationIn] = {}
    setdefault = newest.setdefault
    for o in ordered:
        h = setdefault(o.epc, o)
        if h is not o and h.last_seen == o.last_seen and _obs_rssi(o) > _obs_rssi(h):
            newest[o.epc] = o
    return newest


def _obs_rssi(o: ObservationIn) -> float:
    return o.rssi_dbm if o.rssi_dbm is not None else float("-inf")


def _rssi(r: Read) -> float:
    return r.rssi_dbm if r.rssi_dbm is not None else float("-inf")


def newest_per_epc(reads: Iterable[Read]) -> dict[str, Read]:
    """Each EPC's newest read; on equal times the stronger one, then the first one."""
    best: dict[str, Read] = {}
    for r in reads:
        b = best.get(r.epc)
        if b is None or r.time > b.time or (r.time == b.time and _rssi(r) > _rssi(b)):
            best[r.epc] = r
    return best


class Whereabouts(Protocol):
    """What :func:`locate_tags` needs of a tag's current location (a
    :class:`~cloud.model.TagLocation` has it; the store reads only these columns)."""

    @property
    def read_point(self) -> str: ...
    @property
    def last_seen(self) -> datetime: ...
    @property
    def arrived_at(self) -> datetime: ...


class Sighting(Protocol):
    """What :func:`locate_newest` needs of a tag's newest read (an
    :class:`~protocols.observations_in.ObservationIn` has it, and a :class:`Read`)."""

    @property
    def read_point(self) -> str: ...
    @property
    def reader_id(self) -> str: ...
    @property
    def antenna(self) -> int: ...
    @property
    def rssi_dbm(self) -> float | None: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime: ...


class StandingTags:
    """Where this ingester last knew each tag to stand (read point, stored
    ``last_seen``, ``arrived_at``): the rows it read from ``tag_locations`` or wrote
    there, once committed.

    :meth:`unchanged` tells the reads :func:`locate_newest` would decide nothing for
    on those rows (the same read point within the rewrite resolution, or older than
    the row), so their rows need not be read at all: in a warehouse most tags of every
    group stand where they stood. :meth:`row` is the row itself, so a tag that moves
    or is due a rewrite is decided on it without reading it either. Exact while this
    ingester is the only writer of its tags' rows (the ingest alone writes
    ``tag_locations``, one group at a time); ingesters sharing one site's messages
    (``ingest_group``) must not use it. At most ``most`` tags: full, it forgets the
    tenth it learned longest ago (a miss only costs the read it saves). Pure."""

    def __init__(self, most: int = 500_000) -> None:
        self.most = most
        self._where: dict[str, tuple[str, datetime, datetime]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def unchanged(self, epc: str, read: Sighting, resolution: timedelta) -> bool:
        known = self._where.get(epc)
        if known is None:
            return False
        read_point, last_seen, _ = known
        if read.last_seen < last_seen:
            return True  # a late read: its row is newer
        return read.read_point == read_point and read.last_seen - last_seen < resolution

    def row(self, epc: str) -> tuple[str, datetime, datetime] | None:
        """The tag's row as this ingester knows it: (read point, last_seen,
        arrived_at), or None when it knows none."""
        return self._where.get(epc)

    def note(self, epc: str, read_point: str, last_seen: datetime, arrived_at: datetime) -> None:
        """A committed row of ``epc`` (an older one than it knows changes nothing: the
        row only moves forward, as the upsert does)."""
        known = self._where.get(epc)
        if known is not None:
            if last_seen >= known[1]:
                self._where[epc] = (read_point, last_seen, arrived_at)
            return
        if len(self._where) >= self.most:
            oldest = list(islice(self._where, max(1, self.most // 10)))
            for old in oldest:
                del self._where[old]
        self._where[epc] = (read_point, last_seen, arrived_at)


def locate_tags(
    reads: Iterable[Read],
    current: Mapping[str, Whereabouts],
    *,
    resolution: timedelta = EXACT,
) -> tuple[list[TagLocation], list[TagMove]]:
    """New locations for the tags in ``reads`` and the moves among them (sorted by EPC).

    A tag takes the read point of its newest read. A read older than the tag's
    current location (a late batch) changes nothing; a read at the same read
    point refreshes ``last_seen`` (and the reader, antenna and RSSI) once it is
    ``resolution`` or more past the stored ``last_seen``, and is not written before
    (a tag standing in view of a reader is read every second: its row is rewritten
    once per ``resolution``, not once per batch); a read elsewhere is a move (an
    arrival when the tag had no location), always written, and restarts
    ``arrived_at`` at the read's first sighting.
    """
    newest = {epc: (r, r.edge_id) for epc, r in newest_per_epc(reads).items()}
    return locate_newest(newest, current, resolution=resolution)


def locate_newest(
    newest: Mapping[str, tuple[Sighting, str]],
    current: Mapping[str, Whereabouts],
    *,
    resolution: timedelta = EXACT,
) -> tuple[list[TagLocation], list[TagMove]]:
    """:func:`locate_tags` of reads already reduced to each tag's newest, each with its
    edge (:meth:`BatchReads.newest_sightings`)."""
    locations: list[TagLocation] = []
    moves: list[TagMove] = []
    get = current.get
    for epc in sorted(newest):
        r, edge_id = newest[epc]
        here = get(epc)
        if here is None:
            arrived_at = r.first_seen
            moves.append(TagMove(epc, None, r.read_point, r.last_seen, r.reader_id))
        elif r.last_seen < here.last_seen:
            continue
        elif here.read_point != r.read_point:
            arrived_at = r.first_seen
            moves.append(TagMove(epc, here.read_point, r.read_point, r.last_seen, r.reader_id))
        elif r.last_seen - here.last_seen < resolution:
            continue
        else:
            arrived_at = here.arrived_at
        locations.append(
            TagLocation(
                epc,
                r.read_point,
                r.reader_id,
                r.antenna,
                edge_id,
                r.rssi_dbm,
                r.last_seen,
                arrived_at,
            )
        )
    return locations, moves


@dataclass(frozen=True, slots=True)
class ReaderChange:
    status: ReaderStatus
    previous_state: str | None
    """The state before this message; None for a reader never reported."""

    @property
    def state_changed(self) -> bool:
        return self.previous_state != self.status.state


def update_readers(
    health: Iterable[EdgeHealth], current: Mapping[str, ReaderStatus]
) -> list[ReaderChange]:
    """Reader status after the health messages (in order); a message older than what
    is known of a reader is ignored for that reader. One change per reader, the last."""
    known = dict(current)
    changes: dict[str, ReaderChange] = {}
    for msg in health:
        for rh in msg.readers:
            before = known.get(rh.reader_id)
            if before is not None and msg.at < before.last_seen:
                continue
            status = ReaderStatus(
                reader_id=rh.reader_id,
                edge_id=msg.edge_id,
                state=rh.state.value,
                reads_per_s=dict(rh.reads_per_s),
                last_report_at=rh.last_report_at,
                last_seen=msg.at,
                clock_offset_s=rh.clock_offset_s,
            )
            first = changes.get(rh.reader_id)
            previous_state = (
                first.previous_state
                if first is not None
                else (before.state if before is not None else None)
            )
            changes[rh.reader_id] = ReaderChange(status, previous_state)
            known[rh.reader_id] = status
    return [changes[k] for k in sorted(changes)]


def update_edge(
    status: EdgeStatus, *, retained: bool, received_at: datetime, current: EdgeState | None
) -> EdgeState | None:
    """The edge's state after a status message, or None when the message changes nothing.

    Status messages are ordered by one clock, the cloud's: ``received_at``. The
    message's own ``at`` (the edge's clock) is not used, because the broker's last
    will (``offline``) has none, and mixing the two clocks would let a fast edge
    clock hide the will that follows it. A message received before the known state
    (another ingester's earlier message committed later) is out of order; a retained
    message repeating the known state is a replay of old news on (re)subscribe, and
    does not make the edge seen again. Both are ignored.
    """
    if current is not None and received_at < current.last_seen:
        return None
    if retained and current is not None and current.state == status.state:
        return None
    changed = current is None or current.state != status.state
    return EdgeState(
        edge_id=status.edge_id,
        state=status.state,
        last_seen=received_at,
        changed_at=received_at if changed or current is None else current.changed_at,
        spool=current.spool if current is not None else None,  # health messages say
    )


def update_spools(
    health: Iterable[EdgeHealth], current: Mapping[str, EdgeState]
) -> list[EdgeState]:
    """Edges whose spool the health messages (in order) report anew: the newest
    report per edge, by the messages' own time; one older than the known report is
    ignored, as is a message without a spool and an edge with no status yet (its
    retained ``online`` comes first; the next health message reports the spool again).
    The edge's state, last_seen and changed_at stay as its status messages set them."""
    known = dict(current)
    changed: dict[str, EdgeState] = {}
    for msg in health:
        edge = known.get(msg.edge_id)
        if msg.spool is None or edge is None:
            continue
        if edge.spool is not None and msg.at < edge.spool.at:
            continue
        s = msg.spool
        spool = SpoolDepth(s.batches, s.bytes, s.max_bytes, s.full, s.refused_batches, msg.at)
        known[msg.edge_id] = changed[msg.edge_id] = replace(edge, spool=spool)
    return [changed[k] for k in sorted(changed)]


@dataclass(frozen=True, slots=True)
class ReaderEventRow:
    """A reader event to store; its key (edge, reader, time, kind, antenna) is unique."""

    edge_id: str
    reader_id: str
    event: ReaderEventMessage

    @property
    def key(self) -> tuple[str, str, datetime, str, int]:
        e = self.event
        return (self.edge_id, self.reader_id, e.time, e.kind.value, e.antenna or 0)


def reader_events_of(health: Iterable[EdgeHealth]) -> list[ReaderEventRow]:
    """The reader events the health messages carry, each once (an edge repeats an event
    in a few messages), oldest first; equal times in the messages' order."""
    seen: dict[tuple[str, str, datetime, str, int], ReaderEventRow] = {}
    for msg in health:
        for rh in msg.readers:
            for event in rh.events or ():
                row = ReaderEventRow(msg.edge_id, rh.reader_id, event)
                seen.setdefault(row.key, row)
    return sorted(seen.values(), key=lambda r: (r.event.time, r.key))
