"""Goods on PostgreSQL: the item master, lots, advance ship notices, pallets and their
cases.

A pallet is known by (site, SSCC); its SSCC-96 EPC is kept once known. Writers here
take the caller's connection and write inside the caller's transaction, so a receipt,
its ledger posting and its alert commit together.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

Conn = AsyncConnection[TupleRow]


class GoodsError(ValueError):
    """A write the stored goods refuse (a conflict or an unknown reference); the message
    names the field and the value. ``status`` is the HTTP status it means."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


# -- items ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    name: str
    case_weight_kg: float
    shelf_life_days: int | None = None
    pallet_tare_kg: float = 25.0
    created_at: datetime | None = None
    updated_at: datetime | None = None


_ITEM = "sku, name, case_weight_kg, shelf_life_days, pallet_tare_kg, created_at, updated_at"


async def upsert_item(conn: Conn, item: Item, *, now: datetime) -> tuple[Item, bool]:
    """Create or update an item of the master; the stored item and whether it is new."""
    cur = await conn.execute(
        f"INSERT INTO items ({_ITEM}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (sku) DO UPDATE SET name = excluded.name,"
        " case_weight_kg = excluded.case_weight_kg, shelf_life_days = excluded.shelf_life_days,"
        " pallet_tare_kg = excluded.pallet_tare_kg, updated_at = excluded.updated_at"
        f" RETURNING {_ITEM}, (xmax = 0)",
        [
            item.sku,
            item.name,
            item.case_weight_kg,
            item.shelf_life_days,
            item.pallet_tare_kg,
            now,
            now,
        ],
    )
    row = await cur.fetchone()
    assert row is not None
    return Item(*row[:7]), bool(row[7])


async def item(conn: Conn, sku: str) -> Item | None:
    cur = await conn.execute(f"SELECT {_ITEM} FROM items WHERE sku = %s", [sku])
    row = await cur.fetchone()
    return Item(*row) if row else None


async def items(conn: Conn, *, after: str | None, limit: int) -> list[Item]:
    """Items by SKU, after ``after``."""
    cur = await conn.execute(
        f"SELECT {_ITEM} FROM items WHERE sku > %s ORDER BY sku LIMIT %s", [after or "", limit]
    )
    return [Item(*r) for r in await cur.fetchall()]


async def unknown_items(conn: Conn, skus: Iterable[str]) -> list[str]:
    """The SKUs of ``skus`` that are not in the item master, sorted."""
    wanted = sorted(set(skus))
    cur = await conn.execute(
        "SELECT s FROM unnest(%s::text[]) s WHERE NOT EXISTS (SELECT 1 FROM items WHERE sku = s)"
        " ORDER BY s",
        [wanted],
    )
    return [r[0] for r in await cur.fetchall()]


# -- lots -----------------------------------------------------------------------------


async def ensure_lot(conn: Conn, sku: str, lot: str, expiry: date | None, *, now: datetime) -> None:
    """Record the lot with its expiry; :class:`GoodsError` (409) when it is known with
    another expiry. A lot known without an expiry takes the one given."""
    await conn.execute(
        "INSERT INTO lots (sku, lot, expiry, created_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (sku, lot) DO UPDATE SET expiry = excluded.expiry"
        " WHERE lots.expiry IS NULL AND excluded.expiry IS NOT NULL",
        [sku, lot, expiry, now],
    )
    cur = await conn.execute("SELECT expiry FROM lots WHERE sku = %s AND lot = %s", [sku, lot])
    row = await cur.fetchone()
    assert row is not None
    if expiry is not None and row[0] != expiry:
        raise GoodsError(
            f"expiry: lot {lot!r} of {sku} expires {row[0]}, not {expiry.isoformat()}",
            status=409,
        )


async def lot_expiry(conn: Conn, sku: str, lot: str) -> date | None:
    cur = await conn.execute("SELECT expiry FROM lots WHERE sku = %s AND lot = %s", [sku, lot])
    row = await cur.fetchone()
    return row[0] if row else None


# -- advance ship notices -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnnouncedPallet:
    sscc: str
    epc: str | None
    sku: str
    lot: str
    expiry: date | None
    case_count: int
    cases: tuple[str, ...] = ()
    """Announced case EPCs (upper-case hex), or empty for a count only."""


@dataclass(frozen=True, slots=True)
class Notice:
    id: str
    site: str
    supplier: str
    expected_at: datetime
    door: str | None
    pallets: tuple[AnnouncedPallet, ...]
    created_at: datetime | None = None


async def insert_asn(conn: Conn, notice: Notice, *, now: datetime) -> None:
    """Store a notice, its lots and its pallets (status ``announced``) with their
    announced cases; :class:`GoodsError` (409) naming what is already known: the notice
    id, a pallet's SSCC or EPC at the site, a case on another pallet."""
    cur = await conn.execute(
        "INSERT INTO asns (id, site, supplier, expected_at, door, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
        [notice.id, notice.site, notice.supplier, notice.expected_at, notice.door, now],
    )
    if await cur.fetchone() is None:
        raise GoodsError(f"asn: notice {notice.id!r} exists already", status=409)
    ssccs = [p.sscc for p in notice.pallets]
    epcs = [p.epc for p in notice.pallets if p.epc]
    cur = await conn.execute(
        "SELECT sscc, epc FROM pallets WHERE site = %s AND (sscc = ANY(%s) OR epc = ANY(%s))"
        " ORDER BY sscc LIMIT 1",
        [notice.site, ssccs, epcs],
    )
    row = await cur.fetchone()
    if row is not None:
        raise GoodsError(
            f"pallets.sscc: pallet {row[0]} (epc {row[1]}) is known at site "
            f"{notice.site!r} already",
            status=409,
        )
    cases = [c for p in notice.pallets for c in p.cases]
    cur = await conn.execute(
        "SELECT epc, pallet FROM pallet_cases WHERE site = %s AND epc = ANY(%s)"
        " ORDER BY epc LIMIT 1",
        [notice.site, cases],
    )
    row = await cur.fetchone()
    if row is not None:
        raise GoodsError(f"pallets.cases: case {row[0]} is on pallet {row[1]} already", status=409)
    for p in notice.pallets:
        await ensure_lot(conn, p.sku, p.lot, p.expiry, now=now)
    await conn.execute(
        "INSERT INTO pallets (site, sscc, epc, sku, lot, expiry, asn, announced_cases, status,"
        " created_at, updated_at) SELECT %s, s, e, k, l, x, %s, n, 'announced', %s, %s"
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::date[], %s::int[])"
        " AS u(s, e, k, l, x, n)",
        [
            notice.site,
            notice.id,
            now,
            now,
            ssccs,
            [p.epc for p in notice.pallets],
            [p.sku for p in notice.pallets],
            [p.lot for p in notice.pallets],
            [p.expiry for p in notice.pallets],
            [p.case_count for p in notice.pallets],
        ],
    )
    pairs = [(c, p.sscc) for p in notice.pallets for c in p.cases]
    if pairs:
        await conn.execute(
            "INSERT INTO pallet_cases (site, epc, pallet, announced)"
            " SELECT %s, c, s, true FROM unnest(%s::text[], %s::text[]) AS u(c, s)",
            [notice.site, [c for c, _ in pairs], [s for _, s in pairs]],
        )


@dataclass(frozen=True, slots=True)
class AsnHeader:
    id: str
    site: str
    supplier: str
    expected_at: datetime
    door: str | None
    created_at: datetime
    short_checked_at: datetime | None


_ASN = "id, site, supplier, expected_at, door, created_at, short_checked_at"


async def asn_header(conn: Conn, asn_id: str) -> AsnHeader | None:
    cur = await conn.execute(f"SELECT {_ASN} FROM asns WHERE id = %s", [asn_id])
    row = await cur.fetchone()
    return AsnHeader(*row) if row else None


async def asn_headers(
    conn: Conn, *, site: str | None, after: tuple[datetime, str] | None, limit: int
) -> list[AsnHeader]:
    """Notices by expected time, then id, after ``after``."""
    parts: list[str] = ["true"]
    params: list[Any] = []
    if site is not None:
        parts.append("site = %s")
        params.append(site)
    if after is not None:
        parts.append("(expected_at, id) > (%s, %s)")
        params.extend(after)
    cur = await conn.execute(
        f"SELECT {_ASN} FROM asns WHERE {' AND '.join(parts)} ORDER BY expected_at, id LIMIT %s",
        [*params, limit],
    )
    return [AsnHeader(*r) for r in await cur.fetchall()]


# -- pallets --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pallet:
    site: str
    sscc: str
    epc: str | None
    sku: str | None
    lot: str | None
    expiry: date | None
    asn: str | None
    announced_cases: int | None
    status: str
    """announced, received or shipped."""
    received_at: datetime | None
    received_door: str | None
    received_cause: str | None
    received_cases: int
    over_cases: int
    created_at: datetime
    updated_at: datetime
    cases: tuple[PalletCase, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class PalletCase:
    epc: str
    announced: bool
    heard_at: datetime | None


_PALLET = (
    "site, sscc, epc, sku, lot, expiry, asn, announced_cases, status, received_at,"
    " received_door, received_cause, received_cases, over_cases, created_at, updated_at"
)


def _pallet(row: Sequence[Any]) -> Pallet:
    return Pallet(*row[:16])


async def pallet(conn: Conn, site: str, sscc: str, *, lock: bool = False) -> Pallet | None:
    """The pallet of ``sscc`` at ``site``; ``lock`` locks its row (FOR UPDATE) so two
    receipts of one pallet are one after the other."""
    cur = await conn.execute(
        f"SELECT {_PALLET} FROM pallets WHERE site = %s AND sscc = %s"
        + (" FOR UPDATE" if lock else ""),
        [site, sscc],
    )
    row = await cur.fetchone()
    return _pallet(row) if row else None


async def pallet_with_cases(conn: Conn, site: str, sscc: str) -> Pallet | None:
    found = await pallet(conn, site, sscc)
    if found is None:
        return None
    cur = await conn.execute(
        "SELECT epc, announced, heard_at FROM pallet_cases WHERE site = %s AND pallet = %s"
        " ORDER BY epc",
        [site, sscc],
    )
    cases = tuple(PalletCase(*r) for r in await cur.fetchall())
    return dataclasses.replace(found, cases=cases)


async def drop_cases(conn: Conn, site: str, sscc: str, cases: Sequence[str]) -> None:
    """Take ``cases`` (EPCs) off the pallet's case list."""
    await conn.execute(
        "DELETE FROM pallet_cases WHERE site = %s AND pallet = %s AND epc = ANY(%s)",
        [site, sscc, list(cases)],
    )


async def sscc_of_epc(conn: Conn, epc: str) -> list[tuple[str, str]]:
    """(site, SSCC) of the pallets stored with this EPC."""
    cur = await conn.execute("SELECT site, sscc FROM pallets WHERE epc = %s ORDER BY site", [epc])
    return [(r[0], r[1]) for r in await cur.fetchall()]


async def pallets_of_asn(conn: Conn, asn_id: str) -> list[Pallet]:
    cur = await conn.execute(
        f"SELECT {_PALLET} FROM pallets WHERE asn = %s ORDER BY sscc", [asn_id]
    )
    return [_pallet(r) for r in await cur.fetchall()]


async def case_counts(conn: Conn, site: str, ssccs: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Per pallet: (announced case EPCs, of which heard)."""
    cur = await conn.execute(
        "SELECT pallet, count(*) FILTER (WHERE announced),"
        " count(*) FILTER (WHERE announced AND heard_at IS NOT NULL)"
        " FROM pallet_cases WHERE site = %s AND pallet = ANY(%s) GROUP BY pallet",
        [site, list(ssccs)],
    )
    return {r[0]: (int(r[1]), int(r[2])) for r in await cur.fetchall()}


async def mark_received(
    conn: Conn,
    site: str,
    sscc: str,
    *,
    epc: str | None,
    at: datetime,
    door: str | None,
    cause: str,
    received_cases: int,
    over_cases: int,
    now: datetime,
) -> None:
    """An announced pallet came: status ``received`` with when, where, what caused it and
    the cases booked and over."""
    await conn.execute(
        "UPDATE pallets SET status = 'received', epc = COALESCE(epc, %s), received_at = %s,"
        " received_door = %s, received_cause = %s, received_cases = %s, over_cases = %s,"
        " updated_at = %s WHERE site = %s AND sscc = %s",
        [epc, at, door, cause, received_cases, over_cases, now, site, sscc],
    )


async def insert_unexpected(
    conn: Conn,
    site: str,
    sscc: str,
    *,
    epc: str | None,
    sku: str | None,
    lot: str | None,
    at: datetime,
    door: str | None,
    cause: str,
    received_cases: int,
    now: datetime,
) -> None:
    """A pallet nobody announced came: stored as ``received`` without a notice."""
    await conn.execute(
        "INSERT INTO pallets (site, sscc, epc, sku, lot, status, received_at, received_door,"
        " received_cause, received_cases, over_cases, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, 'received', %s, %s, %s, %s, %s, %s, %s)",
        [site, sscc, epc, sku, lot, at, door, cause, received_cases, received_cases, now, now],
    )


async def add_received_cases(conn: Conn, site: str, sscc: str, n: int, *, now: datetime) -> None:
    await conn.execute(
        "UPDATE pallets SET received_cases = received_cases + %s, updated_at = %s"
        " WHERE site = %s AND sscc = %s",
        [n, now, site, sscc],
    )


async def record_heard_cases(
    conn: Conn, site: str, sscc: str, cases: Iterable[str], *, at: datetime
) -> None:
    """Cases heard with the pallet: announced ones get ``heard_at``; cases on no pallet
    yet are added to it (not announced). A case known on another pallet stays there."""
    heard = sorted(set(cases))
    if not heard:
        return
    await conn.execute(
        "INSERT INTO pallet_cases (site, epc, pallet, announced, heard_at)"
        " SELECT %s, c, %s, false, %s FROM unnest(%s::text[]) c"
        " ON CONFLICT (site, epc) DO UPDATE SET heard_at = COALESCE(pallet_cases.heard_at,"
        " excluded.heard_at) WHERE pallet_cases.pallet = excluded.pallet",
        [site, sscc, at, heard],
    )


async def announced_case(conn: Conn, site: str, epc: str) -> tuple[str, bool] | None:
    """(pallet SSCC, heard already) of an announced case."""
    cur = await conn.execute(
        "SELECT pallet, heard_at IS NOT NULL FROM pallet_cases"
        " WHERE site = %s AND epc = %s AND announced FOR UPDATE",
        [site, epc],
    )
    row = await cur.fetchone()
    return (row[0], bool(row[1])) if row else None


async def mark_shipped(conn: Conn, site: str, sscc: str, *, now: datetime) -> None:
    """The pallet left the site (the orders' door check calls this when it ships one)."""
    await conn.execute(
        "UPDATE pallets SET status = 'shipped', updated_at = %s WHERE site = %s AND sscc = %s",
        [now, site, sscc],
    )


async def overdue_asns(conn: Conn, site: str, *, before: datetime) -> list[AsnHeader]:
    """Notices of ``site`` expected before ``before`` not yet checked for short pallets,
    locked (FOR UPDATE SKIP LOCKED) so that one checker takes each."""
    cur = await conn.execute(
        f"SELECT {_ASN} FROM asns WHERE site = %s AND short_checked_at IS NULL"
        " AND expected_at < %s ORDER BY expected_at, id FOR UPDATE SKIP LOCKED",
        [site, before],
    )
    return [AsnHeader(*r) for r in await cur.fetchall()]


async def mark_short_checked(conn: Conn, asn_id: str, *, at: datetime) -> None:
    await conn.execute("UPDATE asns SET short_checked_at = %s WHERE id = %s", [at, asn_id])


# -- pallets as the API lists them ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PalletStock:
    """A pallet with where its stock is by the ledger: one row per (location, state)
    holding its cases; a pallet with none has one row of location and state None."""

    site: str
    sscc: str
    epc: str | None
    sku: str | None
    lot: str | None
    expiry: date | None
    location: str | None
    state: str | None
    cases: int


async def pallet_stock(
    conn: Conn,
    *,
    site: str | None,
    location: str | None,
    sku: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[PalletStock]:
    """Received pallets holding stock (by site, SSCC after ``after``), with the location
    and state of their cases by the ledger (a pallet whose cases sit in two places gives
    two rows); filtered by site, location (zone) and item."""
    parts = ["sp.qty > 0", "sp.pallet <> ''"]
    params: list[Any] = []
    for column, value in (("sp.site", site), ("sp.location", location), ("sp.sku", sku)):
        if value is not None:
            parts.append(f"{column} = %s")
            params.append(value)
    if after is not None:
        parts.append("(sp.site, sp.pallet) > (%s, %s)")
        params.extend(after)
    # The page's pallets first (an index-ordered scan stopping at the limit), then their
    # positions through the same partial index (hence ``pallet <> ''`` repeated); the
    # pallet's EPC and the lot's expiry are one row each, looked up per row by their
    # primary keys. Those keys have the default collation and the positions' "C": only
    # with the COLLATE can the keys' indexes serve (the join it replaces hashed all the
    # pallets for a page of 50, 110 ms with 50k pallets; a lookup without it scans them).
    cur = await conn.execute(
        "WITH page AS (SELECT DISTINCT sp.site, sp.pallet FROM stock_positions sp"
        f" WHERE {' AND '.join(parts)} ORDER BY sp.site, sp.pallet LIMIT %s)"
        " SELECT page.site, page.pallet,"
        ' (SELECT p.epc FROM pallets p WHERE p.site = page.site COLLATE "default"'
        ' AND p.sscc = page.pallet COLLATE "default"),'
        " sp.sku, sp.lot,"
        ' (SELECT l.expiry FROM lots l WHERE l.sku = sp.sku COLLATE "default"'
        ' AND l.lot = sp.lot COLLATE "default"),'
        " sp.location, sp.state, sum(sp.qty)::int FROM page"
        " JOIN stock_positions sp ON sp.site = page.site AND sp.pallet = page.pallet"
        " AND sp.qty > 0 AND sp.pallet <> ''"
        " GROUP BY page.site, page.pallet, sp.sku, sp.lot, sp.location, sp.state"
        " ORDER BY page.site, page.pallet, sp.location, sp.state, sp.sku, sp.lot",
        [*params, limit],
    )
    return [PalletStock(*r) for r in await cur.fetchall()]


async def inbound_pending(
    conn: Conn, *, site: str, sku: str, due_after: datetime
) -> list[tuple[str, datetime, int]]:
    """Announced pallets of ``sku`` at ``site`` not received yet, per notice expected
    after ``due_after`` (older ones are short): (notice, expected_at, cases), by
    expected time."""
    cur = await conn.execute(
        "SELECT a.id, a.expected_at, sum(p.announced_cases)::int FROM pallets p"
        " JOIN asns a ON a.id = p.asn WHERE p.site = %s AND p.sku = %s"
        " AND p.status = 'announced' AND a.expected_at > %s"
        " GROUP BY a.id, a.expected_at ORDER BY a.expected_at, a.id",
        [site, sku, due_after],
    )
    return [(r[0], r[1], int(r[2])) for r in await cur.fetchall()]
