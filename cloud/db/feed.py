"""The SQL of the warehouse feed: consumers' cursors over the event tables, the events
after a cursor, and the events a consumer had to skip.

The event tables (``passages``, ``zone_events``, ``weights``) are the outbox of
ingest; a consumer reads each by id after its cursor and advances the cursor in the
transaction that applies what it read (:mod:`cloud.operations.feed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.db.events import PassageRow, WeightRow, ZoneEventRow

Conn = AsyncConnection[TupleRow]
Source = Literal["passages", "zone_events", "weights"]
SOURCES: tuple[Source, ...] = ("passages", "zone_events", "weights")


async def lock_cursors(conn: Conn, consumer: str) -> dict[Source, int]:
    """The consumer's cursors, locked (FOR UPDATE, in source order) until the caller's
    transaction ends: a second feed of the same consumer waits, then reads where this
    one left off. Missing cursors start at 0."""
    await conn.execute(
        "INSERT INTO feed_cursors (consumer, source) SELECT %s, s FROM unnest(%s::text[]) s"
        " ON CONFLICT DO NOTHING",
        [consumer, list(SOURCES)],
    )
    cur = await conn.execute(
        "SELECT source, last_id FROM feed_cursors WHERE consumer = %s ORDER BY source FOR UPDATE",
        [consumer],
    )
    found = {r[0]: int(r[1]) for r in await cur.fetchall()}
    return {s: found.get(s, 0) for s in SOURCES}


async def advance(conn: Conn, consumer: str, cursors: dict[Source, int], *, at: datetime) -> None:
    await conn.execute(
        "UPDATE feed_cursors f SET last_id = u.last_id, updated_at = %s"
        " FROM unnest(%s::text[], %s::bigint[]) AS u(source, last_id)"
        " WHERE f.consumer = %s AND f.source = u.source AND f.last_id <> u.last_id",
        [at, list(cursors), list(cursors.values()), consumer],
    )


async def cursors(conn: Conn, consumer: str) -> dict[str, int]:
    cur = await conn.execute(
        "SELECT source, last_id FROM feed_cursors WHERE consumer = %s ORDER BY source", [consumer]
    )
    return {r[0]: int(r[1]) for r in await cur.fetchall()}


async def passages_after(conn: Conn, after_id: int, limit: int) -> list[PassageRow]:
    cur = await conn.execute(
        "SELECT id, time, door, direction, epc, cases, confidence::numeric::float8, evidence,"
        " edge_id, stored_at, site FROM passages WHERE id > %s ORDER BY id LIMIT %s",
        [after_id, limit],
    )
    return [PassageRow(*r) for r in await cur.fetchall()]


async def zone_events_after(conn: Conn, after_id: int, limit: int) -> list[ZoneEventRow]:
    cur = await conn.execute(
        "SELECT id, time, kind, epc, zone, from_zone, edge_id, stored_at, site FROM zone_events"
        " WHERE id > %s ORDER BY id LIMIT %s",
        [after_id, limit],
    )
    return [ZoneEventRow(*r) for r in await cur.fetchall()]


async def weights_after(conn: Conn, after_id: int, limit: int) -> list[WeightRow]:
    cur = await conn.execute(
        "SELECT id, time, scale, weight_kg, epc, edge_id, stored_at, cases, site, candidates,"
        " edge_epc FROM weights"
        " WHERE id > %s ORDER BY id LIMIT %s",
        [after_id, limit],
    )
    return [WeightRow(*r) for r in await cur.fetchall()]


async def latest_zone_event(conn: Conn, epc: str, *, after: datetime) -> ZoneEventRow | None:
    """The latest zone event of ``epc`` later than ``after`` (by time, then id)."""
    cur = await conn.execute(
        "SELECT id, time, kind, epc, zone, from_zone, edge_id, stored_at, site FROM zone_events"
        " WHERE epc = %s AND time > %s ORDER BY time DESC, id DESC LIMIT 1",
        [epc, after],
    )
    row = await cur.fetchone()
    return ZoneEventRow(*row) if row else None


@dataclass(frozen=True, slots=True)
class Failure:
    id: int
    consumer: str
    source: str
    event_id: int
    error: str
    attempts: int
    failed_at: datetime


async def record_failure(
    conn: Conn,
    consumer: str,
    source: Source,
    event_id: int,
    *,
    error: str,
    attempts: int,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO feed_failures (consumer, source, event_id, error, attempts, failed_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (consumer, source, event_id) DO UPDATE"
        " SET error = excluded.error, attempts = feed_failures.attempts + excluded.attempts,"
        " failed_at = excluded.failed_at",
        [consumer, source, event_id, error[:2000], attempts, at],
    )


async def failures(conn: Conn, consumer: str, *, limit: int = 100) -> list[Failure]:
    cur = await conn.execute(
        "SELECT id, consumer, source, event_id, error, attempts, failed_at FROM feed_failures"
        " WHERE consumer = %s ORDER BY id LIMIT %s",
        [consumer, limit],
    )
    return [Failure(*r) for r in await cur.fetchall()]


async def failures_before(conn: Conn, before: int | None, limit: int) -> list[Failure]:
    """Every consumer's failures, newest first, those with ids below ``before``."""
    cur = await conn.execute(
        "SELECT id, consumer, source, event_id, error, attempts, failed_at FROM feed_failures"
        " WHERE (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
        [before, before, limit],
    )
    return [Failure(*r) for r in await cur.fetchall()]
