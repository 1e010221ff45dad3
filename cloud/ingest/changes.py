"""What ingested messages change: tag locations and moves, reader and edge status.

Pure functions of the messages and the current state, no I/O; the store reads the
current rows, calls these, and writes what they return.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
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


def newest_reads(batches: Sequence[ObservationBatchIn], most: int | None) -> list[Read]:
    """The ``most`` newest reads of the batches, newest first, equal times in the
    batches' order (what ``heapq.nlargest`` over every read gives); every read, in
    the batches' order, when ``most`` is None. Only these become :class:`Read` objects:
    a live feed that shows the newest few needs no object for the rest."""
    if most is None:
        return [r for b in batches for r in reads_of_batch(b)]
    top = [
        (o, b.edge_id)
        for b in batches
        for o in heapq.nlargest(most, b.observations, key=_last_seen)
    ]
    return [_read(o, e) for o, e in heapq.nlargest(most, top, key=_pair_last_seen)]


def _pair_last_seen(p: tuple[ObservationIn, str]) -> datetime:
    return p[0].last_seen


def newest_read_per_epc(batches: Iterable[ObservationBatchIn]) -> dict[str, Read]:
    """:func:`newest_per_epc` of the batches' reads, without a :class:`Read` for every
    observation: one per EPC."""
    best: dict[str, ObservationIn] = {}
    edge_of: dict[str, str] = {}
    for b in batches:
        edge_id = b.edge_id
        newest = _newest_of_batch(b.observations)
        for epc, o in newest.items():
            h = best.get(epc)
            if h is not None and (
                o.last_seen < h.last_seen
                or (o.last_seen == h.last_seen and _obs_rssi(o) <= _obs_rssi(h))
            ):
                continue
            best[epc] = o
            edge_of[epc] = edge_id
    return {epc: _read(o, edge_of[epc]) for epc, o in best.items()}


def _newest_of_batch(observations: Sequence[ObservationIn]) -> dict[str, ObservationIn]:
    """Each EPC's newest observation in one batch; on equal times the stronger one, then
    the first one. Sorted by time (C code, not a loop here), newest first; the ties of
    time, rare, are settled by RSSI."""
    ordered = sorted(observations, key=_last_seen, reverse=True)  # stable: ties keep order
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


def locate_tags(
    reads: Iterable[Read], current: Mapping[str, Whereabouts]
) -> tuple[list[TagLocation], list[TagMove]]:
    """New locations for the tags in ``reads`` and the moves among them (sorted by EPC).

    A tag takes the read point of its newest read. A read older than the tag's
    current location (a late batch) changes nothing; a read at the same read
    point refreshes ``last_seen``; a read elsewhere is a move (an arrival when the
    tag had no location) and restarts ``arrived_at`` at the read's first sighting.
    """
    return locate_newest(newest_per_epc(reads), current)


def locate_newest(
    newest: Mapping[str, Read], current: Mapping[str, Whereabouts]
) -> tuple[list[TagLocation], list[TagMove]]:
    """:func:`locate_tags` of reads already reduced to each tag's newest
    (:func:`newest_read_per_epc`)."""
    locations: list[TagLocation] = []
    moves: list[TagMove] = []
    for epc in sorted(newest):
        r = newest[epc]
        here = current.get(epc)
        if here is not None and r.time < here.last_seen:
            continue
        moved = here is None or here.read_point != r.read_point
        locations.append(
            TagLocation(
                epc=epc,
                read_point=r.read_point,
                reader_id=r.reader_id,
                antenna=r.antenna,
                edge_id=r.edge_id,
                rssi_dbm=r.rssi_dbm,
                last_seen=r.time,
                arrived_at=r.first_seen if moved or here is None else here.arrived_at,
            )
        )
        if moved:
            moves.append(
                TagMove(
                    epc=epc,
                    from_read_point=here.read_point if here is not None else None,
                    to_read_point=r.read_point,
                    at=r.time,
                    reader_id=r.reader_id,
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
