"""Read queries the API and the live hub run; each is one statement, the same SQL on
plain PostgreSQL and on TimescaleDB."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.model import (
    EDGE_COLUMNS,
    READER_EVENT_COLUMNS,
    EdgeState,
    Read,
    ReaderEventRecord,
    ReaderStatus,
    TagLocation,
    edge_state_of_row,
)

Conn = AsyncConnection[TupleRow]

_READ_COLUMNS = (
    "time, epc, read_point, reader_id, antenna, rssi_dbm::numeric::float8, seen_count, edge_id,"
    " first_seen"
)
_LOCATION_COLUMNS = (
    "epc, read_point, reader_id, antenna, edge_id, rssi_dbm::numeric::float8, last_seen, arrived_at"
)


async def recent_reads(conn: Conn, limit: int) -> list[Read]:
    """The newest reads of any tag, newest first."""
    cur = await conn.execute(
        f"SELECT {_READ_COLUMNS} FROM observations ORDER BY time DESC LIMIT %s", (limit,)
    )
    return [Read(*row) for row in await cur.fetchall()]


async def tag_history(conn: Conn, epc: str, limit: int) -> list[Read]:
    """An EPC's reads, newest first (served by the (epc, time DESC) index)."""
    cur = await conn.execute(
        f"SELECT {_READ_COLUMNS} FROM observations WHERE epc = %s ORDER BY time DESC LIMIT %s",
        (epc, limit),
    )
    return [Read(*row) for row in await cur.fetchall()]


_FRESH_LOCATION = (
    "SELECT t.epc, t.read_point, coalesce(o.reader_id, t.reader_id),"
    " coalesce(o.antenna, t.antenna), coalesce(o.edge_id, t.edge_id),"
    " (CASE WHEN o.time IS NULL THEN t.rssi_dbm ELSE o.rssi_dbm END)::numeric::float8,"
    " coalesce(o.time, t.last_seen), t.arrived_at"
    " FROM tag_locations t LEFT JOIN LATERAL (SELECT time, reader_id, antenna, edge_id, rssi_dbm"
    " FROM observations WHERE epc = t.epc AND time > t.last_seen AND read_point = t.read_point"
    " ORDER BY time DESC, rssi_dbm DESC NULLS LAST LIMIT 1) o ON true WHERE t.epc = %s"
)


async def tag_location(conn: Conn, epc: str) -> TagLocation | None:
    """Where a tag is now, with the time, reader, antenna and RSSI of its newest read:
    ``tag_locations`` rewrites a tag seen again at its read point only once per
    ``ingest_last_seen_resolution_s``, so a newer read there (served by the
    (epc, time DESC) index of ``observations``) has the exact ``last_seen``."""
    cur = await conn.execute(_FRESH_LOCATION, (epc,))
    row = await cur.fetchone()
    return TagLocation(*row) if row is not None else None


async def latest_locations(conn: Conn, limit: int) -> list[TagLocation]:
    """The most recently seen tags' locations, newest first, as ``tag_locations`` has
    them (``last_seen`` to ``ingest_last_seen_resolution_s``). No index serves the
    order (one on ``last_seen`` would make every rewrite of a tag's row write index
    entries: migration 0037): the live view reads this when an API node starts or
    resyncs: a scan of the table, 0.8 s for 1M tags on the bench machine."""
    cur = await conn.execute(
        f"SELECT {_LOCATION_COLUMNS} FROM tag_locations ORDER BY last_seen DESC LIMIT %s",
        (limit,),
    )
    return [TagLocation(*row) for row in await cur.fetchall()]


async def reader_statuses(conn: Conn) -> list[ReaderStatus]:
    cur = await conn.execute(f"SELECT {_READER_COLUMNS} FROM readers ORDER BY reader_id")
    return [ReaderStatus(*row) for row in await cur.fetchall()]


async def edge_states(conn: Conn) -> list[EdgeState]:
    cur = await conn.execute(f"SELECT {EDGE_COLUMNS} FROM edges ORDER BY edge_id")
    return [edge_state_of_row(row) for row in await cur.fetchall()]


ESTIMATE_ABOVE = 10_000
"""Rows above which a growing table's count is PostgreSQL's estimate, not count(*)."""
_GROWING = {"tags": "tag_locations", "dead_letters": "dead_letters"}


@dataclass(frozen=True, slots=True)
class TableCounts:
    tags: int
    readers: int
    edges: int
    dead_letters: int
    estimated: tuple[str, ...] = ()
    """The counts (``tags``, ``dead_letters``) that are estimates."""


async def table_counts(conn: Conn) -> TableCounts:
    """Row counts of the state tables (not of ``observations`` or ``ingested_batches``).

    ``tag_locations`` and ``dead_letters`` only grow: once PostgreSQL estimates one
    above :data:`ESTIMATE_ABOVE` rows (``pg_class.reltuples``, kept by autovacuum and
    ANALYZE), its count is that estimate instead of a ``count(*)`` over every row.
    """
    cur = await conn.execute(
        "SELECT relname, reltuples::bigint FROM pg_class WHERE oid = ANY(%s::regclass[])",
        (list(_GROWING.values()),),
    )
    reltuples = {str(name): int(n) for name, n in await cur.fetchall()}
    estimated = tuple(k for k, t in _GROWING.items() if reltuples.get(t, -1) >= ESTIMATE_ABOVE)
    growing = [
        "%s::bigint" if k in estimated else f"(SELECT count(*) FROM {t})"
        for k, t in _GROWING.items()
    ]
    cur = await conn.execute(
        f"SELECT {', '.join(growing)}, (SELECT count(*) FROM readers),"
        " (SELECT count(*) FROM edges)",
        [reltuples[_GROWING[k]] for k in estimated],
    )
    row = await cur.fetchone()
    assert row is not None
    tags, dead_letters, readers, edges = (int(x) for x in row)
    return TableCounts(tags, readers, edges, dead_letters, estimated)


_READER_COLUMNS = (
    "reader_id, edge_id, state, reads_per_s, last_report_at, last_seen, clock_offset_s"
)
"""The ``readers`` columns, in :class:`ReaderStatus`'s field order."""


async def reader_statuses_of(conn: Conn, reader_ids: list[str]) -> list[ReaderStatus]:
    """The health of the readers named (those the database knows), in no order."""
    cur = await conn.execute(
        f"SELECT {_READER_COLUMNS} FROM readers WHERE reader_id = ANY(%s)", (reader_ids,)
    )
    return [ReaderStatus(*row) for row in await cur.fetchall()]


async def reader_statuses_after(
    conn: Conn, after: str, limit: int, *, excluding: list[str]
) -> list[ReaderStatus]:
    """Readers with an id after ``after`` ("" for the first), except ``excluding``,
    sorted by id (the primary key's order); at most ``limit``."""
    cur = await conn.execute(
        f"SELECT {_READER_COLUMNS} FROM readers"
        " WHERE reader_id > %s AND NOT reader_id = ANY(%s) ORDER BY reader_id LIMIT %s",
        (after, excluding, limit),
    )
    return [ReaderStatus(*row) for row in await cur.fetchall()]


async def recent_reader_statuses(conn: Conn, limit: int) -> list[ReaderStatus]:
    """The ``limit`` readers with the newest health messages, newest first."""
    cur = await conn.execute(
        f"SELECT {_READER_COLUMNS} FROM readers ORDER BY last_seen DESC, reader_id LIMIT %s",
        (limit,),
    )
    return [ReaderStatus(*row) for row in await cur.fetchall()]


async def edge_states_after(conn: Conn, after: str, limit: int) -> list[EdgeState]:
    """Edges with an id after ``after`` ("" for the first), by id; at most ``limit``."""
    cur = await conn.execute(
        f"SELECT {EDGE_COLUMNS} FROM edges WHERE edge_id > %s ORDER BY edge_id LIMIT %s",
        (after, limit),
    )
    return [edge_state_of_row(row) for row in await cur.fetchall()]


async def recent_edge_states(conn: Conn, limit: int) -> list[EdgeState]:
    """The ``limit`` edges with the newest status messages, newest first."""
    cur = await conn.execute(
        f"SELECT {EDGE_COLUMNS} FROM edges ORDER BY last_seen DESC, edge_id LIMIT %s",
        (limit,),
    )
    return [edge_state_of_row(row) for row in await cur.fetchall()]


DEAD_LETTER_PREVIEW = 512
"""Bytes of a dead letter's payload the list reads (the rest stays in the database)."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    received_at: datetime
    topic: str
    reason: str
    payload_bytes: int
    payload_head: bytes
    """The first :data:`DEAD_LETTER_PREVIEW` bytes of the payload."""


async def dead_letters(conn: Conn, before_id: int | None, limit: int) -> list[DeadLetter]:
    """Dead letters newest (highest id) first, those with an id below ``before_id`` when
    given; only the payload's size (as received: a payload over the message size limit
    is kept in part) and first bytes leave the database."""
    columns = (
        "id, received_at, topic, reason, payload_bytes,"
        f" substring(payload from 1 for {DEAD_LETTER_PREVIEW})"
    )
    if before_id is None:
        cur = await conn.execute(
            f"SELECT {columns} FROM dead_letters ORDER BY id DESC LIMIT %s", (limit,)
        )
    else:
        cur = await conn.execute(
            f"SELECT {columns} FROM dead_letters WHERE id < %s ORDER BY id DESC LIMIT %s",
            (before_id, limit),
        )
    return [DeadLetter(*row) for row in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class ReaderEventFilter:
    """Which reader events to list (None: any)."""

    edge_id: str | None = None
    reader_id: str | None = None
    kinds: tuple[str, ...] | None = None
    since: datetime | None = None
    """Events at or after this time (the edges' clock)."""
    until: datetime | None = None
    """Events before this time."""


async def reader_events(
    conn: Conn,
    which: ReaderEventFilter,
    limit: int,
    before: tuple[datetime, int] | None = None,
) -> list[ReaderEventRecord]:
    """Reader events matching ``which``, newest first (by time, then id); only those
    before ``before`` (the (time, id) of the last one of the previous page)."""
    where: list[str] = []
    params: list[object] = []
    if which.edge_id is not None:
        where.append("edge_id = %s")
        params.append(which.edge_id)
    if which.reader_id is not None:
        where.append("reader_id = %s")
        params.append(which.reader_id)
    if which.kinds is not None:
        where.append("kind = ANY(%s)")
        params.append(list(which.kinds))
    if which.since is not None:
        where.append("time >= %s")
        params.append(which.since)
    if which.until is not None:
        where.append("time < %s")
        params.append(which.until)
    if before is not None:
        where.append("(time, id) < (%s, %s)")
        params.extend(before)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur = await conn.execute(
        f"SELECT {READER_EVENT_COLUMNS} FROM reader_events{clause}"  # the clause: fixed parts
        " ORDER BY time DESC, id DESC LIMIT %s",
        (*params, limit),
    )
    return [ReaderEventRecord(*row) for row in await cur.fetchall()]
