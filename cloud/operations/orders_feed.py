"""Orders from the edges' events: the warehouse feed's handlers for picking, packing,
shipping and put-away tasks.

Registered after the inbound handlers (:mod:`cloud.operations.inbound`), so an event's
stock has already moved when these run (a zone arrival posts the ``pick`` of reserved
stock there); each runs in the event's savepoint, in the feed's transaction.

- **zone event** (``arrived``, ``moved``, ``present``) of a pallet at **packing**: a
  pallet of an order is picked (:func:`cloud.db.order_flow.pick_pallet`: its pick task
  done, the order ``picking`` / ``picked``); a pallet arriving there (``arrived`` or
  ``moved``) that holds nothing reserved for an open order is a **wrong pick**
  (``wrong_pick`` alert, naming the orders still picking that item), and the pick
  tasks of that item a worker reported done but whose pallet never came are open
  again;
- **zone event** of a pallet in a **storage zone**: its open put-away task is done;
- **weight** of a pallet on a scale in packing: the weight check
  (:func:`cloud.db.order_flow.weigh_pallet`): packed (and, once the order's last pallet
  is, ``loading`` at its door with a ship task), or ``weight_mismatch`` and on hold;
- **outbound passage** of a pallet: the door check
  (:func:`cloud.db.order_flow.door_passage`): ``ship`` postings and the pallet marked
  shipped, or ``mis_shipment`` and orders on hold;
- **inbound passage** of a pallet that the inbound handler received at the door: a
  put-away task (:func:`cloud.db.tasks.create_putaway_task`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from cloud.db import goods, order_flow, stock, tasks
from cloud.db.alerts import raise_alert
from cloud.db.events import PassageRow, WeightRow, ZoneEventRow
from cloud.db.orders import Floor
from cloud.operations.feed import Conn, FeedContext, Registry
from cloud.operations.inbound import pallet_sscc
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.ledger import Cause, CauseKind, LedgerError
from cloud.warehouse.packing import MISMATCH_CASES_MAX, ROLLED_ON_WITHIN_S, weighed_pallet
from protocols.layout import Layout

log = logging.getLogger(__name__)

_PLACING = frozenset({"arrived", "moved", "present"})
_ARRIVING = frozenset({"arrived", "moved"})
_FLOORS: dict[tuple[int, str | None], tuple[Layout, Floor | None]] = {}
"""Per layout (by identity; the layout is held, so its id is never another's) and ship
door setting: its floor for orders."""


def register(registry: Registry) -> None:
    """Add the orders' handlers to ``registry`` (after the inbound ones)."""
    registry.on_zone_event(on_zone_event)
    registry.on_weight(on_weight)
    registry.on_outbound_passage(on_outbound_passage)
    registry.on_inbound_passage(on_inbound_passage)


def floor_of(ctx: FeedContext) -> Floor | None:
    """The site's floor for orders (made once per layout); None, logged once, for a
    layout orders cannot run on (no packing zone or no door): the order handlers then
    leave every event to the others."""
    key = (id(ctx.layout), ctx.settings.default_ship_door)
    known = _FLOORS.get(key)
    if known is None or known[0] is not ctx.layout:
        try:
            floor: Floor | None = Floor.of(ctx.layout, ship_door_setting=key[1])
        except LedgerError as e:
            log.warning("orders: the layout has no floor for orders (%s); not following them", e)
            floor = None
        known = _FLOORS[key] = (ctx.layout, floor)
    return known[1]


def packing_zones(layout: Layout) -> frozenset[str]:
    return frozenset(z.id for z in layout.zones if z.kind == "packing")


async def on_zone_event(conn: Conn, ctx: FeedContext, ev: ZoneEventRow) -> None:
    if ev.kind not in _PLACING:
        return
    sscc = pallet_sscc(ev.epc)
    if sscc is None:
        return
    floor = floor_of(ctx)
    if floor is None:
        return
    cause = Cause(CauseKind.ZONE_EVENT, str(ev.id))
    if ev.zone in packing_zones(ctx.layout):
        picked = await order_flow.pick_pallet(
            conn,
            site=ctx.site,
            sscc=sscc,
            zone=ev.zone,
            time=ev.time,
            now=ctx.now(),
            cause=cause,
            floor=floor,
        )
        if picked is None and ev.kind in _ARRIVING:
            await _wrong_pick(conn, ctx, ev, sscc)
        return
    await order_flow.follow_reserved(conn, site=ctx.site, sscc=sscc)
    if ev.zone in floor.storage:
        await tasks.putaway_arrived(
            conn, site=ctx.site, sscc=sscc, zone=ev.zone, time=ev.time, floor=floor
        )


async def _wrong_pick(conn: Conn, ctx: FeedContext, ev: ZoneEventRow, sscc: str) -> None:
    """A pallet reached packing and no open order holds cases on it."""
    held = await stock.pallet_positions(conn, ctx.site, sscc)
    items = sorted({r.bucket.item for r in held})
    pallet = await goods.pallet(conn, ctx.site, sscc)
    if not items and pallet is not None and pallet.sku is not None:
        items = [pallet.sku]
    cur = await conn.execute(
        "SELECT DISTINCT t.order_id FROM pick_tasks t JOIN reservations r ON r.task_id = t.id"
        " WHERE t.site = %s AND t.picked_at IS NULL AND t.status <> 'cancelled'"
        " AND r.sku = ANY(%s::text[]) ORDER BY t.order_id",
        [ctx.site, items],
    )
    picking = [r[0] for r in await cur.fetchall()]
    reopened = await tasks.reopen_unconfirmed_picks(conn, site=ctx.site, items=items)
    what = f"{', '.join(items)}" if items else "nothing the books know of"
    waiting = f"; orders picking that item: {', '.join(picking)}" if picking else ""
    await raise_alert(
        conn,
        site=ctx.site,
        kind=AlertKind.WRONG_PICK,
        subject=sscc,
        message=(
            f"wrong pick: pallet {sscc} ({what}) reached {ev.zone} and is on no order{waiting}"
        ),
        at=ev.time,
        detail={
            "pallet": sscc,
            "epc": ev.epc,
            "zone": ev.zone,
            "items": items,
            "orders_picking": picking,
            "reopened": reopened,
        },
        cause=("zone_event", str(ev.id)),
    )


async def on_weight(conn: Conn, ctx: FeedContext, ev: WeightRow) -> None:
    scale = next((s for s in ctx.layout.scales if s.id == ev.scale), None)
    floor = floor_of(ctx)
    if scale is None or scale.zone not in packing_zones(ctx.layout) or floor is None:
        return
    epc = await _weighed_epc(conn, ctx, ev)
    sscc = pallet_sscc(epc)
    if sscc is None:
        return
    await order_flow.weigh_pallet(
        conn,
        site=ctx.site,
        sscc=sscc,
        weight_kg=ev.weight_kg,
        scale=ev.scale,
        zone=scale.zone,
        time=ev.time,
        now=ctx.now(),
        cause=Cause(CauseKind.WEIGHT, str(ev.id)),
        floor=floor,
        tolerance=ctx.settings.pack_tolerance,
        # the cases heard are the edge's pallet's: no witness for another one's
        heard_cases=ev.cases if epc == ev.epc else (),
    )


async def _weighed_epc(conn: Conn, ctx: FeedContext, ev: WeightRow) -> str | None:
    """The pallet the weight was (:func:`cloud.warehouse.packing.weighed_pallet`): the
    edge's choice, unless the weight fails its check and fits another candidate that
    awaits one, or the edge's choice awaits no check (nor fits this weight after a
    mismatch) and the weight says a candidate that does is a case or two light; None
    when it is far off the edge's choice and fits no other. Then the weight's row
    names that one, or none (``epc``; the edge's kept in ``edge_epc``), so the weights
    the API lists are the ones the checks used."""
    ssccs = {epc: s for epc in ev.candidates if (s := pallet_sscc(epc)) is not None}
    if not ssccs:
        return ev.epc
    named = pallet_sscc(ev.epc)
    asked = set(ssccs.values()) | ({named} if named is not None else set())
    found = await order_flow.weighings(
        conn, ctx.site, sorted(asked), ev.weight_kg, ctx.settings.pack_tolerance
    )
    checks = {  # the candidates awaiting their check
        s: w.check for s in ssccs.values() if (w := found.get(s)) and w.verdict is None
    }
    mine = found.get(named) if named is not None and named not in checks else None
    rolled_on = ev.time - timedelta(seconds=ROLLED_ON_WITHIN_S)
    again = (
        mine.check
        if mine is not None
        and mine.verdict == "mismatch"
        and mine.weighed_at is not None
        and mine.weighed_at >= rolled_on
        else None
    )
    chosen = weighed_pallet(
        ev.epc,
        list(ssccs),
        {epc: checks[s] for epc, s in ssccs.items() if s in checks},
        named_again=again,
        named_weighed=mine.check if mine is not None else None,
    )
    if chosen is None and ev.epc is not None:
        log.info(
            "weight %s on %s: %.2f kg is more than %g cases off what pallet %s should weigh,"
            " and fits no other it heard: another pallet's weight, left to none",
            ev.id,
            ev.scale,
            ev.weight_kg,
            MISMATCH_CASES_MAX,
            ev.epc,
        )
    elif chosen != ev.epc:
        log.info(
            "weight %s on %s: %.2f kg is pallet %s, which awaits its weight check, not %s"
            " as the edge named",
            ev.id,
            ev.scale,
            ev.weight_kg,
            chosen,
            ev.epc,
        )
    if chosen != ev.epc:
        await conn.execute(
            "UPDATE weights SET epc = %s, edge_epc = %s WHERE id = %s", [chosen, ev.epc, ev.id]
        )
    return chosen


async def on_outbound_passage(conn: Conn, ctx: FeedContext, ev: PassageRow) -> None:
    sscc = pallet_sscc(ev.epc)
    floor = floor_of(ctx)
    if sscc is None or floor is None:
        return
    await order_flow.door_passage(
        conn,
        site=ctx.site,
        cause=Cause(CauseKind.PASSAGE, str(ev.id)),
        door=ev.door,
        sscc=sscc,
        time=ev.time,
        now=ctx.now(),
        floor=floor,
    )


async def on_inbound_passage(conn: Conn, ctx: FeedContext, ev: PassageRow) -> None:
    sscc = pallet_sscc(ev.epc)
    floor = floor_of(ctx)
    if sscc is None or floor is None:
        return
    held = await stock.pallet_positions(conn, ctx.site, sscc)
    if any(r.bucket.location == ev.door for r in held):  # received here, not put away yet
        await tasks.create_putaway_task(
            conn,
            site=ctx.site,
            sscc=sscc,
            from_location=ev.door,
            floor=floor,
            now=ctx.now(),
        )
