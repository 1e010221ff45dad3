"""Read queries of the edges' events: passages, zone events, weights, tag places.

Lists are in time order (oldest first) from ``since``, paged by keyset: ``after`` is
the (time, id) of the last row of the previous page; ``site`` keeps one site's events
(the site ingest stamped on each: the one its batch's topic named).

:func:`fill_sites` gives the events stored before they had a site (migration 0034)
theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.model import PassageRecord, TagPlace

Conn = AsyncConnection[TupleRow]
Position = tuple[datetime, int]


@dataclass(frozen=True, slots=True)
class PassageRow:
    id: int
    time: datetime
    door: str
    direction: str
    epc: str
    cases: list[str]
    confidence: float
    evidence: dict[str, Any]
    edge_id: str
    stored_at: datetime
    site: str | None = None
    """The site of the event (None: stored before 0034 and not filled yet)."""


@dataclass(frozen=True, slots=True)
class ZoneEventRow:
    id: int
    time: datetime
    kind: str
    epc: str
    zone: str
    from_zone: str | None
    edge_id: str
    stored_at: datetime
    site: str | None = None
    """The site of the event (None: stored before 0034 and not filled yet)."""


@dataclass(frozen=True, slots=True)
class WeightRow:
    id: int
    time: datetime
    scale: str
    weight_kg: float
    epc: str | None
    edge_id: str
    stored_at: datetime
    cases: list[str] = field(default_factory=list)
    """The cases heard coming onto the platform with the pallet."""
    site: str | None = None
    """The site of the event (None: stored before 0034 and not filled yet)."""
    candidates: list[str] = field(default_factory=list)
    """The pallets the edge heard that may be the one weighed, likeliest first."""
    edge_epc: str | None = None
    """The edge's own pallet when the cloud weighed another candidate (``epc``)."""


def _where(
    since: datetime | None, after: Position | None, filters: dict[str, str | None]
) -> tuple[str, list[object]]:
    parts: list[str] = []
    params: list[object] = []
    if since is not None:
        parts.append("time >= %s")
        params.append(since)
    if after is not None:
        parts.append("(time, id) > (%s, %s)")
        params.extend(after)
    for column, value in filters.items():
        if value is not None:
            parts.append(f"{column} = %s")
            params.append(value)
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


async def passages(
    conn: Conn,
    *,
    since: datetime | None,
    after: Position | None,
    door: str | None,
    epc: str | None,
    limit: int,
    site: str | None = None,
) -> list[PassageRow]:
    where, params = _where(since, after, {"site": site, "door": door})
    columns = (
        "id, time, door, direction, epc, cases, confidence::numeric::float8, evidence,"
        " edge_id, stored_at, site"
    )
    if epc is None:
        sql, args = f"SELECT {columns} FROM passages{where}", params
    else:
        # the pallet's own passages, and those it crossed in as a case: two parts, each
        # by its own index (epc; the GIN of cases), so an EPC's few passages are found
        # directly; with one OR the planner expected hundreds and walked all passages
        # in time order for them
        both = " AND" if where else " WHERE"
        sql = (
            f"SELECT {columns} FROM passages{where}{both} epc = %s"
            f" UNION ALL SELECT {columns} FROM passages{where}{both}"
            " cases @> ARRAY[%s]::text[] AND epc <> %s"
        )
        args = [*params, epc, *params, epc, epc]
    cur = await conn.execute(f"SELECT * FROM ({sql}) p ORDER BY time, id LIMIT %s", [*args, limit])
    return [PassageRow(*row) for row in await cur.fetchall()]


async def zone_events(
    conn: Conn,
    *,
    since: datetime | None,
    after: Position | None,
    epc: str | None,
    zone: str | None,
    limit: int,
    site: str | None = None,
) -> list[ZoneEventRow]:
    where, params = _where(since, after, {"site": site, "epc": epc, "zone": zone})
    cur = await conn.execute(
        "SELECT id, time, kind, epc, zone, from_zone, edge_id, stored_at, site FROM zone_events"
        f"{where} ORDER BY time, id LIMIT %s",
        [*params, limit],
    )
    return [ZoneEventRow(*row) for row in await cur.fetchall()]


async def weights(
    conn: Conn,
    *,
    since: datetime | None,
    after: Position | None,
    scale: str | None,
    epc: str | None,
    limit: int,
    site: str | None = None,
) -> list[WeightRow]:
    where, params = _where(since, after, {"site": site, "scale": scale, "epc": epc})
    cur = await conn.execute(
        "SELECT id, time, scale, weight_kg, epc, edge_id, stored_at, cases, site, candidates,"
        " edge_epc FROM weights"
        f"{where} ORDER BY time, id LIMIT %s",
        [*params, limit],
    )
    return [WeightRow(*row) for row in await cur.fetchall()]


_PLACE = "epc, state, zone, last_zone, door, pallet, changed_at, stored_at"


async def tag_place(conn: Conn, epc: str) -> tuple[TagPlace | None, TagPlace | None]:
    """A tag's place and, for a case, its pallet's."""
    cur = await conn.execute(
        f"SELECT {_PLACE} FROM tag_places WHERE epc = %s"
        f" UNION ALL SELECT {', '.join('p.' + c.strip() for c in _PLACE.split(','))}"
        " FROM tag_places t JOIN tag_places p ON p.epc = t.pallet WHERE t.epc = %s",
        (epc, epc),
    )
    rows = [TagPlace(*row) for row in await cur.fetchall()]
    tag = next((r for r in rows if r.epc == epc), None)
    pallet = next((r for r in rows if r.epc != epc), None)
    return tag, pallet


async def places_in_zone(
    conn: Conn, zone: str, *, after: str | None, limit: int
) -> list[tuple[TagPlace, TagPlace | None]]:
    """Tags in ``zone`` by their own events or their pallet's, by EPC, with the pallet's
    place; the caller decides which one holds (:func:`cloud.ingest.places.place_of`)."""
    cols = ", ".join("t." + c.strip() for c in _PLACE.split(","))
    pcols = ", ".join("p." + c.strip() for c in _PLACE.split(","))
    # The first ``limit`` EPCs of the union are among the first ``limit`` of each part:
    # the tags of the zone by the (zone, epc) index, and the cases of pallets in it by
    # walking EPCs in order. Planned for the values at every call (prepare=False): a
    # generic plan walks every EPC for a zone that holds few cases (0.8 s at 1M tags).
    cur = await conn.execute(
        f"SELECT {cols}, {pcols} FROM tag_places t LEFT JOIN tag_places p ON p.epc = t.pallet"
        " WHERE t.epc IN ((SELECT epc FROM tag_places WHERE zone = %(zone)s"
        " AND epc > %(after)s ORDER BY epc LIMIT %(limit)s)"
        " UNION (SELECT c.epc FROM tag_places c JOIN tag_places q ON q.epc = c.pallet"
        " WHERE q.zone = %(zone)s AND c.epc > %(after)s ORDER BY c.epc LIMIT %(limit)s))"
        " ORDER BY t.epc LIMIT %(limit)s",
        {"zone": zone, "after": after or "", "limit": limit},
        prepare=False,
    )
    out: list[tuple[TagPlace, TagPlace | None]] = []
    for row in await cur.fetchall():
        tag = TagPlace(*row[:8])
        pallet = TagPlace(*row[8:]) if row[8] is not None else None
        out.append((tag, pallet))
    return out


async def recent_passages(conn: Conn, limit: int) -> list[PassageRecord]:
    """The newest passages, newest first (to seed the live view)."""
    cur = await conn.execute(
        "SELECT time, door, direction, epc, cases, confidence::numeric::float8, edge_id,"
        " stored_at FROM passages ORDER BY time DESC, id DESC LIMIT %s",
        (limit,),
    )
    return [PassageRecord(*row) for row in await cur.fetchall()]


async def latest_places(conn: Conn, limit: int) -> list[TagPlace]:
    """The most recently changed tag places, newest first (to seed the live view)."""
    cur = await conn.execute(
        f"SELECT {_PLACE} FROM tag_places ORDER BY changed_at DESC LIMIT %s", (limit,)
    )
    return [TagPlace(*row) for row in await cur.fetchall()]


EVENT_TABLES = ("passages", "zone_events", "weights")


async def fill_sites(conn: Conn, edge_sites: Mapping[str, str], default: str) -> dict[str, int]:
    """Give each event without a site (stored before migration 0034) the site whose
    layout has its edge (``edge_sites``), else ``default``; return how many rows of
    each table got one. Cheap once done: a partial index holds the rows without."""
    edges, sites = list(edge_sites), list(edge_sites.values())
    filled: dict[str, int] = {}
    for table in EVENT_TABLES:
        cur = await conn.execute(
            f"UPDATE {table} SET site = coalesce(m.site, %s)"
            f" FROM (SELECT DISTINCT edge_id FROM {table} WHERE site IS NULL) e"
            " LEFT JOIN unnest(%s::text[], %s::text[]) AS m(edge_id, site) USING (edge_id)"
            f" WHERE {table}.site IS NULL AND {table}.edge_id = e.edge_id",
            (default, edges, sites),
        )
        filled[table] = cur.rowcount
    return filled
