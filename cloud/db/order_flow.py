"""An order's goods moving through the warehouse, on PostgreSQL: picked, weighed, shipped.

Each function is one thing the warehouse reported about a pallet, applied in the
caller's transaction (the feed's, which advances its cursor in the same one):

- :func:`pick_pallet`: the pallet reached packing. Its reserved cases move there
  through the ledger (``pick``: reserved -> reserved at packing), its pick task is done,
  the order goes on (``picking``, ``picked``);
- :func:`weigh_pallet`: the packing scale weighed it. Within tolerance of the expected
  gross (:mod:`cloud.warehouse.packing`) it is packed, and once every pallet is, the
  order is released to its door (``loading``, a ship task); otherwise a
  ``weight_mismatch`` alert and the order on hold;
- :func:`door_passage`: it went out through a door. The door check
  (:mod:`cloud.warehouse.door_check`): a pallet of an order loading at that door ships
  (``ship`` postings take its reserved cases out of the ledger; the order is
  ``shipped`` once all its pallets have left), anything else raises a ``mis_shipment``
  alert and puts on hold the orders loading at that door and the pallet's own. Either
  way what the books hold on the pallet moves to that door first (where it was last
  seen): a mis-shipped pallet's cases stay on the books there, for a person to settle.

A pallet serves one order (:mod:`cloud.db.orders`); the functions find it by SSCC.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloud.db import goods, stock, tasks, transfers
from cloud.db.alerts import raise_alert
from cloud.db.order_status import hold_orders, order_progress, sync
from cloud.db.orders import Conn, Floor, OrderRow, lock_order, record
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.door_check import (
    DoorCheck,
    OrderPallets,
    OutboundPassage,
    Verdict,
    check_passage,
    over_shipment_operations,
    ship_operations,
)
from cloud.warehouse.handling import cases_by_item, moves_to
from cloud.warehouse.ledger import (
    ON_HAND_STATES,
    Bucket,
    Cause,
    EntryKind,
    Position,
    StockState,
    adjust,
    transfer,
)
from cloud.warehouse.orders import FINAL, OrderStatus, TimelineEntry, progress_status
from cloud.warehouse.packing import Load, Tolerance, WeightCheck, check_weight, missing_cases
from cloud.warehouse.transfers import dispatch_operations

log = logging.getLogger(__name__)
S = OrderStatus


@dataclass(frozen=True, slots=True)
class _Held:
    """An order's open reservations on one pallet."""

    order: OrderRow
    reservations: list[tuple[int, int, str, str, str, int]]
    """(id, line, sku, lot, location, cases still held)"""


async def _order_of_pallet(conn: Conn, site: str, sscc: str) -> _Held | None:
    """The open order holding cases on the pallet (locked), with those reservations."""
    cur = await conn.execute(
        "SELECT DISTINCT r.order_id FROM reservations r JOIN orders o ON o.id = r.order_id"
        " WHERE r.site = %s AND r.pallet = %s AND o.status NOT IN ('shipped', 'cancelled')"
        " AND r.qty - r.shipped - r.released > 0 ORDER BY r.order_id",
        [site, sscc],
    )
    ids = [r[0] for r in await cur.fetchall()]
    if not ids:
        return None
    if len(ids) > 1:
        log.warning("pallet %s holds cases of orders %s; taking %s", sscc, ids, ids[0])
    order = await lock_order(conn, ids[0])
    if S(order.status) in FINAL:  # shipped or cancelled while we waited for the lock
        return None
    cur = await conn.execute(
        "SELECT id, line, sku, lot, location, qty - shipped - released FROM reservations"
        " WHERE order_id = %s AND pallet = %s AND qty - shipped - released > 0"
        " ORDER BY id FOR UPDATE",
        [order.id, sscc],
    )
    rows = [(int(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5])) for r in await cur.fetchall()]
    return _Held(order, rows) if rows else None


async def _note(
    conn: Conn,
    order: OrderRow,
    event: str,
    *,
    time: datetime,
    now: datetime,
    cause: Cause,
    detail: Mapping[str, Any],
) -> None:
    status = S(order.status)
    await record(
        conn, order.site, order.id, [TimelineEntry(time, status, event, cause, detail)], now
    )


# -- picked ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Picked:
    order: str
    task: int | None
    cases: int
    """The order's cases on the pallet, now at packing."""


async def pick_pallet(
    conn: Conn,
    *,
    site: str,
    sscc: str,
    zone: str,
    time: datetime,
    now: datetime,
    cause: Cause,
    floor: Floor,
) -> Picked | None:
    """The pallet arrived at packing (``zone``): its order's reserved cases on it move
    there (``pick``), its pick task is done and the order goes on. None when the pallet
    holds nothing reserved for an open order (a wrong pick: the caller alerts)."""
    held = await _order_of_pallet(conn, site, sscc)
    if held is None:
        return None
    await _move_reserved(conn, site, sscc, zone, time=time, now=now, cause=cause)
    cur = await conn.execute(
        "SELECT id, picked_at IS NOT NULL FROM pick_tasks WHERE order_id = %s AND pallet = %s"
        " AND status <> 'cancelled' ORDER BY seq LIMIT 1",
        [held.order.id, sscc],
    )
    row = await cur.fetchone()
    task = int(row[0]) if row else None
    cases = sum(r[5] for r in held.reservations)
    if row is not None and row[1] and all(r[4] == zone for r in held.reservations):
        return Picked(held.order.id, task, cases)  # heard there before: nothing new
    await conn.execute(
        "UPDATE reservations SET location = %s, picked = qty - released"
        " WHERE order_id = %s AND pallet = %s AND qty - shipped - released > 0",
        [zone, held.order.id, sscc],
    )
    await _update_line_counts(conn, held.order.id)
    await conn.execute(
        "UPDATE pick_tasks SET picked_at = COALESCE(picked_at, %s),"
        " status = CASE WHEN status = 'open' THEN 'done' ELSE status END"
        " WHERE order_id = %s AND pallet = %s AND status <> 'cancelled'",
        [time, held.order.id, sscc],
    )
    detail = {"pallet": sscc, "zone": zone, "cases": cases, "pick_task": f"pick-{task}"}
    await _note(conn, held.order, "pallet_picked", time=time, now=now, cause=cause, detail=detail)
    order = await lock_order(conn, held.order.id)
    await sync(conn, order, floor=floor, time=time, now=now, cause=cause)
    return Picked(held.order.id, task, cases)


async def follow_reserved(conn: Conn, *, site: str, sscc: str) -> None:
    """Keep the open reservations on a pallet at the location the ledger holds its
    reserved cases at (the pallet was moved somewhere other than packing)."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM reservations WHERE site = %s AND pallet = %s"
        " AND qty - shipped - released > 0)",
        [site, sscc],
    )
    row = await cur.fetchone()
    if not (row and row[0]):
        return
    where = {
        r.bucket.location
        for r in await stock.pallet_positions(conn, site, sscc)
        if r.bucket.state is StockState.RESERVED
    }
    if len(where) == 1:
        await conn.execute(
            "UPDATE reservations SET location = %s WHERE site = %s AND pallet = %s"
            " AND qty - shipped - released > 0 AND location <> %s",
            [next(iter(where)), site, sscc, next(iter(where))],
        )


async def _move_reserved(
    conn: Conn, site: str, sscc: str, zone: str, *, time: datetime, now: datetime, cause: Cause
) -> int:
    """``pick`` every reserved position of the pallet that is not at ``zone`` yet."""
    moved = 0
    for row in await stock.pallet_positions(conn, site, sscc):
        b = row.position.bucket
        if b.state is not StockState.RESERVED or b.location == zone:
            continue
        target = Position(Bucket(b.site, b.item, b.lot, zone, b.state), sscc)
        op = transfer(EntryKind.PICK, row.position, target, row.qty, cause=cause, time=time)
        await stock.post(conn, op, recorded_at=now)
        moved += row.qty
    return moved


async def _update_line_counts(conn: Conn, order_id: str) -> None:
    await conn.execute(
        "UPDATE order_lines l SET picked = s.picked, shipped = s.shipped FROM ("
        " SELECT line, sum(picked)::int AS picked, sum(shipped)::int AS shipped"
        " FROM reservations WHERE order_id = %s GROUP BY line) s"
        " WHERE l.order_id = %s AND l.line = s.line",
        [order_id, order_id],
    )


# -- weighed ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Weighed:
    order: str
    check: WeightCheck
    alert: int | None
    """The weight_mismatch alert raised, if any."""


@dataclass(frozen=True, slots=True)
class Weighing:
    """A pallet of an open order as a weight finds it: the weight's check against the
    cases the books hold on it (as :func:`weigh_pallet` checks it), and the pallet's own
    last check (none: not weighed yet)."""

    check: WeightCheck
    verdict: str | None
    """Its last weight check's verdict (``ok`` or ``mismatch``), None: not weighed."""
    weighed_at: datetime | None


async def weighings(
    conn: Conn, site: str, ssccs: Sequence[str], weight_kg: float, tolerance: Tolerance
) -> dict[str, Weighing]:
    """Of ``ssccs``, the pallets holding cases of open orders, each with ``weight_kg``'s
    check against them and their last weight check (:class:`Weighing`)."""
    if not ssccs:
        return {}
    # the pallets' open pick tasks, and what the books hold on each pallet (as
    # weigh_pallet checks it); grouped apart, so neither multiplies the other
    cur = await conn.execute(
        "WITH t AS (SELECT t.pallet, max(t.weight->>'verdict') AS verdict,"
        " max((t.weight->>'time')::timestamptz) AS weighed_at"
        " FROM pick_tasks t JOIN orders o ON o.id = t.order_id"
        " WHERE t.site = %s AND t.pallet = ANY(%s::text[])"
        " AND t.status <> 'cancelled' AND t.shipped_at IS NULL"
        " AND o.status NOT IN ('shipped', 'cancelled')"
        " AND EXISTS (SELECT 1 FROM reservations r WHERE r.order_id = t.order_id"
        " AND r.pallet = t.pallet AND r.qty - r.shipped - r.released > 0)"
        " GROUP BY t.pallet)"
        " SELECT t.pallet, sp.sku, sum(sp.qty)::int, t.verdict, t.weighed_at FROM t"
        " JOIN stock_positions sp ON sp.site = %s AND sp.pallet = t.pallet AND sp.qty > 0"
        " AND sp.state = ANY(%s::text[])"
        " GROUP BY t.pallet, sp.sku, t.verdict, t.weighed_at ORDER BY t.pallet, sp.sku",
        [site, list(ssccs), site, sorted(s.value for s in ON_HAND_STATES)],
    )
    held: dict[str, dict[str, int]] = {}
    last: dict[str, tuple[str | None, datetime | None]] = {}
    for pallet, sku, qty, verdict, at in await cur.fetchall():
        held.setdefault(pallet, {})[sku] = qty
        last[pallet] = (verdict, at)
    if not held:
        return {}
    items = await _case_weights(conn, {sku for cases in held.values() for sku in cases})
    return {
        pallet: Weighing(_weight_check(weight_kg, cases, items, tolerance), *last[pallet])
        for pallet, cases in held.items()
        if all(sku in items for sku in cases)
    }


async def _case_weights(conn: Conn, skus: Iterable[str]) -> dict[str, tuple[float, float]]:
    """Per item: (case weight, pallet tare) in kg."""
    cur = await conn.execute(
        "SELECT sku, case_weight_kg, pallet_tare_kg FROM items WHERE sku = ANY(%s::text[])"
        " ORDER BY sku",
        [sorted(set(skus))],
    )
    return {r[0]: (float(r[1]), float(r[2])) for r in await cur.fetchall()}


def _weight_check(
    weight_kg: float,
    cases: Mapping[str, int],
    items: Mapping[str, tuple[float, float]],
    tolerance: Tolerance,
) -> WeightCheck:
    """``weight_kg`` against a pallet of ``cases`` per item (``items``: case weight and
    tare of each; the heaviest tare counts)."""
    loads = [Load(sku, n, items[sku][0]) for sku, n in sorted(cases.items())]
    tare = max(items[sku][1] for sku in cases)
    return check_weight(weight_kg, loads, tare_kg=tare, tolerance=tolerance)


async def weigh_pallet(
    conn: Conn,
    *,
    site: str,
    sscc: str,
    weight_kg: float,
    scale: str,
    zone: str,
    time: datetime,
    now: datetime,
    cause: Cause,
    floor: Floor,
    tolerance: Tolerance,
    heard_cases: Sequence[str] = (),
) -> Weighed | None:
    """The scale in ``zone`` weighed the pallet: the weight check against the cases its
    order holds on it (picked first, if its arrival at packing was not heard). None when
    it holds nothing reserved for an open order. A mismatch raises ``weight_mismatch``
    and holds the order; when the pallet is whole cases light and exactly that many of
    its booked cases were not among ``heard_cases`` (those heard coming onto the scale
    with it), they come off the pallet in the books as well (:func:`_cases_missing`)."""
    held = await _order_of_pallet(conn, site, sscc)
    if held is None:
        return None
    if any(r[4] != zone for r in held.reservations):
        await pick_pallet(
            conn, site=site, sscc=sscc, zone=zone, time=time, now=now, cause=cause, floor=floor
        )
    # what the books hold on it: the order's reserved cases, and any the order did not
    # take (a pallet moves whole, and the scale weighs all of it)
    cases: dict[str, int] = {}
    for r in await stock.pallet_positions(conn, site, sscc):
        if r.bucket.state in ON_HAND_STATES:
            cases[r.bucket.item] = cases.get(r.bucket.item, 0) + r.qty
    if not cases:
        for _, _, sku, _, _, qty in held.reservations:
            cases[sku] = cases.get(sku, 0) + qty
    check = _weight_check(weight_kg, cases, await _case_weights(conn, cases), tolerance)
    weight = {**check.detail(), "scale": scale, "time": time.isoformat(), "cause": cause.ref}
    await conn.execute(
        "UPDATE pick_tasks SET weight = %s::jsonb,"
        " packed_at = CASE WHEN %s THEN COALESCE(packed_at, %s)"
        " WHEN shipped_at IS NULL THEN NULL ELSE packed_at END"
        " WHERE order_id = %s AND pallet = %s AND status <> 'cancelled'",
        [_json(weight), check.ok, time, held.order.id, sscc],
    )
    await tasks.weighed(conn, site=site, sscc=sscc, time=time)
    order = await lock_order(conn, held.order.id)
    detail: dict[str, Any] = {"pallet": sscc, "scale": scale, **check.detail()}
    if check.ok:
        await _note(conn, order, "weight_ok", time=time, now=now, cause=cause, detail=detail)
        await sync(
            conn, await lock_order(conn, order.id), floor=floor, time=time, now=now, cause=cause
        )
        return Weighed(order.id, check, None)
    pallet = await goods.pallet_with_cases(conn, site, sscc)
    booked = [c.epc for c in pallet.cases] if pallet is not None else []
    missing = missing_cases(check, booked, heard_cases)
    if missing:
        detail["missing_cases"] = list(missing)
    said = f"; not on it: {len(missing)} case(s) {', '.join(missing)}" if missing else ""
    raised = await raise_alert(
        conn,
        site=site,
        kind=AlertKind.WEIGHT_MISMATCH,
        subject=sscc,
        message=f"pallet {sscc} of order {order.id} on {scale}: {check.message}{said}",
        at=time,
        detail={**detail, "order": order.id},
        cause=(cause.kind.value, cause.ref),
        # one incident per order and pallet: weighed wrong again for the same order, the
        # alert is raised again; the same pallet weighed wrong for a later order (after
        # the first was cancelled and it went back to stock) is a new incident to handle
        dedupe_key=f"{AlertKind.WEIGHT_MISMATCH.value}:{order.id}:{sscc}",
    )
    if missing:
        await _cases_missing(
            conn, order, sscc, missing, alert=raised.id, time=time, now=now, cause=cause
        )
    await _note(
        conn,
        order,
        "weight_mismatch",
        time=time,
        now=now,
        cause=cause,
        detail={**detail, "alert": raised.id},
    )
    await hold_orders(
        conn,
        [order.id],
        reason="weight_mismatch",
        floor=floor,
        time=time,
        now=now,
        cause=cause,
        detail={"alert": raised.id, "pallet": sscc},
    )
    return Weighed(order.id, check, raised.id)


async def count_off_pallet(
    conn: Conn, *, site: str, sscc: str, cases: Sequence[str], time: datetime, cause: Cause
) -> list[int] | None:
    """A person counted the pallet and did not find ``cases`` (booked on it) there:
    when the pallet holds cases of an open order, they come off it as a weight's
    missing cases do (:func:`_cases_missing`: off its case list, out of its reserved
    stock, released from the order's reservation), and the postings are returned.
    None when no open order holds cases on it (the caller adjusts the stock)."""
    held = await _order_of_pallet(conn, site, sscc)
    if held is None:
        return None
    return await _cases_missing(
        conn, held.order, sscc, cases, alert=None, time=time, now=time, cause=cause
    )


async def _cases_missing(
    conn: Conn,
    order: OrderRow,
    sscc: str,
    cases: Sequence[str],
    *,
    alert: int | None,
    time: datetime,
    now: datetime,
    cause: Cause,
) -> list[int]:
    """Cases the scale and the read point agree a pallet does not carry (or a count did
    not find on it) come off it in the books: off its case list, out of its stock (an
    ``adjust`` naming the weight or the count; first the cases the order did not take,
    then its reserved ones), and what came out of the reserved stock is released from
    the order's reservation (the line is short by them). Returns the postings."""
    site = order.site
    postings: list[int] = []
    by_item, _ = cases_by_item(cases)
    held = sorted(
        (
            r
            for r in await stock.pallet_positions(conn, site, sscc)
            if r.bucket.state in ON_HAND_STATES and r.qty > 0
        ),
        key=lambda r: (r.bucket.state is StockState.RESERVED, r.position.sort_key()),
    )
    for sku, n in sorted(by_item.items()):
        reserved_off = 0
        for row in (r for r in held if r.bucket.item == sku):
            take = min(n, row.qty)
            if take:
                op = adjust(row.position, -take, cause=cause, time=time)
                postings.append(await stock.post(conn, op, recorded_at=now))
                n -= take
                reserved_off += take if row.bucket.state is StockState.RESERVED else 0
        cur = await conn.execute(
            "SELECT id, qty - shipped - released FROM reservations WHERE order_id = %s"
            " AND pallet = %s AND sku = %s AND qty - shipped - released > 0 ORDER BY id",
            [order.id, sscc, sku],
        )
        left = reserved_off
        for rid, open_qty in await cur.fetchall():
            give = min(left, int(open_qty))
            if give:
                await conn.execute(
                    "UPDATE reservations SET released = released + %s WHERE id = %s",
                    [give, rid],
                )
                left -= give
    await goods.drop_cases(conn, site, sscc, cases)
    await _update_line_counts(conn, order.id)
    await _note(
        conn,
        order,
        "cases_missing",
        time=time,
        now=now,
        cause=cause,
        detail={"pallet": sscc, "cases": list(cases)}
        | ({"alert": alert} if alert is not None else {cause.kind.value: cause.ref}),
    )
    log.warning(
        "order %s: pallet %s is %d case(s) short (%s); taken off it in the books",
        order.id,
        sscc,
        len(cases),
        ", ".join(cases),
    )
    return postings


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), default=str)


# -- through the door ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Passed:
    check: DoorCheck
    shipped_cases: int
    alert: int | None
    held: list[str]
    postings: list[int]
    """The ledger postings made (moves to the door, ships)."""


async def door_passage(
    conn: Conn,
    *,
    site: str,
    cause: Cause,
    door: str,
    sscc: str,
    time: datetime,
    now: datetime,
    floor: Floor,
) -> Passed:
    """The pallet went out through ``door``: ship or mis-shipment (module doc).
    ``cause`` is what saw it: an outbound passage, or a handheld ``ship`` scan."""
    held = await _order_of_pallet(conn, site, sscc)
    cur = await conn.execute(
        "SELECT id FROM orders WHERE site = %s AND ship_door = %s AND released_at IS NOT NULL"
        " AND status IN ('loading', 'on_hold') ORDER BY id",
        [site, door],
    )
    loading = [r[0] for r in await cur.fetchall()]
    orders = [OrderPallets(o, site, frozenset(), door) for o in loading]
    if held is not None:
        own = held.order
        own_door = (
            own.ship_door
            if own.released_at is not None and own.status in (S.LOADING, S.ON_HOLD)
            else None
        )
        orders = [o for o in orders if o.order != own.id]
        orders.append(OrderPallets(own.id, site, frozenset({sscc}), own_door))
    check = check_passage(OutboundPassage(cause.ref, site, door, time, sscc), orders)
    postings = await _to_the_door(
        conn, site, sscc, door, time=time, now=now, cause=cause, floor=floor
    )
    if check.verdict is Verdict.SHIP:
        assert held is not None
        shipped = await _ship(
            conn, held, check, time=time, now=now, cause=cause, floor=floor, postings=postings
        )
        return Passed(check, shipped, None, [], postings)
    raised = await raise_alert(
        conn,
        site=site,
        kind=AlertKind.MIS_SHIPMENT,
        subject=sscc,
        message=check.message,
        at=time,
        dedupe_key=f"mis_shipment:{cause.kind.value}:{cause.ref}",
        detail={
            cause.kind.value: cause.ref,
            "door": door,
            "pallet": sscc,
            "reason": check.reason.value if check.reason else None,
            "order": check.order,
            "order_door": check.order_door,
            "loading_here": list(check.loading_here),
            "hold": list(check.hold),
        },
        cause=(cause.kind.value, cause.ref),
    )
    held_now = await hold_orders(
        conn,
        check.hold,
        reason="mis_shipment",
        floor=floor,
        time=time,
        now=now,
        cause=cause,
        detail={"alert": raised.id, "pallet": sscc, "door": door},
    )
    return Passed(check, 0, raised.id, held_now, postings)


async def _over_shipped(
    conn: Conn,
    order: OrderRow,
    check: DoorCheck,
    positions: Mapping[Position, int],
    *,
    now: datetime,
    cause: Cause,
    postings: list[int],
) -> None:
    """Cases the books hold on the shipped pallet beyond its order's (the order took
    part of it, and the whole pallet left) ship with it: out through the ledger, an
    ``over_shipment`` alert and an ``over_shipped`` timeline entry, for a person to
    settle with the customer."""
    ops = over_shipment_operations(check, positions)
    if not ops:
        return
    for op in ops:
        postings.append(await stock.post(conn, op, recorded_at=now))
    p = check.passage
    extra = sum(-op.lines[0].qty for op in ops if op.kind is EntryKind.SHIP)
    detail = {"pallet": p.pallet, "door": p.door, "cases": extra, "order": order.id}
    raised = await raise_alert(
        conn,
        site=order.site,
        kind=AlertKind.OVER_SHIPMENT,
        subject=p.pallet,
        message=f"pallet {p.pallet} of order {order.id} left through {p.door} with {extra}"
        " case(s) beyond the order's; shipped with it",
        at=p.time,
        dedupe_key=f"over_shipment:{cause.kind.value}:{cause.ref}",
        detail=detail,
        cause=(cause.kind.value, cause.ref),
    )
    await _note(
        conn,
        order,
        "over_shipped",
        time=p.time,
        now=now,
        cause=cause,
        detail={**detail, "alert": raised.id},
    )
    log.warning(
        "order %s: pallet %s left through %s with %d case(s) beyond the order's",
        order.id,
        p.pallet,
        p.door,
        extra,
    )


async def _to_the_door(
    conn: Conn,
    site: str,
    sscc: str,
    door: str,
    *,
    time: datetime,
    now: datetime,
    cause: Cause,
    floor: Floor,
) -> list[int]:
    """What the books hold on the pallet goes to the door it was last seen at (a ship
    then takes the reserved cases out from there; a mis-shipped pallet stays there)."""
    held = [(r.position, r.qty) for r in await stock.pallet_positions(conn, site, sscc)]
    postings = [
        await stock.post(conn, op, recorded_at=now)
        for op in moves_to(held, door, doors=floor.doors, cause=cause, time=time)
    ]
    await follow_reserved(conn, site=site, sscc=sscc)
    return postings


async def _ship(
    conn: Conn,
    held: _Held,
    check: DoorCheck,
    *,
    time: datetime,
    now: datetime,
    cause: Cause,
    floor: Floor,
    postings: list[int],
) -> int:
    site, sscc = held.order.site, check.passage.pallet
    positions = {r.position: r.qty for r in await stock.pallet_positions(conn, site, sscc)}
    cases = 0
    moving = await transfers.of_order(conn, held.order.id)
    if moving is None:  # a customer's: out of the books
        ops = ship_operations(check, positions)
    else:  # a transfer's: on the road, in transit at the destination
        ops = dispatch_operations(check, positions, to_site=moving.to_site)
    for op in ops:
        postings.append(await stock.post(conn, op, recorded_at=now))
        cases += op.lines[-1].qty if moving is not None else -op.lines[0].qty
    if moving is None:
        await _over_shipped(
            conn, held.order, check, positions, now=now, cause=cause, postings=postings
        )
    if moving is not None:
        await transfers.pallet_dispatched(
            conn,
            moving,
            sscc=sscc,
            door=check.passage.door,
            operations=ops,
            time=time,
            cause=cause,
        )
    if not any(
        r.bucket.state in ON_HAND_STATES for r in await stock.pallet_positions(conn, site, sscc)
    ):
        await goods.mark_shipped(conn, site, sscc, now=now)
    await conn.execute(
        "UPDATE reservations SET shipped = qty - released"
        " WHERE order_id = %s AND pallet = %s AND qty - shipped - released > 0",
        [held.order.id, sscc],
    )
    await _update_line_counts(conn, held.order.id)
    await conn.execute(
        "UPDATE pick_tasks SET shipped_at = COALESCE(shipped_at, %s),"
        " status = CASE WHEN status = 'open' THEN 'done' ELSE status END"
        " WHERE order_id = %s AND pallet = %s AND status <> 'cancelled'",
        [time, held.order.id, sscc],
    )
    order = await lock_order(conn, held.order.id)
    detail = {"pallet": sscc, "door": check.passage.door, "cases": cases}
    await _note(conn, order, "pallet_shipped", time=time, now=now, cause=cause, detail=detail)
    order = await lock_order(conn, order.id)
    if progress_status(await order_progress(conn, order)) is S.SHIPPED:
        await conn.execute(
            "UPDATE ship_tasks SET shipped_at = %s,"
            " status = CASE WHEN status = 'open' THEN 'done' ELSE status END"
            " WHERE order_id = %s",
            [time, order.id],
        )
    await sync(conn, order, floor=floor, time=time, now=now, cause=cause)
    if moving is not None:
        await transfers.follow_order(conn, moving, time=time, now=now)
    return cases
