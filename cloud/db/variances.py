"""Count variances on PostgreSQL: what the cycle count reads (the book's pallets, the
heard places, the pallets in motion), and opening, listing, clearing, approving and
rejecting variances.

:func:`approve` posts the variance's adjustment through :func:`cloud.db.stock.post`,
cause ``count:<variance id>``, in the caller's transaction:

- ``missing``: every on-hand position of the pallet adjusted out (written off);
- ``unexpected``: a pallet the goods know (its item, lot and received cases) adjusted
  in at the zone heard, on the pallet (quarantine when its lot is unknown); an unknown
  pallet, or one whose item is not known, is recorded only (nothing to book);
- ``wrong_zone``: the pallet's stock moved to the zone heard (a ``move``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.db import goods, stock
from cloud.warehouse.handling import UNKNOWN_LOT, count_adjustments, moves_to
from cloud.warehouse.ledger import (
    ON_HAND_STATES,
    Bucket,
    Cause,
    CauseKind,
    Position,
    StockState,
    adjust,
)
from cloud.warehouse.variances import (
    BookedPallet,
    Discrepancy,
    HeardPallet,
    OpenVariance,
    VarianceError,
    VarianceKind,
    VarianceStatus,
    decide,
)

Conn = AsyncConnection[TupleRow]
PALLET_EPC_PREFIX = "31"
"""SSCC-96 EPCs (pallets) start with this header."""

_COLUMNS = (
    "id, site, zone, epc, pallet, kind, status, book_zone, heard_zone, opened_at,"
    " resolved_at, resolved_by, note, postings"
)


class VarianceNotFound(LookupError):
    def __init__(self, variance_id: int) -> None:
        self.variance_id = variance_id
        super().__init__(f"no variance {variance_id}")


@dataclass(frozen=True, slots=True)
class Variance:
    id: int
    site: str
    zone: str
    epc: str
    pallet: str | None
    kind: VarianceKind
    status: VarianceStatus
    book_zone: str | None
    heard_zone: str | None
    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None
    postings: list[int]

    def document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "zone": self.zone,
            "epc": self.epc,
            "pallet": self.pallet,
            "kind": self.kind.value,
            "status": self.status.value,
            "book_zone": self.book_zone,
            "heard_zone": self.heard_zone,
            "opened_at": self.opened_at,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
            "note": self.note,
            "postings": list(self.postings),
        }


def _variance(row: Sequence[Any]) -> Variance:
    return Variance(
        int(row[0]),
        row[1],
        row[2],
        row[3],
        row[4],
        VarianceKind(row[5]),
        VarianceStatus(row[6]),
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        row[12],
        [int(p) for p in row[13]],
    )


# -- what the count reads ---------------------------------------------------------------


async def booked_pallets(conn: Conn, site: str) -> list[BookedPallet]:
    """Pallets (with an EPC) holding stock on hand, each at the location (a zone or a
    door) holding most of its cases."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (p.epc) p.epc, sp.pallet, sp.location FROM stock_positions sp"
        " JOIN pallets p ON p.site = sp.site AND p.sscc = sp.pallet"
        " WHERE sp.site = %s AND sp.qty > 0 AND sp.pallet <> '' AND p.epc IS NOT NULL"
        " AND sp.state = ANY(%s::text[])"
        " ORDER BY p.epc, sp.qty DESC, sp.location",
        [site, [s.value for s in ON_HAND_STATES]],
    )
    return [BookedPallet(*row) for row in await cur.fetchall()]


async def heard_pallets(conn: Conn) -> list[HeardPallet]:
    """The places of every pallet EPC the edges' events placed."""
    cur = await conn.execute(
        "SELECT epc, state, zone FROM tag_places WHERE epc LIKE %s",
        [PALLET_EPC_PREFIX + "%"],
    )
    return [HeardPallet(*row) for row in await cur.fetchall()]


_IN_MOTION = (
    "SELECT pallet FROM putaway_tasks WHERE site = %(site)s AND arrived_at IS NULL"
    " AND status <> 'cancelled'"
    " UNION SELECT t.pallet FROM pick_tasks t WHERE t.site = %(site)s AND t.pallet IS NOT NULL"
    " AND t.shipped_at IS NULL AND t.status <> 'cancelled' AND NOT EXISTS (SELECT 1"
    " FROM orders o WHERE o.id = t.order_id AND o.status = 'cancelled')"
    " UNION SELECT pallet FROM stock_positions WHERE site = %(site)s AND state = 'reserved'"
    " AND qty > 0 AND pallet <> ''"
)


async def pallets_not_counted(conn: Conn, site: str) -> set[str]:
    """EPCs of the pallets the count leaves to receiving: announced and not received
    yet, or received and on a put-away task not arrived yet. (A pallet on a pick task
    is counted: on its shelf it is heard there, on its way it goes to packing, a zone
    the count does not cover, and the book follows it there.)"""
    cur = await conn.execute(
        "SELECT p.epc FROM pallets p WHERE p.site = %(site)s AND p.epc IS NOT NULL"
        " AND (p.status = 'announced' OR p.sscc IN (SELECT pallet FROM putaway_tasks"
        " WHERE site = %(site)s AND arrived_at IS NULL AND status <> 'cancelled'))",
        {"site": site},
    )
    return {row[0] for row in await cur.fetchall()}


async def pallets_pending(conn: Conn, *, consumer: str = "warehouse") -> set[str]:
    """EPCs of the pallets with a passage or zone event the warehouse feed has not
    applied yet: the book will move, the count waits for it. None while the feed has
    never run (the book is not fed by events)."""
    cur = await conn.execute(
        "SELECT source, last_id FROM feed_cursors WHERE consumer = %s", [consumer]
    )
    applied = {r[0]: int(r[1]) for r in await cur.fetchall()}
    pending: set[str] = set()
    for source in ("passages", "zone_events"):
        if source not in applied:
            continue
        cur = await conn.execute(
            f"SELECT DISTINCT epc FROM {source} WHERE id > %s AND epc LIKE %s",
            [applied[source], PALLET_EPC_PREFIX + "%"],
        )
        pending.update(r[0] for r in await cur.fetchall())
    return pending


async def pallet_in_motion(conn: Conn, site: str, sscc: str) -> bool:
    """Whether the pallet ``sscc`` is moving under a task: put away and not arrived yet,
    on a pick task not shipped of an order not cancelled (a cancelled order's picked
    pallet goes back to storage on a put-away task, and then stands on its shelf like
    any other), or holding stock reserved for an order."""
    cur = await conn.execute(
        f"SELECT EXISTS (SELECT 1 FROM ({_IN_MOTION}) m WHERE m.pallet = %(sscc)s)",
        {"site": site, "sscc": sscc},
    )
    row = await cur.fetchone()
    return bool(row and row[0])


# -- variances --------------------------------------------------------------------------


async def open_variances(conn: Conn, site: str) -> list[OpenVariance]:
    cur = await conn.execute(
        "SELECT id, epc, kind, zone, book_zone, heard_zone FROM count_variances"
        " WHERE site = %s AND status = 'open' ORDER BY id",
        [site],
    )
    return [
        OpenVariance(int(r[0]), r[1], VarianceKind(r[2]), r[3], r[4], r[5])
        for r in await cur.fetchall()
    ]


async def open_variance(conn: Conn, site: str, d: Discrepancy, *, at: datetime) -> int | None:
    """Open a variance for ``d``; None when the pallet has an open one already."""
    cur = await conn.execute(
        "INSERT INTO count_variances (site, zone, epc, pallet, kind, book_zone, heard_zone,"
        " opened_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (site, epc) WHERE status = 'open' DO NOTHING RETURNING id",
        [site, d.zone, d.epc, d.sscc, d.kind.value, d.book_zone, d.heard_zone, at],
    )
    row = await cur.fetchone()
    return int(row[0]) if row is not None else None


async def get_variance(conn: Conn, variance_id: int, *, lock: bool = False) -> Variance | None:
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM count_variances WHERE id = %s" + (" FOR UPDATE" if lock else ""),
        [variance_id],
    )
    row = await cur.fetchone()
    return _variance(row) if row is not None else None


async def list_variances(
    conn: Conn,
    *,
    site: str | None,
    status: VarianceStatus | None,
    after: int | None,
    limit: int,
) -> list[Variance]:
    """Variances by id (oldest first), after the id ``after``."""
    parts = ["id > %s"]
    params: list[Any] = [after or 0]
    if site is not None:
        parts.append("site = %s")
        params.append(site)
    if status is not None:
        parts.append("status = %s")
        params.append(status.value)
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM count_variances WHERE {' AND '.join(parts)} ORDER BY id LIMIT %s",
        [*params, limit],
    )
    return [_variance(r) for r in await cur.fetchall()]


async def _close(
    conn: Conn,
    v: Variance,
    to: VarianceStatus,
    *,
    by: str,
    at: datetime,
    note: str | None,
    postings: Sequence[int] = (),
) -> Variance:
    decide(v.id, v.status, to)
    cur = await conn.execute(
        f"UPDATE count_variances SET status = %s, resolved_at = %s, resolved_by = %s,"
        f" note = %s, postings = %s WHERE id = %s AND status = 'open' RETURNING {_COLUMNS}",
        [to.value, at, by, note, list(postings), v.id],
    )
    row = await cur.fetchone()
    if row is None:  # pragma: no cover - the row was locked by the caller
        raise VarianceError(f"variance {v.id} is not open")
    return _variance(row)


async def clear(conn: Conn, variance_id: int, *, by: str, at: datetime) -> Variance | None:
    """Close an open variance as cleared (the disagreement ended); None when it is not
    open any more (an operator decided it meanwhile)."""
    v = await get_variance(conn, variance_id, lock=True)
    if v is None or v.status is not VarianceStatus.OPEN:
        return None
    return await _close(
        conn, v, VarianceStatus.CLEARED, by=by, at=at, note="the readers and the book agree again"
    )


async def reject(
    conn: Conn, variance_id: int, *, by: str, at: datetime, note: str | None
) -> Variance:
    """An operator says the book is right: closed, nothing posted."""
    v = await get_variance(conn, variance_id, lock=True)
    if v is None:
        raise VarianceNotFound(variance_id)
    return await _close(conn, v, VarianceStatus.REJECTED, by=by, at=at, note=note)


async def approve(
    conn: Conn,
    variance_id: int,
    *,
    by: str,
    at: datetime,
    note: str | None,
    doors: Collection[str],
) -> Variance:
    """An operator says the readers are right: the adjustment posted (module doc)."""
    v = await get_variance(conn, variance_id, lock=True)
    if v is None:
        raise VarianceNotFound(variance_id)
    decide(v.id, v.status, VarianceStatus.APPROVED)
    cause = Cause(CauseKind.COUNT, f"variance:{v.id}")
    held = await stock.pallet_positions(conn, v.site, v.pallet) if v.pallet else []
    held_pos = [(r.position, r.qty) for r in held]
    ops = []
    recorded = note
    if v.kind is VarianceKind.MISSING:
        if held_pos:
            surplus_to = held_pos[0][0]
            ops = count_adjustments(held_pos, 0, surplus_to=surplus_to, cause=cause, time=at)
    elif v.kind is VarianceKind.WRONG_ZONE:
        assert v.heard_zone is not None
        ops = moves_to(held_pos, v.heard_zone, doors=doors, cause=cause, time=at)
    else:
        ops, why = await _found_pallet(conn, v, cause=cause, at=at)
        if why:
            recorded = f"{note}; {why}" if note else why
    postings = [await stock.post(conn, op, recorded_at=at) for op in ops]
    return await _close(
        conn, v, VarianceStatus.APPROVED, by=by, at=at, note=recorded, postings=postings
    )


async def _found_pallet(
    conn: Conn, v: Variance, *, cause: Cause, at: datetime
) -> tuple[list[Any], str | None]:
    """The adjustment in of an unexpected pallet, or why nothing is booked."""
    assert v.heard_zone is not None
    sscc = v.pallet or await _sscc_of(conn, v.site, v.epc)
    if sscc is None:
        return [], "recorded: a pallet the goods do not know, nothing booked"
    pallet = await goods.pallet(conn, v.site, sscc)
    if pallet is None or pallet.sku is None:
        return [], "recorded: a pallet whose item is not known, nothing booked"
    held = await stock.pallet_positions(conn, v.site, sscc)
    if any(r.bucket.state in ON_HAND_STATES for r in held):
        return [], "recorded: the book holds the pallet again, nothing booked"
    cases = pallet.received_cases or (pallet.announced_cases or 0)
    if cases <= 0:
        return [], "recorded: the pallet's case count is not known, nothing booked"
    lot = pallet.lot or UNKNOWN_LOT
    state = StockState.QUARANTINE if lot == UNKNOWN_LOT else StockState.AVAILABLE
    position = Position(Bucket(v.site, pallet.sku, lot, v.heard_zone, state), sscc)
    return [adjust(position, cases, cause=cause, time=at)], None


async def _sscc_of(conn: Conn, site: str, epc: str) -> str | None:
    cur = await conn.execute(
        "SELECT sscc FROM pallets WHERE site = %s AND epc = %s LIMIT 1", [site, epc]
    )
    row = await cur.fetchone()
    return str(row[0]) if row is not None else None
