"""Workers' tasks on PostgreSQL: put-away, pick and ship, read as one list.

A task is what the WMS asks a worker (or the simulated warehouse, like a handheld) to
do; its id is ``<kind>-<number>`` (``pick-12``, ``ship-3``, ``putaway-7``):

- **put-away** (``putaway_tasks``): take a received pallet from its door to a storage
  zone (:func:`cloud.warehouse.putaway.suggest_zone`); made when the pallet is received
  (:func:`create_putaway_task`), confirmed by its zone arrival (:func:`putaway_arrived`);
- **pick** (``pick_tasks``): take a pallet from its zone to packing; made with the
  order's pick list (:mod:`cloud.db.orders`), confirmed by its arrival at packing;
- **ship** (``ship_tasks``): load an order's pallets through its door; made when the
  order is released to the door, confirmed when its last pallet has left;
- **weigh** (``weigh_tasks``): put a pallet in packing onto the scale again, its weight
  check not come (:func:`cloud.warehouse.packing.reweigh_due`, the reweigh job);
  confirmed by a weight of it (:func:`weighed`).

A worker reports a task done (:func:`report_task_done`): it leaves the open list and
``reported_at`` is kept; what physically happened still comes only from the RFID
events (``confirmed_at``), which are what move stock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cloud.db.orders import Conn, Floor
from cloud.warehouse.packing import AwaitingWeight
from cloud.warehouse.putaway import StockAt, suggest_zone

KINDS = ("putaway", "pick", "ship", "weigh")
STATUSES = ("open", "done", "cancelled")
_TABLE = {
    "putaway": "putaway_tasks",
    "pick": "pick_tasks",
    "ship": "ship_tasks",
    "weigh": "weigh_tasks",
}
_ID = re.compile(r"^(putaway|pick|ship|weigh)-([0-9]{1,18})$")


class TaskError(Exception):
    """A task that cannot be found or reported; the message names it."""


class TaskNotFound(TaskError):
    pass


class TaskConflict(TaskError):
    pass


@dataclass(frozen=True, slots=True)
class TaskPallet:
    sscc: str
    epc: str | None
    shipped: bool = False


@dataclass(frozen=True, slots=True)
class TaskRow:
    kind: str
    number: int
    status: str
    order_id: str | None
    pallet: str | None
    pallet_epc: str | None
    from_location: str
    to_location: str
    qty: int | None
    seq: int | None
    created_at: datetime
    reported_at: datetime | None
    confirmed_at: datetime | None
    rule: str | None
    pallets: list[TaskPallet] = field(default_factory=list)
    """For a ship task: the order's pallets."""

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.number}"


def parse_task_id(task_id: str) -> tuple[str, int]:
    m = _ID.match(task_id)
    if m is None:
        raise TaskNotFound(
            f"task_id: {task_id!r} is not a task id (putaway-<n>, pick-<n>, ship-<n> or weigh-<n>)"
        )
    return m.group(1), int(m.group(2))


_UNION = """
SELECT 'pick' AS kind, t.id, t.site, t.status, t.order_id, t.pallet, p.epc,
       t.from_location, t.to_location, t.qty, t.seq, t.created_at, t.reported_at,
       t.picked_at AS confirmed_at, NULL::text AS rule
  FROM pick_tasks t LEFT JOIN pallets p ON p.site = t.site AND p.sscc = t.pallet
UNION ALL
SELECT 'ship', s.id, s.site, s.status, s.order_id, NULL, NULL, %(packing)s, s.door, NULL,
       NULL, s.created_at, s.reported_at, s.shipped_at, NULL
  FROM ship_tasks s
UNION ALL
SELECT 'putaway', u.id, u.site, u.status, NULL, u.pallet, p.epc, u.from_location,
       u.to_location, NULL, NULL, u.created_at, u.reported_at, u.arrived_at, u.rule
  FROM putaway_tasks u LEFT JOIN pallets p ON p.site = u.site AND p.sscc = u.pallet
UNION ALL
SELECT 'weigh', w.id, w.site, w.status, w.order_id, w.pallet, p.epc, w.location,
       w.location, NULL, NULL, w.created_at, w.reported_at, w.weighed_at, NULL
  FROM weigh_tasks w LEFT JOIN pallets p ON p.site = w.site AND p.sscc = w.pallet
"""
_COLS = (
    "kind, id, status, order_id, pallet, epc, from_location, to_location, qty, seq,"
    " created_at, reported_at, confirmed_at, rule"
)
Cursor = tuple[datetime, str, int]


async def list_tasks(
    conn: Conn,
    *,
    site: str,
    floor: Floor,
    kind: str | None,
    status: str | None,
    after: Cursor | None,
    limit: int,
) -> list[TaskRow]:
    """Tasks oldest first (created, kind, number), filtered; keyset paged by ``after``."""
    parts = ["site = %(site)s"]
    params: dict[str, Any] = {"site": site, "packing": floor.packing, "limit": limit}
    if kind is not None:
        parts.append("kind = %(kind)s")
        params["kind"] = kind
    if status is not None:
        parts.append("status = %(status)s")
        params["status"] = status
    if after is not None:
        parts.append("(created_at, kind, id) > (%(t)s, %(k)s, %(n)s)")
        params.update(t=after[0], k=after[1], n=after[2])
    cur = await conn.execute(
        f"SELECT {_COLS} FROM ({_UNION}) x WHERE {' AND '.join(parts)}"
        " ORDER BY created_at, kind, id LIMIT %(limit)s",
        params,
    )
    rows = [TaskRow(*r) for r in await cur.fetchall()]
    return await _with_pallets(conn, rows)


async def _with_pallets(conn: Conn, rows: list[TaskRow]) -> list[TaskRow]:
    ship_orders = sorted({r.order_id for r in rows if r.kind == "ship" and r.order_id})
    if not ship_orders:
        return rows
    cur = await conn.execute(
        "SELECT t.order_id, t.pallet, p.epc, t.shipped_at IS NOT NULL FROM pick_tasks t"
        " LEFT JOIN pallets p ON p.site = t.site AND p.sscc = t.pallet"
        " WHERE t.order_id = ANY(%s::text[]) AND t.status <> 'cancelled'"
        " AND t.pallet IS NOT NULL ORDER BY t.order_id, t.seq",
        [ship_orders],
    )
    pallets: dict[str, list[TaskPallet]] = {}
    for order_id, sscc, epc, shipped in await cur.fetchall():
        pallets.setdefault(order_id, []).append(TaskPallet(sscc, epc, bool(shipped)))
    out = []
    for r in rows:
        if r.kind == "ship" and r.order_id is not None:
            r = TaskRow(**{**_fields(r), "pallets": pallets.get(r.order_id, [])})
        out.append(r)
    return out


def _fields(r: TaskRow) -> dict[str, Any]:
    return {name: getattr(r, name) for name in TaskRow.__dataclass_fields__}


async def get_task(conn: Conn, task_id: str, *, site: str, floor: Floor) -> TaskRow:
    kind, number = parse_task_id(task_id)
    cur = await conn.execute(
        f"SELECT {_COLS} FROM ({_UNION}) x WHERE site = %(site)s AND kind = %(kind)s"
        " AND id = %(n)s",
        {"site": site, "packing": floor.packing, "kind": kind, "n": number},
    )
    row = await cur.fetchone()
    if row is None:
        raise TaskNotFound(f"task_id: {task_id!r} does not exist")
    (task,) = await _with_pallets(conn, [TaskRow(*row)])
    return task


async def report_task_done(
    conn: Conn, task_id: str, *, site: str, floor: Floor, now: datetime
) -> tuple[TaskRow, bool]:
    """A worker says the task is done: it leaves the open list (``reported_at`` now).
    Returns the task and whether this changed it (False: it was done already).
    A cancelled task is a :class:`TaskConflict`."""
    kind, number = parse_task_id(task_id)
    async with conn.transaction():
        cur = await conn.execute(
            f"SELECT status FROM {_TABLE[kind]} WHERE id = %s AND site = %s FOR UPDATE",
            [number, site],
        )
        row = await cur.fetchone()
        if row is None:
            raise TaskNotFound(f"task_id: {task_id!r} does not exist")
        if row[0] == "cancelled":
            raise TaskConflict(f"task_id: {task_id} was cancelled (its order was); nothing to do")
        changed = row[0] == "open"
        if changed:
            await conn.execute(
                f"UPDATE {_TABLE[kind]} SET status = 'done', reported_at = %s WHERE id = %s",
                [now, number],
            )
    return await get_task(conn, task_id, site=site, floor=floor), changed


# -- put-away --------------------------------------------------------------------------


async def create_putaway_task(
    conn: Conn, *, site: str, sscc: str, from_location: str, floor: Floor, now: datetime
) -> int:
    """An open put-away task for a received pallet (the one it has, if any), to the
    zone :func:`cloud.warehouse.putaway.suggest_zone` names for its item."""
    cur = await conn.execute(
        "SELECT id FROM putaway_tasks WHERE site = %s AND pallet = %s AND status = 'open'",
        [site, sscc],
    )
    row = await cur.fetchone()
    if row is not None:
        return int(row[0])
    cur = await conn.execute(
        "SELECT sku FROM stock_positions WHERE site = %s AND pallet = %s AND qty > 0"
        " ORDER BY qty DESC, sku LIMIT 1",
        [site, sscc],
    )
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute(
            "SELECT sku FROM pallets WHERE site = %s AND sscc = %s", [site, sscc]
        )
        row = await cur.fetchone()
    sku = row[0] if row is not None else None
    cur = await conn.execute(
        "SELECT location, sku, NULLIF(pallet, ''), sum(qty)::int FROM stock_positions"
        " WHERE site = %s AND qty > 0 AND location = ANY(%s::text[])"
        " GROUP BY location, sku, pallet",
        [site, floor.storage_order],
    )
    stock = [StockAt(*r) for r in await cur.fetchall()]
    s = suggest_zone(sku or "", stock, floor.storage_order, pallet=sscc)
    cur = await conn.execute(
        "INSERT INTO putaway_tasks (site, pallet, sku, from_location, to_location, rule,"
        " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        [site, sscc, sku, from_location, s.zone, s.rule.value, now],
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def putaway_arrived(
    conn: Conn, *, site: str, sscc: str, zone: str, time: datetime, floor: Floor
) -> int | None:
    """The pallet arrived in a storage zone: its open put-away task is done (confirmed),
    wherever it went. The task's id, or None when it had none."""
    if zone not in floor.storage:
        return None
    cur = await conn.execute(
        "UPDATE putaway_tasks SET arrived_at = %s, arrived_zone = %s,"
        " status = CASE WHEN status = 'open' THEN 'done' ELSE status END"
        " WHERE site = %s AND pallet = %s AND arrived_at IS NULL AND status <> 'cancelled'"
        " RETURNING id",
        [time, zone, site, sscc],
    )
    rows = await cur.fetchall()
    return int(rows[0][0]) if rows else None


async def reopen_unconfirmed_picks(conn: Conn, *, site: str, items: list[str]) -> list[str]:
    """Pick tasks of ``items`` a worker reported done whose pallet never reached packing
    (a wrong pallet came instead): open again, so the right one is fetched. Their ids."""
    if not items:
        return []
    cur = await conn.execute(
        "UPDATE pick_tasks t SET status = 'open' WHERE t.site = %s AND t.status = 'done'"
        " AND t.reported_at IS NOT NULL AND t.picked_at IS NULL AND t.shipped_at IS NULL"
        " AND EXISTS (SELECT 1 FROM reservations r WHERE r.task_id = t.id"
        " AND r.sku = ANY(%s::text[])) RETURNING t.id",
        [site, items],
    )
    return sorted(f"pick-{r[0]}" for r in await cur.fetchall())


# -- weigh -----------------------------------------------------------------------------


_AWAITS_WEIGHT = (
    "t.status <> 'cancelled' AND t.packed_at IS NULL AND t.shipped_at IS NULL"
    " AND (o.status IN ('allocated', 'partially_allocated', 'picking', 'picked')"
    " OR (o.status = 'on_hold' AND t.weight IS NULL))"
)
"""A pick task (``t``) of an order (``o``) whose pallet awaits its weight check: not
weighed right, not shipped, its order open; of a held order only a pallet never weighed
(one that weighed wrong waits for a person)."""


async def awaiting_weight(conn: Conn, *, site: str) -> list[AwaitingWeight]:
    """Pallets in packing (arrived, or reported picked) awaiting their weight check
    (:data:`_AWAITS_WEIGHT`), with their weigh tasks so far."""
    cur = await conn.execute(
        "SELECT t.order_id, t.pallet, coalesce(t.picked_at, t.reported_at),"
        " (t.weight->>'time')::timestamptz, count(w.id)::int, max(w.created_at)"
        " FROM pick_tasks t JOIN orders o ON o.id = t.order_id"
        " LEFT JOIN weigh_tasks w ON w.order_id = t.order_id AND w.pallet = t.pallet"
        " WHERE t.site = %s AND t.pallet IS NOT NULL"
        " AND coalesce(t.picked_at, t.reported_at) IS NOT NULL AND "
        + _AWAITS_WEIGHT
        + " GROUP BY t.id ORDER BY t.id",
        [site],
    )
    return [AwaitingWeight(*r) for r in await cur.fetchall()]


async def create_weigh_task(
    conn: Conn, *, site: str, order: str, sscc: str, location: str, now: datetime
) -> int:
    cur = await conn.execute(
        "INSERT INTO weigh_tasks (site, order_id, pallet, location, created_at)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        [site, order, sscc, location, now],
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def weighed(conn: Conn, *, site: str, sscc: str, time: datetime) -> None:
    """A weight of the pallet came: its weigh tasks not confirmed yet are."""
    await conn.execute(
        "UPDATE weigh_tasks SET weighed_at = %s WHERE site = %s AND pallet = %s"
        " AND weighed_at IS NULL AND status <> 'cancelled' AND created_at <= %s",
        [time, site, sscc, time],
    )


async def cancel_stale_weigh_tasks(conn: Conn, *, site: str) -> list[str]:
    """Open weigh tasks whose pallet no longer awaits its check (weighed right, its order
    cancelled or shipped, or held after a wrong weight): cancelled. Their ids."""
    cur = await conn.execute(
        "UPDATE weigh_tasks w SET status = 'cancelled' WHERE w.site = %s AND w.status = 'open'"
        " AND NOT EXISTS (SELECT 1 FROM pick_tasks t JOIN orders o ON o.id = t.order_id"
        " WHERE t.order_id = w.order_id AND t.pallet = w.pallet AND " + _AWAITS_WEIGHT + ")"
        " RETURNING w.id",
        [site],
    )
    return sorted(f"weigh-{r[0]}" for r in await cur.fetchall())
