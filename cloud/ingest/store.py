"""Write a group of received messages to the database in one transaction.

Per group: dead letters are stored; each observation batch is claimed in
``ingested_batches`` by its (edge, spool, seq) (a batch already there is a
duplicate and skipped); the
claimed batches' observations go in with one ``COPY``; tag locations, readers
and edges are read ``FOR UPDATE``, changed through :mod:`cloud.ingest.changes`,
and upserted. The caller acknowledges the messages only after this commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from cloud.ingest.changes import locate_tags, reads_of_batch, update_edge, update_readers
from cloud.ingest.classify import Accepted, DeadLetter
from cloud.model import EdgeState, LiveChange, Read, ReaderStatus, TagLocation, TagMove
from protocols.mqtt import EdgeHealth, EdgeStatus, ObservationBatch

log = logging.getLogger(__name__)

_COPY_OBSERVATIONS = (
    "COPY observations (time, epc, reader_id, antenna, read_point, rssi_dbm,"
    " first_seen, seen_count, edge_id, seq) FROM STDIN"
)
_CLAIM_BATCHES = (
    "INSERT INTO ingested_batches (edge_id, spool, seq, sent_at, observations)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::timestamptz[],"
    " %s::integer[])"
    " ON CONFLICT (edge_id, spool, seq) DO NOTHING RETURNING edge_id, spool, seq"
)
_LOCATION_COLUMNS = "epc, read_point, reader_id, antenna, edge_id, rssi_dbm, last_seen, arrived_at"
_UPSERT_LOCATIONS = (
    f"INSERT INTO tag_locations ({_LOCATION_COLUMNS})"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::integer[], %s::text[],"
    " %s::real[], %s::timestamptz[], %s::timestamptz[])"
    " ON CONFLICT (epc) DO UPDATE SET read_point = excluded.read_point,"
    " reader_id = excluded.reader_id, antenna = excluded.antenna, edge_id = excluded.edge_id,"
    " rssi_dbm = excluded.rssi_dbm, last_seen = excluded.last_seen,"
    " arrived_at = excluded.arrived_at"
    " WHERE tag_locations.last_seen <= excluded.last_seen"
)
_READER_COLUMNS = "reader_id, edge_id, state, reads_per_s, last_report_at, last_seen"
_UPSERT_READERS = (
    f"INSERT INTO readers ({_READER_COLUMNS})"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::jsonb[], %s::timestamptz[],"
    " %s::timestamptz[])"
    " ON CONFLICT (reader_id) DO UPDATE SET edge_id = excluded.edge_id,"
    " state = excluded.state, reads_per_s = excluded.reads_per_s,"
    " last_report_at = excluded.last_report_at, last_seen = excluded.last_seen"
    " WHERE readers.last_seen <= excluded.last_seen"
)
_UPSERT_EDGES = (
    "INSERT INTO edges (edge_id, state, last_seen, changed_at)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[])"
    " ON CONFLICT (edge_id) DO UPDATE SET state = excluded.state,"
    " last_seen = excluded.last_seen, changed_at = excluded.changed_at"
    " WHERE edges.last_seen <= excluded.last_seen"
)


BatchKey = tuple[str, str, int]
"""(edge_id, spool, seq): what makes a batch unique."""


def _text(s: str) -> str:
    """PostgreSQL text cannot hold NUL; a dead letter's topic and reason must fit."""
    return s.replace("\x00", "\\x00")


@dataclass(slots=True)
class GroupResult:
    """What one committed group wrote."""

    batches: int = 0
    observations: int = 0
    duplicates: list[BatchKey] = field(default_factory=list)
    dead_letters: int = 0
    change: LiveChange = field(default_factory=LiveChange)


async def write_group(
    conn: AsyncConnection[TupleRow], items: Sequence[Accepted | DeadLetter]
) -> GroupResult:
    """Write ``items`` in one transaction on ``conn`` (an autocommit connection)."""
    result = GroupResult()
    dead = [i for i in items if isinstance(i, DeadLetter)]
    accepted = [i for i in items if isinstance(i, Accepted)]
    batches = [i.payload for i in accepted if isinstance(i.payload, ObservationBatch)]
    health = [i.payload for i in accepted if isinstance(i.payload, EdgeHealth)]
    statuses = [i for i in accepted if isinstance(i.payload, EdgeStatus)]
    async with conn.transaction(), conn.cursor() as cur:
        if dead:
            await cur.executemany(
                "INSERT INTO dead_letters (received_at, topic, payload, reason)"
                " VALUES (%s, %s, %s, %s)",
                [(d.received_at, _text(d.topic), d.payload, _text(d.reason)) for d in dead],
            )
            result.dead_letters = len(dead)
        new_batches = await _claim_batches(cur, batches, result)
        if new_batches:
            reads = await _copy_observations(cur, new_batches)
            result.batches = len(new_batches)
            result.observations = len(reads)
            result.change.reads = reads
            result.change.read_count = len(reads)
            result.change.locations, result.change.moves = await _locate(cur, reads)
        if health:
            result.change.readers = await _update_readers(cur, health)
        if statuses:
            result.change.edges = await _update_edges(cur, statuses)
    return result


async def _claim_batches(
    cur: AsyncCursor[TupleRow], batches: list[ObservationBatch], result: GroupResult
) -> list[ObservationBatch]:
    """Insert the batches' (edge, spool, seq) keys; return the batches that were new."""
    unique: dict[BatchKey, ObservationBatch] = {}
    for b in batches:
        key = (b.edge_id, b.spool, b.seq)
        if key in unique:
            result.duplicates.append(key)
        else:
            unique[key] = b
    if not unique:
        return []
    rows = list(unique.values())
    await cur.execute(
        _CLAIM_BATCHES,
        (
            [b.edge_id for b in rows],
            [b.spool for b in rows],
            [b.seq for b in rows],
            [b.sent_at for b in rows],
            [len(b.observations) for b in rows],
        ),
    )
    claimed = {(str(e), str(sp), int(s)) for e, sp, s in await cur.fetchall()}
    result.duplicates.extend(k for k in unique if k not in claimed)
    return [b for k, b in unique.items() if k in claimed]


async def _copy_observations(
    cur: AsyncCursor[TupleRow], batches: list[ObservationBatch]
) -> list[Read]:
    reads: list[Read] = []
    async with cur.copy(_COPY_OBSERVATIONS) as copy:
        for b in batches:
            for o in b.observations:
                await copy.write_row(
                    (
                        o.last_seen,
                        o.epc,
                        o.reader_id,
                        o.antenna,
                        o.read_point,
                        o.rssi_dbm,
                        o.first_seen,
                        o.seen_count,
                        b.edge_id,
                        b.seq,
                    )
                )
            reads.extend(reads_of_batch(b))
    return reads


async def _locate(
    cur: AsyncCursor[TupleRow], reads: list[Read]
) -> tuple[list[TagLocation], list[TagMove]]:
    epcs = sorted({r.epc for r in reads})
    await cur.execute(
        f"SELECT {_LOCATION_COLUMNS} FROM tag_locations WHERE epc = ANY(%s)"
        " ORDER BY epc FOR UPDATE",
        (epcs,),
    )
    current = {row[0]: TagLocation(*row) for row in await cur.fetchall()}
    locations, moves = locate_tags(reads, current)
    if locations:
        await cur.execute(
            _UPSERT_LOCATIONS,
            (
                [t.epc for t in locations],
                [t.read_point for t in locations],
                [t.reader_id for t in locations],
                [t.antenna for t in locations],
                [t.edge_id for t in locations],
                [t.rssi_dbm for t in locations],
                [t.last_seen for t in locations],
                [t.arrived_at for t in locations],
            ),
        )
    for m in moves:
        log.debug("tag %s moved %s -> %s", m.epc, m.from_read_point, m.to_read_point)
    return locations, moves


async def _update_readers(
    cur: AsyncCursor[TupleRow], health: list[EdgeHealth]
) -> list[ReaderStatus]:
    ids = sorted({r.reader_id for h in health for r in h.readers})
    if not ids:
        return []
    await cur.execute(
        f"SELECT {_READER_COLUMNS} FROM readers WHERE reader_id = ANY(%s)"
        " ORDER BY reader_id FOR UPDATE",
        (ids,),
    )
    current = {row[0]: ReaderStatus(*row) for row in await cur.fetchall()}
    changes = update_readers(health, current)
    for c in changes:
        s = c.status
        if c.state_changed:
            log.info(
                "reader %s (edge %s): %s -> %s", s.reader_id, s.edge_id, c.previous_state, s.state
            )
    statuses = [c.status for c in changes]
    if statuses:
        await cur.execute(
            _UPSERT_READERS,
            (
                [s.reader_id for s in statuses],
                [s.edge_id for s in statuses],
                [s.state for s in statuses],
                [Jsonb(s.reads_per_s) for s in statuses],
                [s.last_report_at for s in statuses],
                [s.last_seen for s in statuses],
            ),
        )
    return statuses


async def _update_edges(cur: AsyncCursor[TupleRow], statuses: list[Accepted]) -> list[EdgeState]:
    ids = sorted({i.address.edge_id for i in statuses})
    await cur.execute(
        "SELECT edge_id, state, last_seen, changed_at FROM edges WHERE edge_id = ANY(%s)"
        " ORDER BY edge_id FOR UPDATE",
        (ids,),
    )
    current = {row[0]: EdgeState(*row) for row in await cur.fetchall()}
    changed: dict[str, EdgeState] = {}
    for item in statuses:
        assert isinstance(item.payload, EdgeStatus)
        new = update_edge(
            item.payload,
            retained=item.retained,
            received_at=item.received_at,
            current=current.get(item.address.edge_id),
        )
        if new is None:
            continue
        before = current.get(new.edge_id)
        if before is None or before.state != new.state:
            log.info("edge %s is %s", new.edge_id, new.state)
        current[new.edge_id] = changed[new.edge_id] = new
    edges = [changed[k] for k in sorted(changed)]
    if edges:
        await cur.execute(
            _UPSERT_EDGES,
            (
                [e.edge_id for e in edges],
                [e.state for e in edges],
                [e.last_seen for e in edges],
                [e.changed_at for e in edges],
            ),
        )
    return edges


def merge_results(results: Sequence[GroupResult]) -> GroupResult:
    """One result for groups written one after another (in that order): a tag, reader
    or edge that several of them changed appears once, as the last one left it."""
    total = GroupResult()
    locations: dict[str, TagLocation] = {}
    readers: dict[str, ReaderStatus] = {}
    edges: dict[str, EdgeState] = {}
    for r in results:
        total.batches += r.batches
        total.observations += r.observations
        total.duplicates.extend(r.duplicates)
        total.dead_letters += r.dead_letters
        c = r.change
        total.change.reads.extend(c.reads)
        total.change.read_count += c.read_count
        total.change.moves.extend(c.moves)
        for t in c.locations:
            locations.pop(t.epc, None)
            locations[t.epc] = t
        for s in c.readers:
            readers.pop(s.reader_id, None)
            readers[s.reader_id] = s
        for e in c.edges:
            edges.pop(e.edge_id, None)
            edges[e.edge_id] = e
    total.change.locations = list(locations.values())
    total.change.readers = list(readers.values())
    total.change.edges = list(edges.values())
    return total
