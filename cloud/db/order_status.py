"""An order's status on PostgreSQL: the timeline, forward steps, holds, release, cancel.

Every change of an order's status goes through :func:`record`, which appends the
timeline entries (:class:`cloud.warehouse.orders.TimelineEntry`) and sets the status
to the last one's, in the caller's transaction. :func:`sync` takes an order forward to
where its goods are (:func:`cloud.warehouse.orders.progress_status`, counted over its
pick tasks) and, once it is packed, releases it to its ship door with a ship task.
An order's row is locked (:func:`lock_order`) before it changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from cloud.db import stock, tasks
from cloud.db import transfers as transfers_db
from cloud.db.orders import (
    Conn,
    Floor,
    OrderConflict,
    OrderDetail,
    OrderNotFound,
    OrderRow,
    get_order,
    lock_order,
    note,
    record,
)
from cloud.warehouse import dock
from cloud.warehouse.ledger import (
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    InsufficientStock,
    Position,
    StockState,
    transfer,
)
from cloud.warehouse.orders import (
    FINAL,
    OrderStateError,
    OrderStatus,
    Progress,
    TimelineEntry,
    advance,
    cancel,
    deliver,
    hold,
    progress_status,
    release,
)
from cloud.warehouse.putaway import back_to_storage

S = OrderStatus


# -- status and timeline ---------------------------------------------------------------


async def order_progress(conn: Conn, order: OrderRow) -> Progress:
    cur = await conn.execute(
        "SELECT count(*), count(picked_at), count(packed_at), count(shipped_at) FROM pick_tasks"
        " WHERE order_id = %s AND status <> 'cancelled'",
        [order.id],
    )
    row = await cur.fetchone()
    assert row is not None
    allocation = S(order.allocation) if order.allocation else S.BACKORDERED
    return Progress(
        allocation,
        int(row[0]),
        int(row[1]),
        int(row[2]),
        int(row[3]),
        released=order.released_at is not None,
    )


async def sync(
    conn: Conn,
    order: OrderRow,
    *,
    floor: Floor,
    time: datetime,
    now: datetime,
    cause: Cause | None,
    detail: Mapping[str, Any] | None = None,
) -> list[TimelineEntry]:
    """Take an order forward to where its goods are; once packed, release it to its
    ship door (``loading``) with a ship task. Nothing for a held or final order."""
    current = S(order.status)
    if current in FINAL or current is S.ON_HOLD:
        return []
    progress = await order_progress(conn, order)
    target = progress_status(progress)
    entries = advance(order.id, current, target, time=time, cause=cause, detail=detail)
    door = order.ship_door if order.ship_door is not None else floor.default_door
    if target is S.PACKED:
        loading_here = await _loading_at(conn, order.site, door)
        if dock.may_load(order.id, loading_here):
            task = await _release_to_door(conn, order, door, now=now)
            entries += advance(
                order.id,
                S.PACKED,
                S.LOADING,
                time=time,
                cause=cause,
                detail={"door": door, "ship_task": f"ship-{task}"},
            )
        elif current is not S.PACKED:
            waits = {"door": door, "loading": loading_here}
            entries.append(TimelineEntry(time, S.PACKED, "waiting_for_door", cause, waits))
    await record(conn, order.site, order.id, entries, now)
    if current is S.LOADING and entries and entries[-1].status is not S.LOADING:
        await door_freed(conn, order.site, door, floor=floor, time=time, now=now, cause=cause)
    return entries


async def _loading_at(conn: Conn, site: str, door: str) -> list[str]:
    """The orders loading at ``door`` now, the door's turn taken (module doc of
    :mod:`cloud.warehouse.dock`): one transaction at a time decides who loads there."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('dock:' || %s || ':' || %s))", [site, door]
    )
    cur = await conn.execute(
        "SELECT id FROM orders WHERE site = %s AND ship_door = %s AND status = 'loading'"
        " ORDER BY id",
        [site, door],
    )
    return [r[0] for r in await cur.fetchall()]


async def door_freed(
    conn: Conn,
    site: str,
    door: str,
    *,
    floor: Floor,
    time: datetime,
    now: datetime,
    cause: Cause | None,
) -> str | None:
    """The order loading at ``door`` left it (shipped, or held): the packed order whose
    turn it is goes there (:func:`cloud.warehouse.dock.queue`). One another transaction
    holds is passed over: that one releases it itself once it has the door's turn.
    The order released, or None."""
    if await _loading_at(conn, site, door):
        return None
    cur = await conn.execute(
        "SELECT o.id, max(t.packed_at) FROM orders o JOIN pick_tasks t ON t.order_id = o.id"
        " WHERE o.site = %s AND o.status = 'packed' AND o.released_at IS NULL"
        " AND COALESCE(o.ship_door, %s) = %s AND t.status <> 'cancelled'"
        " GROUP BY o.id",
        [site, floor.default_door, door],
    )
    waiting = [dock.Waiting(r[0], r[1]) for r in await cur.fetchall() if r[1] is not None]
    for order_id in dock.queue(waiting):
        cur = await conn.execute(
            "SELECT id FROM orders WHERE id = %s AND status = 'packed' FOR UPDATE SKIP LOCKED",
            [order_id],
        )
        if await cur.fetchone() is None:
            continue
        order = await lock_order(conn, order_id)
        entries = await sync(conn, order, floor=floor, time=time, now=now, cause=cause)
        if entries and entries[-1].status is S.LOADING:
            return order_id
    return None


async def _release_to_door(conn: Conn, order: OrderRow, door: str, *, now: datetime) -> int:
    await conn.execute(
        "UPDATE orders SET ship_door = %s, released_at = %s WHERE id = %s", [door, now, order.id]
    )
    cur = await conn.execute(
        "INSERT INTO ship_tasks (site, order_id, door, created_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (order_id) DO UPDATE SET door = EXCLUDED.door RETURNING id",
        [order.site, order.id, door, now],
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def hold_orders(
    conn: Conn,
    order_ids: Iterable[str],
    *,
    reason: str,
    floor: Floor,
    time: datetime,
    now: datetime,
    cause: Cause | None,
    detail: Mapping[str, Any] | None = None,
) -> list[str]:
    """Put orders on hold (in id order, the order in which they are locked); the ids of
    those that were not on hold already. Final orders are left as they are. A door an
    order on hold was loading at goes to the next order waiting for it
    (:func:`door_freed`)."""
    held = []
    freed: set[tuple[str, str]] = set()
    for order_id in sorted(set(order_ids)):
        order = await lock_order(conn, order_id)
        current = S(order.status)
        if current in FINAL or current is S.RECEIVED:
            continue
        entry = hold(order_id, current, time=time, reason=reason, cause=cause, detail=detail)
        if entry is not None:
            await record(conn, order.site, order_id, [entry], now)
            held.append(order_id)
            if current is S.LOADING and order.ship_door is not None:
                freed.add((order.site, order.ship_door))
    for site, door in sorted(freed):
        await door_freed(conn, site, door, floor=floor, time=time, now=now, cause=cause)
    return held


async def release_order(
    conn: Conn,
    order_id: str,
    *,
    floor: Floor,
    now: datetime,
    by: str | None,
    note: str | None,
    customer: str | None = None,
) -> OrderDetail:
    """Release a held order to where its goods are (and on, if that is packed)."""
    async with conn.transaction():
        order = await _visible_locked(conn, order_id, customer)
        if order.status != S.ON_HOLD:
            raise OrderConflict(
                f"status: order {order_id} is {order.status}, only an order on_hold is released"
            )
        progress = await order_progress(conn, order)
        info = {k: v for k, v in (("by", by), ("note", note)) if v is not None}
        entry = release(order_id, S.ON_HOLD, progress, time=now, cause=_user(by), detail=info)
        await record(conn, order.site, order_id, [entry], now)
        await sync(
            conn, await lock_order(conn, order_id), floor=floor, time=now, now=now, cause=_user(by)
        )
    detail = await get_order(conn, order_id)
    assert detail is not None
    return detail


def _user(by: str | None) -> Cause:
    return Cause(CauseKind.USER, by or "api")


async def _visible_locked(conn: Conn, order_id: str, customer: str | None) -> OrderRow:
    try:
        order = await lock_order(conn, order_id)
    except OrderNotFound:
        raise OrderNotFound(f"order: {order_id!r} does not exist") from None
    if customer is not None and order.customer != customer:
        raise OrderNotFound(f"order: {order_id!r} does not exist")
    return order


async def cancel_order(
    conn: Conn,
    order_id: str,
    *,
    floor: Floor,
    now: datetime,
    by: str | None,
    note: str | None,
    customer: str | None = None,
) -> OrderDetail:
    """Cancel an order: its reserved cases that have not left are given back
    (``unreserve`` where they are now), its open tasks cancelled, and each of its
    pallets already off its shelf (in packing, say) gets a put-away task back to storage
    (:func:`cloud.warehouse.putaway.back_to_storage`): a cancelled order leaves no
    pallet stranded where nobody will fetch it."""
    async with conn.transaction():
        order = await _visible_locked(conn, order_id, customer)
        current = S(order.status)
        try:
            entry = cancel(order_id, current, time=now, cause=_user(by), detail={"note": note})
        except ValueError as e:
            raise OrderConflict(str(e)) from None
        if await _anything_shipped(conn, order_id):
            raise OrderConflict(
                f"status: order {order_id} has pallets gone through the door; it cannot be"
                " cancelled"
            )
        given_back = await _unreserve_all(conn, order, now=now, cause=_user(by))
        await conn.execute(
            "UPDATE pick_tasks SET status = 'cancelled' WHERE order_id = %s AND status = 'open'",
            [order_id],
        )
        await conn.execute(
            "UPDATE ship_tasks SET status = 'cancelled' WHERE order_id = %s AND status = 'open'",
            [order_id],
        )
        putaways = await _back_to_storage(conn, order, floor=floor, now=now)
        entry = TimelineEntry(
            entry.time,
            entry.status,
            entry.event,
            entry.cause,
            {**entry.detail, "unreserved": given_back, "putaway_tasks": putaways},
        )
        await record(conn, order.site, order_id, [entry], now)
        ref = await transfers_db.of_order(conn, order_id)
        if ref is not None:
            await transfers_db.mark_cancelled(conn, ref, at=now, by=by, now=now)
    detail = await get_order(conn, order_id)
    assert detail is not None
    return detail


async def _back_to_storage(
    conn: Conn, order: OrderRow, *, floor: Floor, now: datetime
) -> list[str]:
    """Put-away tasks for the cancelled order's pallets that are off their shelves."""
    cur = await conn.execute(
        "SELECT DISTINCT pallet FROM reservations WHERE order_id = %s AND pallet <> ''"
        " ORDER BY pallet",
        [order.id],
    )
    made: list[str] = []
    for (sscc,) in await cur.fetchall():
        held: dict[str, int] = {}
        for row in await stock.pallet_positions(conn, order.site, sscc):
            place = row.bucket.location
            held[place] = held.get(place, 0) + row.qty
        origin = back_to_storage(held, floor.storage)
        if origin is not None:
            task = await tasks.create_putaway_task(
                conn, site=order.site, sscc=sscc, from_location=origin, floor=floor, now=now
            )
            made.append(f"putaway-{task}")
    return made


async def _anything_shipped(conn: Conn, order_id: str) -> bool:
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM reservations WHERE order_id = %s AND shipped > 0)",
        [order_id],
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def _unreserve_all(conn: Conn, order: OrderRow, *, now: datetime, cause: Cause) -> int:
    cur = await conn.execute(
        "SELECT id, sku, lot, location, pallet, qty - shipped - released FROM reservations"
        " WHERE order_id = %s AND qty - shipped - released > 0 ORDER BY id FOR UPDATE",
        [order.id],
    )
    total = 0
    for rid, sku, lot, location, pallet, left in await cur.fetchall():
        source = Position(Bucket(order.site, sku, lot, location, StockState.RESERVED), pallet)
        target = Position(Bucket(order.site, sku, lot, location, StockState.AVAILABLE), pallet)
        qty = int(left)
        try:
            await stock.post(
                conn,
                transfer(EntryKind.UNRESERVE, source, target, qty, cause=cause, time=now),
                recorded_at=now,
            )
        except InsufficientStock as e:  # the ledger holds fewer (counted, adjusted): those
            qty = e.there
            if qty > 0:
                await stock.post(
                    conn,
                    transfer(EntryKind.UNRESERVE, source, target, qty, cause=cause, time=now),
                    recorded_at=now,
                )
        await conn.execute(
            "UPDATE reservations SET released = released + %s WHERE id = %s", [int(left), rid]
        )
        total += qty
    return total


async def deliver_order(
    conn: Conn,
    order_id: str,
    *,
    at: datetime | None,
    now: datetime,
    by: str | None,
    note_text: str | None,
) -> OrderDetail:
    """Record the delivery of a shipped order (at ``at``, default ``now``), once: its
    ``delivered_at`` and a ``delivered`` timeline entry (status stays ``shipped``), told
    as ``order.delivered``. :class:`OrderConflict` when it is not shipped or was
    delivered already; :class:`cloud.warehouse.orders.DeliveryError` for a bad ``at``."""
    async with conn.transaction():
        order = await _visible_locked(conn, order_id, None)
        try:
            entry = deliver(
                order_id,
                S(order.status),
                shipped_at=order.shipped_at,
                delivered_at=order.delivered_at,
                at=at or now,
                now=now,
                cause=_user(by),
                detail={"by": by, "note": note_text},
            )
        except OrderStateError as e:
            raise OrderConflict(str(e)) from None
        await conn.execute(
            "UPDATE orders SET delivered_at = %s, delivered_by = %s, updated_at = %s WHERE id = %s",
            [entry.time, by, now, order_id],
        )
        await note(conn, order.site, order_id, [entry], now)
    detail = await get_order(conn, order_id)
    assert detail is not None
    return detail
