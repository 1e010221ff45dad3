"""Orders on PostgreSQL: creating one, reading them, and moving them along.

:func:`create_order` validates an order, reserves its stock **FEFO, race-safe**, and
makes its pick list, all in one transaction:

1. the items of its lines are locked one after the other in GTIN order by
   :func:`cloud.db.stock.fefo_candidates` (``FOR UPDATE`` of their available
   positions, in primary-key order), so two orders for the same item queue on the
   same rows instead of deadlocking, and the second reads what the first left
   (READ COMMITTED re-reads a row it waited for);
2. :func:`cloud.warehouse.allocation.allocate_order` chooses the cases;
   :func:`cloud.db.stock.post` posts each ``reserve`` through the goods ledger, which
   refuses anything that would take a position below zero (and ``CHECK (qty >= 0)``
   backs it). Nothing is ever reserved twice: what the stock cannot cover is the
   line's shortfall (``partially_allocated`` or ``backordered``).

Only stock **on pallets in storage zones** is promised (the door and the scale see
pallets; stock at a door, in staging or at packing is not put away yet), and a pallet
serves **one order**: a pallet holding cases reserved for an order is not offered to
another (so the door check knows whose truck it belongs on).

The rest moves an order along: :mod:`cloud.db.order_flow` from what the warehouse
reports (a pallet at packing, on the scale, through a door; the feed handlers in
:mod:`cloud.operations.orders_feed`), :mod:`cloud.db.order_status` from people
(release, cancel) and for the status itself. Every change of status goes through
:func:`record`, which writes the timeline. Workers' tasks: :mod:`cloud.db.tasks`.

Every timeline entry written also notifies :data:`CHANNEL` (``{"order": id}``), which
PostgreSQL delivers when the transaction commits: the live feed of every API node
hears of each order change (:mod:`cloud.live.order_feed`), wherever it was made.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.db import stock, webhooks
from cloud.warehouse.allocation import OrderLine, allocate_order, reservations
from cloud.warehouse.ledger import (
    Cause,
    CauseKind,
)
from cloud.warehouse.orders import (
    OrderStatus,
    TimelineEntry,
    advance,
    allocation_status,
)
from cloud.warehouse.pick_list import Reserved, packing_zone, pick_list, ship_door
from cloud.warehouse.pick_route import Point, place_points
from cloud.warehouse.putaway import storage_zones
from protocols.layout import Layout

log = logging.getLogger(__name__)

Conn = AsyncConnection[TupleRow]
S = OrderStatus

CHANNEL = "rfidwms_orders"
"""The PostgreSQL channel on which every order change is notified."""


# -- errors ----------------------------------------------------------------------------


class OrderError(Exception):
    """An order request that cannot be served; the message names field and value."""


class UnknownItems(OrderError):
    """Lines whose sku is not in the item master."""


class ClientIdConflict(OrderError):
    """An order id the client used before, with another body."""


class OrderNotFound(OrderError):
    """No such order (for this caller)."""


class OrderConflict(OrderError):
    """What was asked does not fit the order's status."""


# -- the floor plan the orders use -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Floor:
    """What orders need of a site's layout: the places' points, the packing area, the
    storage zones (where stock is promised from), the doors and the default ship door."""

    points: Mapping[str, Point]
    packing: str
    storage: frozenset[str]
    doors: frozenset[str]
    default_door: str

    @classmethod
    def of(cls, layout: Layout, *, ship_door_setting: str | None = None) -> Floor:
        return cls(
            points=place_points(layout),
            packing=packing_zone(layout),
            storage=frozenset(storage_zones(layout)),
            doors=frozenset(d.id for d in layout.doors),
            default_door=ship_door(layout, configured=ship_door_setting),
        )

    @property
    def storage_order(self) -> list[str]:
        return sorted(self.storage)


# -- rows ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewLine:
    sku: str
    qty: int


@dataclass(frozen=True, slots=True)
class NewOrder:
    customer: str
    lines: tuple[NewLine, ...]
    ship_door: str | None = None
    requested_at: datetime | None = None
    client_id: str | None = None

    def request(self) -> dict[str, Any]:
        """The body as accepted, the same every time for the same order (idempotency)."""
        return {
            "customer": self.customer,
            "lines": [{"sku": x.sku, "qty": x.qty} for x in self.lines],
            "ship_door": self.ship_door,
            "requested_at": (
                self.requested_at.astimezone(UTC).isoformat() if self.requested_at else None
            ),
            "order": self.client_id,
        }


@dataclass(frozen=True, slots=True)
class LineRow:
    line: int
    sku: str
    qty: int
    allocated: int
    picked: int
    shipped: int


@dataclass(frozen=True, slots=True)
class ReservationRow:
    id: int
    line: int
    sku: str
    lot: str
    expiry: date | None
    location: str
    pallet: str | None
    qty: int
    picked: int
    shipped: int
    released: int
    task_id: int | None


@dataclass(frozen=True, slots=True)
class PickTaskRow:
    id: int
    order_id: str
    seq: int
    pallet: str | None
    pallet_epc: str | None
    from_location: str
    to_location: str
    qty: int
    status: str
    created_at: datetime
    reported_at: datetime | None
    picked_at: datetime | None
    packed_at: datetime | None
    shipped_at: datetime | None
    weight: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class TimelineRow:
    time: datetime
    status: str
    event: str
    cause_kind: str | None
    cause_id: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: str
    seq: int
    site: str
    customer: str
    client_id: str | None
    status: str
    allocation: str | None
    ship_door: str | None
    requested_at: datetime | None
    created_at: datetime
    updated_at: datetime
    released_at: datetime | None
    shipped_at: datetime | None
    hold_reason: str | None
    route_m: float | None
    naive_route_m: float | None
    request: dict[str, Any]
    promised_date: date | None = None
    """The day its short cases can be had, as last judged (cloud.operations.promised_dates)."""
    delivered_at: datetime | None = None
    delivered_by: str | None = None


@dataclass(frozen=True, slots=True)
class OrderDetail:
    order: OrderRow
    lines: list[LineRow]
    reservations: list[ReservationRow] = field(default_factory=list)
    pick_tasks: list[PickTaskRow] = field(default_factory=list)
    timeline: list[TimelineRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Created:
    detail: OrderDetail
    new: bool
    """False: the same client order id and body again; nothing was done."""


_ORDER = (
    "id, seq, site, customer, client_id, status, allocation, ship_door, requested_at,"
    " created_at, updated_at, released_at, shipped_at, hold_reason, route_m, naive_route_m,"
    " request, promised_date, delivered_at, delivered_by"
)


# -- creating --------------------------------------------------------------------------


async def create_order(
    conn: Conn, *, site: str, floor: Floor, new: NewOrder, now: datetime
) -> Created:
    """Create ``new`` with its reservations and pick list in one transaction (module
    doc); the same client order id with the same body again returns the order as it is
    now (``new=False``), with another body :class:`ClientIdConflict`; unknown skus
    :class:`UnknownItems`."""
    async with conn.transaction():
        if new.client_id is not None:
            existing = await _by_client_id(conn, site, new)
            if existing is not None:
                return existing
        await _check_items(conn, new.lines)
        cur = await conn.execute("SELECT nextval('order_numbers')")
        row = await cur.fetchone()
        assert row is not None
        seq = int(row[0])
        order_id = f"SO-{seq:06d}"
        cur = await conn.execute(
            "INSERT INTO orders (id, seq, site, customer, client_id, request, status, ship_door,"
            " requested_at, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb, 'received', %s, %s, %s, %s)"
            " ON CONFLICT (site, customer, client_id) DO NOTHING RETURNING id",
            [
                order_id,
                seq,
                site,
                new.customer,
                new.client_id,
                json.dumps(new.request()),
                new.ship_door,
                new.requested_at,
                now,
                now,
            ],
        )
        if await cur.fetchone() is None:  # the same client id, committed meanwhile
            existing = await _by_client_id(conn, site, new)
            assert existing is not None
            return existing
        await conn.execute(
            "INSERT INTO order_lines (order_id, line, site, sku, qty)"
            " SELECT %s, n, %s, s, q FROM unnest(%s::text[], %s::int[]) WITH ORDINALITY"
            " AS u(s, q, n)",
            [order_id, site, [x.sku for x in new.lines], [x.qty for x in new.lines]],
        )
        received = TimelineEntry(now, S.RECEIVED, "received", None, {"customer": new.customer})
        await _insert_timeline(conn, site, order_id, [received], now)
        await _allocate(conn, site=site, floor=floor, order_id=order_id, new=new, now=now)
    detail = await get_order(conn, order_id)
    assert detail is not None
    return Created(detail, True)


async def _by_client_id(conn: Conn, site: str, new: NewOrder) -> Created | None:
    cur = await conn.execute(
        "SELECT id, request FROM orders WHERE site = %s AND customer = %s AND client_id = %s",
        [site, new.customer, new.client_id],
    )
    row = await cur.fetchone()
    if row is None:
        return None
    if row[1] != new.request():
        raise ClientIdConflict(
            f"order: {new.client_id!r} is order {row[0]} of customer {new.customer!r} "
            "with another body; send the same body to get it, or use a new order id"
        )
    detail = await get_order(conn, row[0])
    assert detail is not None
    return Created(detail, False)


async def _check_items(conn: Conn, lines: Sequence[NewLine]) -> None:
    skus = sorted({x.sku for x in lines})
    cur = await conn.execute("SELECT sku FROM items WHERE sku = ANY(%s::text[])", [skus])
    known = {r[0] for r in await cur.fetchall()}
    unknown = [
        f"lines[{i}].sku: {x.sku!r} is not an item of the item master"
        for i, x in enumerate(lines)
        if x.sku not in known
    ]
    if unknown:
        raise UnknownItems("; ".join(unknown))


async def _allocate(
    conn: Conn, *, site: str, floor: Floor, order_id: str, new: NewOrder, now: datetime
) -> None:
    candidates = []
    for sku in sorted({x.sku for x in new.lines}):  # lock items in GTIN order
        candidates.extend(await stock.fefo_candidates(conn, site=site, sku=sku, lock=True))
    candidates = [
        c
        for c in candidates
        if c.pallet is not None and c.position.bucket.location in floor.storage
    ]
    committed = await _pallets_with_reserved_stock(
        conn, site, sorted({c.pallet for c in candidates if c.pallet is not None})
    )
    candidates = [c for c in candidates if c.pallet not in committed]
    lines = [OrderLine(order_id, i, site, x.sku, x.qty) for i, x in enumerate(new.lines, start=1)]
    allocations = allocate_order(lines, candidates)
    reserved: list[tuple[Reserved, int]] = []
    for a in allocations:
        for pick, op in zip(a.picks, reservations(a, time=now), strict=True):
            posting = await stock.post(conn, op, recorded_at=now)
            target = op.lines[1].position
            reserved.append(
                (Reserved(a.line.line, target, pick.qty, pick.candidate.expiry), posting)
            )
    wanted = sum(x.qty for x in new.lines)
    got = sum(a.allocated for a in allocations)
    status = allocation_status(wanted, got)
    plan = pick_list([r for r, _ in reserved], points=floor.points, to_location=floor.packing)
    task_of: dict[tuple[str, str | None], int] = {}
    for t in plan.tasks:
        cur = await conn.execute(
            "INSERT INTO pick_tasks (site, order_id, seq, pallet, from_location, to_location,"
            " qty, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [site, order_id, t.seq, t.pallet, t.from_location, t.to_location, t.qty, now],
        )
        row = await cur.fetchone()
        assert row is not None
        for r in t.lines:
            task_of[(t.from_location, r.position.pallet)] = int(row[0])
    for r, posting in reserved:
        b = r.position.bucket
        await conn.execute(
            "INSERT INTO reservations (site, order_id, line, task_id, sku, lot, location,"
            " pallet, qty, posting, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s)",
            [
                site,
                order_id,
                r.line,
                task_of[(b.location, r.position.pallet)],
                b.item,
                b.lot,
                b.location,
                r.position.pallet,
                r.qty,
                posting,
                now,
            ],
        )
    for a in allocations:
        await conn.execute(
            "UPDATE order_lines SET allocated = %s WHERE order_id = %s AND line = %s",
            [a.allocated, order_id, a.line.line],
        )
    await conn.execute(
        "UPDATE orders SET allocation = %s, route_m = %s, naive_route_m = %s WHERE id = %s",
        [status.value, plan.route_m, plan.naive_route_m, order_id],
    )
    detail = {
        "lines": [
            {"line": a.line.line, "sku": a.line.item, "qty": a.line.qty, "allocated": a.allocated}
            for a in allocations
        ],
        "pick_tasks": len(plan.tasks),
        "route_m": plan.route_m,
        "naive_route_m": plan.naive_route_m,
    }
    entries = advance(
        order_id,
        S.RECEIVED,
        status,
        time=now,
        cause=Cause(CauseKind.ORDER, order_id),
        detail=detail,
    )
    await record(conn, site, order_id, entries, now)


async def _pallets_with_reserved_stock(conn: Conn, site: str, pallets: list[str]) -> set[str]:
    if not pallets:
        return set()
    cur = await conn.execute(
        "SELECT DISTINCT pallet FROM stock_positions WHERE site = %s AND state = 'reserved'"
        " AND qty > 0 AND pallet = ANY(%s::text[])",
        [site, pallets],
    )
    return {r[0] for r in await cur.fetchall()}


# -- reading ---------------------------------------------------------------------------


def _order(row: Sequence[Any]) -> OrderRow:
    return OrderRow(*row)


async def get_order(
    conn: Conn, order_id: str, *, customer: str | None = None
) -> OrderDetail | None:
    """An order with its lines, reservations (lot, expiry), pick tasks and timeline;
    None when there is none, or when ``customer`` is given and it is another's."""
    cur = await conn.execute(
        f"SELECT {_ORDER} FROM orders WHERE id = %s AND (%s::text IS NULL OR customer = %s)",
        [order_id, customer, customer],
    )
    row = await cur.fetchone()
    if row is None:
        return None
    order = _order(row)
    cur = await conn.execute(
        "SELECT line, sku, qty, allocated, picked, shipped FROM order_lines WHERE order_id = %s"
        " ORDER BY line",
        [order_id],
    )
    lines = [LineRow(*r) for r in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT r.id, r.line, r.sku, r.lot, l.expiry, r.location, r.pallet, r.qty, r.picked,"
        " r.shipped, r.released, r.task_id FROM reservations r"
        " LEFT JOIN lots l ON l.sku = r.sku AND l.lot = r.lot"
        " WHERE r.order_id = %s ORDER BY r.line, r.id",
        [order_id],
    )
    res = [ReservationRow(*r) for r in await cur.fetchall()]
    tasks = await _pick_tasks(conn, "t.order_id = %s", [order_id])
    cur = await conn.execute(
        "SELECT time, status, event, cause_kind, cause_id, detail FROM order_timeline"
        " WHERE order_id = %s ORDER BY id",
        [order_id],
    )
    timeline = [TimelineRow(*r) for r in await cur.fetchall()]
    return OrderDetail(order, lines, res, tasks, timeline)


_PICK_TASK = (
    "t.id, t.order_id, t.seq, t.pallet, p.epc, t.from_location, t.to_location, t.qty,"
    " t.status, t.created_at, t.reported_at, t.picked_at, t.packed_at, t.shipped_at, t.weight"
)


async def _pick_tasks(conn: Conn, where: str, params: list[Any]) -> list[PickTaskRow]:
    cur = await conn.execute(
        f"SELECT {_PICK_TASK} FROM pick_tasks t"
        " LEFT JOIN pallets p ON p.site = t.site AND p.sscc = t.pallet"
        f" WHERE {where} ORDER BY t.order_id, t.seq",
        params,
    )
    return [PickTaskRow(*r) for r in await cur.fetchall()]


async def list_orders(
    conn: Conn,
    *,
    site: str | None,
    status: str | None,
    customer: str | None,
    before: int | None,
    limit: int,
) -> list[OrderDetail]:
    """Orders of ``site`` (None: of every site) newest first (by number), with their
    lines; keyset paged by ``before`` (the number of the last order of the previous
    page)."""
    cur = await conn.execute(
        f"SELECT {_ORDER} FROM orders WHERE (%s::text IS NULL OR site = %s)"
        " AND (%s::text IS NULL OR status = %s) AND (%s::text IS NULL OR customer = %s)"
        " AND (%s::bigint IS NULL OR seq < %s) ORDER BY seq DESC LIMIT %s",
        [site, site, status, status, customer, customer, before, before, limit],
    )
    orders = [_order(r) for r in await cur.fetchall()]
    if not orders:
        return []
    cur = await conn.execute(
        "SELECT order_id, line, sku, qty, allocated, picked, shipped FROM order_lines"
        " WHERE order_id = ANY(%s::text[]) ORDER BY order_id, line",
        [[o.id for o in orders]],
    )
    lines: dict[str, list[LineRow]] = {}
    for r in await cur.fetchall():
        lines.setdefault(r[0], []).append(LineRow(*r[1:]))
    return [OrderDetail(o, lines.get(o.id, [])) for o in orders]


async def order_site(conn: Conn, order_id: str) -> str | None:
    """The site of an order; None when there is no such order."""
    cur = await conn.execute("SELECT site FROM orders WHERE id = %s", [order_id])
    row = await cur.fetchone()
    return None if row is None else str(row[0])


@dataclass(frozen=True, slots=True)
class RouteStats:
    orders: int
    """Orders with a pick list that walks somewhere."""
    route_m: float
    naive_route_m: float
    mean_saving: float
    """The mean over those orders of 1 - route / naive."""

    @property
    def saving(self) -> float:
        """1 - all routes / all naive walks."""
        return 1 - self.route_m / self.naive_route_m if self.naive_route_m > 0 else 0.0


async def route_stats(conn: Conn, *, site: str | None, customer: str | None = None) -> RouteStats:
    """The pick routes' lengths against the naive order, over every order of the site
    (None: of every site)."""
    cur = await conn.execute(
        "SELECT count(*), COALESCE(sum(route_m), 0), COALESCE(sum(naive_route_m), 0),"
        " COALESCE(avg(1 - route_m / naive_route_m), 0) FROM orders"
        " WHERE (%s::text IS NULL OR site = %s) AND naive_route_m > 0"
        " AND (%s::text IS NULL OR customer = %s)",
        [site, site, customer, customer],
    )
    row = await cur.fetchone()
    assert row is not None
    return RouteStats(int(row[0]), float(row[1]), float(row[2]), float(row[3]))


# -- status and timeline (the rest: cloud.db.order_status) ------------------------


def _cause_cols(cause: Cause | None) -> tuple[str | None, str | None]:
    return (cause.kind.value, cause.ref) if cause is not None else (None, None)


async def _insert_timeline(
    conn: Conn, site: str, order_id: str, entries: Sequence[TimelineEntry], now: datetime
) -> None:
    for e in entries:
        kind, ref = _cause_cols(e.cause)
        await conn.execute(
            "INSERT INTO order_timeline (site, order_id, time, status, event, cause_kind,"
            " cause_id, detail, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)",
            [
                site,
                order_id,
                e.time,
                e.status.value,
                e.event,
                kind,
                ref,
                json.dumps(dict(e.detail), default=str),
                now,
            ],
        )
    # the customers' notifications, in this same transaction (the webhook outbox)
    await webhooks.publish_order_timeline(conn, site, order_id, entries, now=now)
    if entries:  # the live feeds, when this transaction commits
        await conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, json.dumps({"order": order_id})])


async def record(
    conn: Conn, site: str, order_id: str, entries: Sequence[TimelineEntry], now: datetime
) -> None:
    """Write ``entries`` to the timeline and set the order's status to the last one's."""
    if not entries:
        return
    await _insert_timeline(conn, site, order_id, entries, now)
    last = entries[-1]
    reason = last.detail.get("reason") if last.status is S.ON_HOLD else None
    await conn.execute(
        "UPDATE orders SET status = %s, updated_at = %s,"
        " hold_reason = CASE WHEN %s = 'on_hold' THEN COALESCE(%s, hold_reason, 'hold')"
        " ELSE NULL END,"
        " shipped_at = CASE WHEN %s = 'shipped' THEN %s ELSE shipped_at END"
        " WHERE id = %s",
        [last.status.value, now, last.status.value, reason, last.status.value, last.time, order_id],
    )


async def note(
    conn: Conn, site: str, order_id: str, entries: Sequence[TimelineEntry], now: datetime
) -> None:
    """Write ``entries`` to the timeline (told to the webhooks and the live feeds as
    :func:`record` does) without touching the order's status or times: for entries that
    keep the status (``delivered``, ``promised_date_changed``)."""
    await _insert_timeline(conn, site, order_id, entries, now)


async def lock_order(conn: Conn, order_id: str) -> OrderRow:
    cur = await conn.execute(f"SELECT {_ORDER} FROM orders WHERE id = %s FOR UPDATE", [order_id])
    row = await cur.fetchone()
    if row is None:
        raise OrderNotFound(f"order: {order_id!r} does not exist")
    return _order(row)


# -- the live feed's reads (cloud.live.order_feed) ---------------------------------------


@dataclass(frozen=True, slots=True)
class OrderChange:
    """An order as it stands after its last timeline entry, for the live feed."""

    id: str
    order: str | None
    site: str
    customer: str
    status: str
    hold_reason: str | None
    ship_door: str | None
    requested_at: datetime | None
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None
    entry: int
    """The id of its last timeline entry."""
    event: str
    event_time: datetime

    def document(self) -> dict[str, Any]:
        """The summary the live feed sends (JSON-ready but for datetimes)."""
        return {
            "id": self.id,
            "order": self.order,
            "site": self.site,
            "customer": self.customer,
            "status": self.status,
            "hold_reason": self.hold_reason,
            "ship_door": self.ship_door,
            "requested_at": self.requested_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "shipped_at": self.shipped_at,
            "event": self.event,
            "event_time": self.event_time,
        }


async def order_changes(conn: Conn, site: str, order_ids: Sequence[str]) -> list[OrderChange]:
    """The orders ``order_ids`` of ``site`` as they stand, with their last timeline
    entry, in the order of that entry (others' orders and unknown ids left out)."""
    cur = await conn.execute(
        "SELECT o.id, o.client_id, o.site, o.customer, o.status, o.hold_reason, o.ship_door,"
        " o.requested_at, o.created_at, o.updated_at, o.shipped_at, t.id, t.event, t.time"
        " FROM orders o JOIN LATERAL (SELECT id, event, time FROM order_timeline"
        " WHERE order_id = o.id ORDER BY id DESC LIMIT 1) t ON true"
        " WHERE o.id = ANY(%s::text[]) AND o.site = %s ORDER BY t.id",
        [list(order_ids), site],
    )
    return [OrderChange(*r) for r in await cur.fetchall()]


async def last_timeline_entry(conn: Conn) -> int:
    """The id of the newest timeline entry of any order (0 when there is none)."""
    cur = await conn.execute("SELECT COALESCE(max(id), 0) FROM order_timeline")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def orders_changed_after(conn: Conn, site: str, entry: int) -> list[str]:
    """The orders of ``site`` with a timeline entry newer than ``entry``."""
    cur = await conn.execute(
        "SELECT order_id FROM order_timeline WHERE id > %s AND site = %s"
        " GROUP BY order_id ORDER BY max(id)",
        [entry, site],
    )
    return [str(r[0]) for r in await cur.fetchall()]
