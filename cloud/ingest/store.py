"""Write a group of received messages to the database in one transaction.

Per group: each observation or event batch is claimed in ``ingested_batches`` by
its (edge, spool, seq) (a batch already there with the same content is a duplicate and
skipped; with other content it is a dead letter: the edge is broken); dead letters
are stored (bounded, a retained one once); the claimed batches' observations go in
with one binary ``COPY``, the claimed event batches' passages, zone events and weights
with one statement each (each row with the site its batch's topic named, checked
against that site's layout: one value per batch, nothing looked up per row), and the
tags they move get their new place
(:mod:`cloud.ingest.places`); readers and edges are read ``FOR UPDATE``, changed
through :mod:`cloud.ingest.changes`, and upserted. Tag locations, the one state that
grows with the observations: the group's EPCs go as one text to read the current rows
(not those an ingester alone on its site knows to stand unchanged:
:class:`~cloud.ingest.changes.StandingTags`), and only the rows that change are locked,
decided again and written (a move, or a refresh
``last_seen_resolution`` past the stored ``last_seen``: a tag standing at a reader is
rewritten once per resolution, not once per batch), copied (binary ``COPY``) into a
per-connection temporary table and upserted with one ``INSERT ... SELECT``, in place
(heap-only updates: no index on an updated column, room on the page, migration 0037);
nothing is adapted to an array, and reads become objects only where they are needed
(one per EPC to locate it, the newest few for the live feed). The caller
acknowledges the messages only after this commits, and logs what changed only
then (:attr:`GroupResult.transitions`): a transaction can still roll back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from psycopg import AsyncConnection, AsyncCursor
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from cloud.ingest.changes import (
    EXACT,
    BatchReads,
    StandingTags,
    locate_newest,
    reader_events_of,
    update_edge,
    update_readers,
    update_spools,
)
from cloud.ingest.classify import Accepted, BatchKey, DeadLetter
from cloud.ingest.places import apply_events
from cloud.model import (
    EDGE_COLUMNS,
    READER_EVENT_COLUMNS,
    EdgeState,
    LiveChange,
    PassageRecord,
    ReaderEventRecord,
    ReaderStatus,
    SpoolDepth,
    TagLocation,
    TagMove,
    TagPlace,
    WeightRecord,
    ZoneEventRecord,
    edge_state_of_row,
)
from protocols.mqtt import (
    MAX_PAYLOAD_BYTES,
    EdgeHealth,
    EdgeStatus,
    EventBatch,
    PassageMessage,
    WeightMessage,
    ZoneEventMessage,
)
from protocols.observations_in import ObservationBatchIn, ObservationIn, ReceivedBatch

log = logging.getLogger(__name__)

COPY_OBSERVATIONS = (
    "COPY observations (time, epc, reader_id, antenna, read_point, rssi_dbm,"
    " first_seen, seen_count, edge_id, seq) FROM STDIN (FORMAT BINARY)"
)
OBSERVATION_COPY_TYPES = [
    "timestamptz",
    "text",
    "text",
    "int4",
    "text",
    "float4",
    "timestamptz",
    "int4",
    "text",
    "int8",
]
_CLAIM_BATCHES = (
    "INSERT INTO ingested_batches (edge_id, spool, seq, sent_at, observations, digest, kind)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::timestamptz[],"
    " %s::integer[], %s::bytea[], %s::text[])"
    " ON CONFLICT (edge_id, spool, seq) DO NOTHING RETURNING edge_id, spool, seq"
)
_CLAIMED_DIGESTS = (
    "SELECT b.edge_id, b.spool, b.seq, b.digest FROM ingested_batches b"
    " JOIN unnest(%s::text[], %s::text[], %s::bigint[]) AS k(edge_id, spool, seq)"
    " USING (edge_id, spool, seq)"
)
_INSERT_DEAD_LETTERS = (
    "INSERT INTO dead_letters"
    " (received_at, topic, payload, reason, payload_bytes, payload_sha256, retained, dedup_key)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dedup_key) DO NOTHING"
)
DEAD_LETTER_PREFIX_BYTES = 64 * 1024
"""What is kept of a payload larger than the message size limit."""
_MAX_TOPIC = 1024
_MAX_REASON = 4000
_LOCATION_COLUMNS = "epc, read_point, reader_id, antenna, edge_id, rssi_dbm, last_seen, arrived_at"
_LOCATION_TABLE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS ingest_locations"
    " (LIKE tag_locations INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
"""Per connection, emptied at each commit: the new rows of a group's tags."""
_READ_LOCATIONS = (
    "SELECT t.epc, t.read_point, t.last_seen, t.arrived_at FROM tag_locations t"
    " WHERE t.epc = ANY(string_to_array(%s, ' '))"
)
"""The group's EPCs go as one text (hex, separated by spaces: an EPC holds none), which
PostgreSQL splits: nothing is adapted to an array, and no table is filled first."""
_LOCK_LOCATIONS = _READ_LOCATIONS + " ORDER BY t.epc FOR UPDATE OF t"
"""The same for the tags to be rewritten, locked (in EPC order: no deadlock between
ingesters) until the group commits."""


class _Here(NamedTuple):
    """A tag's current location as far as locating it needs."""

    epc: str
    read_point: str
    last_seen: datetime
    arrived_at: datetime


_COPY_LOCATIONS = f"COPY ingest_locations ({_LOCATION_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_LOCATION_TYPES = ["text", "text", "text", "int4", "text", "float4", "timestamptz", "timestamptz"]
_UPSERT_LOCATIONS = (
    f"INSERT INTO tag_locations ({_LOCATION_COLUMNS})"
    f" SELECT {_LOCATION_COLUMNS} FROM ingest_locations"
    " ON CONFLICT (epc) DO UPDATE SET read_point = excluded.read_point,"
    " reader_id = excluded.reader_id, antenna = excluded.antenna, edge_id = excluded.edge_id,"
    " rssi_dbm = excluded.rssi_dbm, last_seen = excluded.last_seen,"
    " arrived_at = excluded.arrived_at"
    " WHERE tag_locations.last_seen <= excluded.last_seen"
)
_READER_COLUMNS = (
    "reader_id, edge_id, state, reads_per_s, last_report_at, last_seen, clock_offset_s"
)
_UPSERT_READERS = (
    f"INSERT INTO readers ({_READER_COLUMNS})"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::jsonb[], %s::timestamptz[],"
    " %s::timestamptz[], %s::float8[])"
    " ON CONFLICT (reader_id) DO UPDATE SET edge_id = excluded.edge_id,"
    " state = excluded.state, reads_per_s = excluded.reads_per_s,"
    " last_report_at = excluded.last_report_at, last_seen = excluded.last_seen,"
    " clock_offset_s = excluded.clock_offset_s"
    " WHERE readers.last_seen <= excluded.last_seen"
)
_UPSERT_EDGES = (
    "INSERT INTO edges (edge_id, state, last_seen, changed_at)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[])"
    " ON CONFLICT (edge_id) DO UPDATE SET state = excluded.state,"
    " last_seen = excluded.last_seen, changed_at = excluded.changed_at"
    " WHERE edges.last_seen <= excluded.last_seen"
)


def _text(s: str, most: int) -> str:
    """PostgreSQL text cannot hold NUL; a dead letter's topic and reason are bounded."""
    if len(s) > most:
        s = f"{s[:most]}... ({len(s)} characters)"
    return s.replace("\x00", "\\x00")


def dead_letter_row(d: DeadLetter) -> tuple[object, ...]:
    """The ``dead_letters`` row of ``d``: a payload over the message size limit is cut to
    its first 64 KiB (its size and digest are kept); a retained one gets a key that
    stores it once."""
    digest = hashlib.sha256(d.payload).digest()
    kept = (
        d.payload if len(d.payload) <= MAX_PAYLOAD_BYTES else d.payload[:DEAD_LETTER_PREFIX_BYTES]
    )
    dedup = (
        hashlib.sha256(d.topic.encode("utf-8", "replace") + b"\x00" + d.payload).digest()
        if d.retained
        else None
    )
    return (
        d.received_at,
        _text(d.topic, _MAX_TOPIC),
        kept,
        _text(d.reason, _MAX_REASON),
        len(d.payload),
        digest,
        d.retained,
        dedup,
    )


@dataclass(frozen=True, slots=True)
class Transition:
    """A reader's or an edge's state changed; logged once the transaction committed."""

    what: str
    """``reader reader-door-1 (edge edge-1)`` or ``edge edge-1``"""
    before: str | None
    after: str


@dataclass(slots=True)
class GroupResult:
    """What one committed group wrote."""

    batches: int = 0
    observations: int = 0
    events: int = 0
    duplicates: list[BatchKey] = field(default_factory=list)
    stored: list[BatchKey] = field(default_factory=list)
    """Spooled batches now stored: new ones and duplicates (stored before)."""
    dead_lettered: list[BatchKey] = field(default_factory=list)
    """Spooled batches now stored as dead letters (those whose key could be told)."""
    dead_letters: int = 0
    change: LiveChange = field(default_factory=LiveChange)
    transitions: list[Transition] = field(default_factory=list)


async def write_group(
    conn: AsyncConnection[TupleRow],
    items: Sequence[Accepted | DeadLetter],
    *,
    now: datetime,
    reads_kept: int | None = None,
    last_seen_resolution: timedelta = EXACT,
    standing: StandingTags | None = None,
) -> GroupResult:
    """Write ``items`` in one transaction on ``conn`` (an autocommit connection); ``now``
    (the cloud's clock) is when the events are stored. A tag seen again at its read
    point is rewritten once its newest read is ``last_seen_resolution`` past its stored
    ``last_seen`` (:func:`~cloud.ingest.changes.locate_tags`); a move always is.

    The result's ``change.reads`` holds the newest ``reads_kept`` reads, newest first
    (every read when None): what a live feed that shows that many can use; its
    ``read_count`` counts them all."""
    result = GroupResult()
    dead = [i for i in items if isinstance(i, DeadLetter)]
    accepted = [i for i in items if isinstance(i, Accepted)]
    batches = [i for i in accepted if isinstance(i.payload, ObservationBatchIn | EventBatch)]
    health = [i.payload for i in accepted if isinstance(i.payload, EdgeHealth)]
    statuses = [i for i in accepted if isinstance(i.payload, EdgeStatus)]
    learned: list[_Here] = []
    """Tag rows read or written, for ``standing`` once committed."""
    async with conn.transaction(), conn.cursor() as cur:
        claimed, conflicting = await _claim_batches(cur, batches, result)
        new_batches = [_batch(i) for i in claimed]
        dead.extend(conflicting)
        if dead:
            await cur.executemany(_INSERT_DEAD_LETTERS, [dead_letter_row(d) for d in dead])
            result.dead_letters = len(dead)
            result.dead_lettered = [d.batch for d in dead if d.batch is not None]
        result.batches = len(new_batches)
        result.stored = [(b.edge_id, b.spool, b.seq) for b in new_batches] + result.duplicates
        observation_batches = [b for b in new_batches if isinstance(b, ObservationBatchIn)]
        event_batches = [
            (i.address.site, i.payload) for i in claimed if isinstance(i.payload, EventBatch)
        ]
        if event_batches:
            await _store_events(cur, event_batches, now, result.change)
            result.events = sum(len(b.events) for _, b in event_batches)
        if observation_batches:
            n = await _copy_observations(cur, observation_batches)
            result.observations = n
            reads = BatchReads(observation_batches)
            result.change.reads = reads.newest(reads_kept)
            result.change.read_count = n
            result.change.locations, result.change.moves = await _locate(
                cur, reads.newest_sightings(), last_seen_resolution, standing, learned
            )
        if health:
            result.change.readers = await _update_readers(cur, health, result.transitions)
            result.change.reader_events = await _store_reader_events(cur, health, now)
        if statuses:
            result.change.edges = await _update_edges(cur, statuses, result.transitions)
        if any(h.spool is not None for h in health):  # after the edges' status: on top of it
            spooled = await _update_spools(cur, health)
            kept = {e.edge_id: e for e in result.change.edges} | {e.edge_id: e for e in spooled}
            result.change.edges = [kept[k] for k in sorted(kept)]
    if standing is not None:
        for here in learned:
            standing.note(*here)
    return result


def _batch(item: Accepted) -> ReceivedBatch:
    assert isinstance(item.payload, ObservationBatchIn | EventBatch)
    return item.payload


def _size(b: ReceivedBatch) -> int:
    return len(b.observations) if isinstance(b, ObservationBatchIn) else len(b.events)


async def _claim_batches(
    cur: AsyncCursor[TupleRow], batches: list[Accepted], result: GroupResult
) -> tuple[list[Accepted], list[DeadLetter]]:
    """Insert the batches' (edge, spool, seq) keys; return the batches that were new, and
    a dead letter for each batch whose key was ingested before with other content."""
    unique: dict[BatchKey, Accepted] = {}
    conflicting: list[DeadLetter] = []
    for item in batches:
        b = _batch(item)
        key = (b.edge_id, b.spool, b.seq)
        first = unique.get(key)
        if first is None:
            unique[key] = item
        elif first.digest == item.digest:
            result.duplicates.append(key)
        else:
            conflicting.append(_conflicting(item, first.digest))
    if not unique:
        return [], conflicting
    keys = list(unique)
    rows = [_batch(unique[k]) for k in keys]
    await cur.execute(
        _CLAIM_BATCHES,
        (
            [b.edge_id for b in rows],
            [b.spool for b in rows],
            [b.seq for b in rows],
            [b.sent_at for b in rows],
            [_size(b) for b in rows],
            [unique[k].digest for k in keys],
            [unique[k].address.kind.value for k in keys],
        ),
    )
    claimed = {(str(e), str(sp), int(s)) for e, sp, s in await cur.fetchall()}
    again = [k for k in keys if k not in claimed]
    if again:
        await cur.execute(
            _CLAIMED_DIGESTS,
            ([k[0] for k in again], [k[1] for k in again], [k[2] for k in again]),
        )
        known = {(str(e), str(sp), int(s)): d for e, sp, s, d in await cur.fetchall()}
        for k in again:
            before = known.get(k)
            if before is None or bytes(before) == unique[k].digest:
                result.duplicates.append(k)  # a batch from before 0006 has no digest
            else:
                conflicting.append(_conflicting(unique[k], bytes(before)))
    return [unique[k] for k in keys if k in claimed], conflicting


def _conflicting(item: Accepted, known: bytes) -> DeadLetter:
    """A dead letter for a batch whose (edge, spool, seq) came before with other content."""
    b = _batch(item)
    return DeadLetter(
        topic=item.topic,
        payload=item.raw,
        reason=(
            f"{type(b).__name__} (edge {b.edge_id!r}, spool {b.spool}, seq {b.seq}) was "
            f"ingested before with other content (SHA-256 {known.hex()[:16]}..., this one "
            f"{item.digest.hex()[:16]}...): the edge's spool is broken, or two edges share "
            "a spool id; the first one stays stored"
        ),
        received_at=item.received_at,
        retained=item.retained,
        batch=(b.edge_id, b.spool, b.seq),
    )


_INSERT_PASSAGES = (
    "INSERT INTO passages (time, door, direction, epc, cases, confidence, evidence, edge_id,"
    " spool, seq, idx, stored_at, site)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_INSERT_ZONE_EVENTS = (
    "INSERT INTO zone_events (time, kind, epc, zone, from_zone, edge_id, spool, seq, idx,"
    " stored_at, site) SELECT * FROM unnest(%s::timestamptz[], %s::text[], %s::text[],"
    " %s::text[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::integer[],"
    " %s::timestamptz[], %s::text[])"
)
_INSERT_WEIGHTS = (
    "INSERT INTO weights (time, scale, weight_kg, epc, cases, candidates, edge_id, spool,"
    " seq, idx, stored_at, site) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_PLACE_COLUMNS = "epc, state, zone, last_zone, door, pallet, changed_at, stored_at"
_UPSERT_PLACES = (
    f"INSERT INTO tag_places ({_PLACE_COLUMNS})"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
    " %s::text[], %s::timestamptz[], %s::timestamptz[])"
    " ON CONFLICT (epc) DO UPDATE SET state = excluded.state, zone = excluded.zone,"
    " last_zone = excluded.last_zone, door = excluded.door, pallet = excluded.pallet,"
    " changed_at = excluded.changed_at, stored_at = excluded.stored_at"
    " WHERE tag_places.changed_at <= excluded.changed_at"
)


async def _store_events(
    cur: AsyncCursor[TupleRow],
    batches: list[tuple[str, EventBatch]],
    now: datetime,
    change: LiveChange,
) -> None:
    """Insert the batches' passages, zone events and weights, each with the site of its
    batch (the site its topic named, whose layout has the edge: :mod:`classify`); move
    the tags they name."""
    passages: list[tuple[object, ...]] = []
    zone_rows: list[tuple[object, ...]] = []
    weight_rows: list[tuple[object, ...]] = []
    for site, b in batches:
        for i, ev in enumerate(b.events):
            key = (b.edge_id, b.spool, b.seq, i)
            if isinstance(ev, PassageMessage):
                passages.append(
                    (
                        ev.time,
                        ev.door,
                        ev.direction,
                        ev.epc,
                        list(ev.cases),
                        ev.confidence,
                        Jsonb(ev.evidence.model_dump(mode="json")),
                        *key,
                        now,
                        site,
                    )
                )
                change.passages.append(
                    PassageRecord(
                        ev.time,
                        ev.door,
                        ev.direction,
                        ev.epc,
                        list(ev.cases),
                        ev.confidence,
                        b.edge_id,
                        now,
                    )
                )
            elif isinstance(ev, ZoneEventMessage):
                zone_rows.append(
                    (ev.time, ev.kind.value, ev.epc, ev.zone, ev.from_zone, *key, now, site)
                )
                change.zone_events.append(
                    ZoneEventRecord(
                        ev.time, ev.kind.value, ev.epc, ev.zone, ev.from_zone, b.edge_id, now
                    )
                )
            else:
                assert isinstance(ev, WeightMessage)
                weight_rows.append(
                    (
                        ev.time,
                        ev.scale,
                        ev.weight_kg,
                        ev.epc,
                        list(ev.cases),
                        list(ev.candidates),
                        *key,
                        now,
                        site,
                    )
                )
                change.weights.append(
                    WeightRecord(ev.time, ev.scale, ev.weight_kg, ev.epc, b.edge_id, now)
                )
    if passages:
        await cur.executemany(_INSERT_PASSAGES, passages)
    if zone_rows:
        await cur.execute(_INSERT_ZONE_EVENTS, _columns(zone_rows, 11))
    if weight_rows:
        await cur.executemany(_INSERT_WEIGHTS, weight_rows)
    events = [ev for _, b in batches for ev in b.events]
    epcs = sorted(
        {ev.epc for ev in events if isinstance(ev, ZoneEventMessage | PassageMessage)}
        | {c for ev in events if isinstance(ev, PassageMessage) for c in ev.cases}
    )
    if not epcs:
        return
    await cur.execute(
        f"SELECT {_PLACE_COLUMNS} FROM tag_places WHERE epc = ANY(%s) ORDER BY epc FOR UPDATE",
        (epcs,),
    )
    current = {row[0]: TagPlace(*row) for row in await cur.fetchall()}
    places = apply_events(events, current, stored_at=now)
    if places:
        await cur.execute(
            _UPSERT_PLACES,
            tuple(
                [getattr(p, c) for p in places]
                for c in (
                    "epc",
                    "state",
                    "zone",
                    "last_zone",
                    "door",
                    "pallet",
                    "changed_at",
                    "stored_at",
                )
            ),
        )
    change.places = places


def _columns(rows: list[tuple[object, ...]], width: int) -> tuple[list[object], ...]:
    """Rows as columns, for an ``unnest`` insert."""
    return tuple([r[i] for r in rows] for i in range(width))


async def _copy_observations(cur: AsyncCursor[TupleRow], batches: list[ObservationBatchIn]) -> int:
    """One binary ``COPY`` of every observation of ``batches``; return how many."""
    n = 0
    async with cur.copy(COPY_OBSERVATIONS) as copy:
        copy.set_types(OBSERVATION_COPY_TYPES)
        # the rows are formatted here and sent a buffer at a time (what write_row does,
        # without awaiting a coroutine per row)
        format_row = copy.formatter.write_row
        for b in batches:
            edge_id, seq = b.edge_id, b.seq
            for o in b.observations:
                data = format_row(
                    (
                        o.last_seen,
                        o.epc,
                        o.reader_id,
                        o.antenna,
                        o.read_point,
                        o.rssi_dbm,
                        o.first_seen,
                        o.seen_count,
                        edge_id,
                        seq,
                    )
                )
                if data:
                    await copy.write(data)
            n += len(b.observations)
    return n


async def _locate(
    cur: AsyncCursor[TupleRow],
    candidates: dict[str, tuple[ObservationIn, str]],
    resolution: timedelta,
    standing: StandingTags | None = None,
    learned: list[_Here] | None = None,
) -> tuple[list[TagLocation], list[TagMove]]:
    """Decide (``locate_tags``) on the candidates' current locations and upsert what
    changes: the new rows go through binary ``COPY`` into a temporary table, so no list
    is adapted to an array. Most tags of a group stand where they stood, within the
    rewrite resolution: they are read, never locked or written.

    Without ``standing`` (ingesters sharing a site's messages), the rows of the tags
    that change are locked and decided on again (another ingester may have written
    them since they were read). With it, this ingester is the only writer of the rows:
    tags it knows to stand unchanged are not even read, those it knows the rows of
    are decided on what it knows, and only tags it has never seen are read; nothing is
    locked (a row lock writes the row and its WAL). The rows read and written go to
    ``learned``."""
    current: dict[str, _Here] = {}
    if standing is not None:
        candidates = {
            epc: c for epc, c in candidates.items() if not standing.unchanged(epc, c[0], resolution)
        }
        if not candidates:
            return [], []
        unknown = []
        for epc in candidates:
            if (row := standing.row(epc)) is not None:
                current[epc] = _Here(epc, *row)
            else:
                unknown.append(epc)
        if unknown:
            await cur.execute(_READ_LOCATIONS, (" ".join(unknown),), binary=True)
            current |= {row[0]: _Here(*row) for row in await cur.fetchall()}
        locations, moves = locate_newest(candidates, current, resolution=resolution)
    else:
        await cur.execute(_READ_LOCATIONS, (" ".join(candidates),), binary=True)
        current = {row[0]: _Here(*row) for row in await cur.fetchall()}
        locations, moves = locate_newest(candidates, current, resolution=resolution)
        if locations:
            # another ingester may have written some of them since: decide those again
            changing = {t.epc: candidates[t.epc] for t in locations}
            await cur.execute(_LOCK_LOCATIONS, (" ".join(changing),), binary=True)
            locked = {row[0]: _Here(*row) for row in await cur.fetchall()}
            current |= locked
            locations, moves = locate_newest(changing, locked, resolution=resolution)
    if locations:
        await cur.execute(_LOCATION_TABLE)
        async with cur.copy(_COPY_LOCATIONS) as copy:
            copy.set_types(_LOCATION_TYPES)
            format_row = copy.formatter.write_row
            for t in locations:
                if data := format_row(
                    (
                        t.epc,
                        t.read_point,
                        t.reader_id,
                        t.antenna,
                        t.edge_id,
                        t.rssi_dbm,
                        t.last_seen,
                        t.arrived_at,
                    )
                ):
                    await copy.write(data)
        await cur.execute(_UPSERT_LOCATIONS)
    if learned is not None:
        rows = dict(current)
        # a row may be newer than the read that wrote it lost to (the upsert keeps it)
        for t in locations:
            known = rows.get(t.epc)
            if known is None or known.last_seen <= t.last_seen:
                rows[t.epc] = _Here(t.epc, t.read_point, t.last_seen, t.arrived_at)
        learned.extend(rows.values())
    return locations, moves


async def _update_readers(
    cur: AsyncCursor[TupleRow], health: list[EdgeHealth], transitions: list[Transition]
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
            transitions.append(
                Transition(f"reader {s.reader_id} (edge {s.edge_id})", c.previous_state, s.state)
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
                [s.clock_offset_s for s in statuses],
            ),
        )
    return statuses


async def _update_edges(
    cur: AsyncCursor[TupleRow], statuses: list[Accepted], transitions: list[Transition]
) -> list[EdgeState]:
    ids = sorted({i.address.edge_id for i in statuses})
    await cur.execute(
        f"SELECT {EDGE_COLUMNS} FROM edges WHERE edge_id = ANY(%s) ORDER BY edge_id FOR UPDATE",
        (ids,),
    )
    current = {row[0]: edge_state_of_row(row) for row in await cur.fetchall()}
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
            transitions.append(
                Transition(f"edge {new.edge_id}", before.state if before else None, new.state)
            )
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


_INSERT_READER_EVENTS = (
    "INSERT INTO reader_events (edge_id, reader_id, time, kind, antenna, detail, stored_at)"
    " SELECT e.edge_id, e.reader_id, e.time, e.kind, e.antenna, e.detail, %s"
    " FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::integer[],"
    " %s::text[]) WITH ORDINALITY AS e(edge_id, reader_id, time, kind, antenna, detail, n)"
    " ORDER BY e.n"
    " ON CONFLICT DO NOTHING"
    f" RETURNING {READER_EVENT_COLUMNS}"
)


async def _store_reader_events(
    cur: AsyncCursor[TupleRow], health: list[EdgeHealth], now: datetime
) -> list[ReaderEventRecord]:
    """Store the readers' events the health messages carry; return those new here (an
    event stored before, from an earlier message that carried it too, is not)."""
    rows = reader_events_of(health)
    if not rows:
        return []
    await cur.execute(
        _INSERT_READER_EVENTS,
        (
            now,
            [r.edge_id for r in rows],
            [r.reader_id for r in rows],
            [r.event.time for r in rows],
            [r.event.kind.value for r in rows],
            [r.event.antenna for r in rows],
            [r.event.detail for r in rows],
        ),
    )
    return [ReaderEventRecord(*row) for row in await cur.fetchall()]


_UPDATE_SPOOLS = (
    "UPDATE edges SET spool = s.spool, spool_at = s.spool_at"
    " FROM unnest(%s::text[], %s::jsonb[], %s::timestamptz[]) AS s(edge_id, spool, spool_at)"
    " WHERE edges.edge_id = s.edge_id"
    " AND (edges.spool_at IS NULL OR edges.spool_at <= s.spool_at)"
)


async def _update_spools(cur: AsyncCursor[TupleRow], health: list[EdgeHealth]) -> list[EdgeState]:
    """The edges' spools as their health messages report them (:func:`update_spools`)."""
    ids = sorted({h.edge_id for h in health if h.spool is not None})
    await cur.execute(
        f"SELECT {EDGE_COLUMNS} FROM edges WHERE edge_id = ANY(%s) ORDER BY edge_id FOR UPDATE",
        (ids,),
    )
    current = {row[0]: edge_state_of_row(row) for row in await cur.fetchall()}
    edges = update_spools(health, current)
    spools = [e.spool for e in edges if e.spool is not None]
    if spools:
        await cur.execute(
            _UPDATE_SPOOLS,
            (
                [e.edge_id for e in edges],
                [Jsonb(_spool_document(s)) for s in spools],
                [s.at for s in spools],
            ),
        )
    return edges


def _spool_document(s: SpoolDepth) -> dict[str, int | bool]:
    return {
        "batches": s.batches,
        "bytes": s.bytes,
        "max_bytes": s.max_bytes,
        "full": s.full,
        "refused_batches": s.refused_batches,
    }


def merge_results(results: Sequence[GroupResult]) -> GroupResult:
    """One result for groups written one after another (in that order): a tag, reader
    or edge that several of them changed appears once, as the last one left it."""
    total = GroupResult()
    locations: dict[str, TagLocation] = {}
    readers: dict[str, ReaderStatus] = {}
    edges: dict[str, EdgeState] = {}
    places: dict[str, TagPlace] = {}
    for r in results:
        total.batches += r.batches
        total.observations += r.observations
        total.events += r.events
        total.duplicates.extend(r.duplicates)
        total.stored.extend(r.stored)
        total.dead_lettered.extend(r.dead_lettered)
        total.dead_letters += r.dead_letters
        total.transitions.extend(r.transitions)
        c = r.change
        total.change.reads.extend(c.reads)
        total.change.read_count += c.read_count
        total.change.moves.extend(c.moves)
        total.change.passages.extend(c.passages)
        total.change.zone_events.extend(c.zone_events)
        total.change.weights.extend(c.weights)
        total.change.reader_events.extend(c.reader_events)
        for p in c.places:
            places.pop(p.epc, None)
            places[p.epc] = p
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
    total.change.places = list(places.values())
    return total
