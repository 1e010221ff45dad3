"""Inbound and put-away from the edges' events: the feed's handlers for goods.

- **inbound passage of a pallet** (SSCC-96):
  announced and not received yet: the announced cases that came are received
  (:func:`cloud.warehouse.receiving.match_receipts`), available, on the pallet, at the
  door; cases beyond the notice raise ``over_receipt``. If the pallet was already seen
  in a zone after the passage (events of two tables are not always read in the order
  they happened), it is put away there at once;
  nobody announced it: its cases are received into quarantine at the door
  (:func:`cloud.warehouse.handling.unexpected_receipts`) and ``unexpected_receipt`` is
  raised; a pallet received before: nothing changes (a repeated passage);
- **inbound passage of a lone case** (SGTIN-96) announced on a pallet that came
  without it: the case is received onto its pallet where the pallet is;
- **zone event** ``arrived``, ``moved`` or ``present`` of a received pallet: its
  stock goes to the zone (``putaway`` from a door, ``move`` between zones, ``pick`` of
  reserved stock), unless the ledger moved it later than the event;
- **short receipts** (a timer on the injected clock): a notice whose pallets have not
  all come by ``expected_at`` + ``short_receipt_grace_min`` raises ``short_receipt``
  once, naming them.

Every posting's cause is the event (passage or zone event id) or the notice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from cloud.db import feed as feed_db
from cloud.db import goods, stock
from cloud.db.alerts import raise_alert
from cloud.db.events import PassageRow, ZoneEventRow
from cloud.operations.feed import Conn, FeedContext, Registry
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.handling import UNKNOWN_LOT, moves_to, unexpected_receipts
from cloud.warehouse.ledger import Bucket, Cause, CauseKind, Position, StockState, receipt
from cloud.warehouse.receiving import (
    Asn,
    AsnPallet,
    InboundPassage,
    match_receipts,
    receipt_operations,
)
from protocols.epc import EPCError, Sgtin96, Sscc96, decode_hex

log = logging.getLogger(__name__)

PALLET_HEADER = "31"
CASE_HEADER = "30"
_PLACING = frozenset({"arrived", "moved", "present"})


def register(registry: Registry) -> None:
    """Add the inbound handlers and the short-receipt timer to ``registry``."""
    registry.on_inbound_passage(on_inbound_passage)
    registry.on_zone_event(on_zone_event)
    registry.every("short receipts", timedelta(seconds=30), check_short_receipts)


def announced_pallet(p: goods.Pallet, cases: frozenset[str]) -> AsnPallet:
    assert p.sku is not None and p.lot is not None and p.announced_cases is not None
    return AsnPallet(p.sscc, p.sku, p.lot, p.expiry, p.announced_cases, cases)


async def on_inbound_passage(conn: Conn, ctx: FeedContext, ev: PassageRow) -> None:
    if ev.epc.startswith(CASE_HEADER):
        await _lone_case(conn, ctx, ev)
        return
    if not ev.epc.startswith(PALLET_HEADER):
        return
    try:
        decoded = decode_hex(ev.epc)
    except EPCError:
        return  # not an EPC of goods
    if not isinstance(decoded, Sscc96):
        return
    sscc = decoded.sscc
    pallet = await goods.pallet(conn, ctx.site, sscc, lock=True)
    if pallet is None:
        await _unexpected(conn, ctx, ev, sscc)
    elif pallet.status == "announced":
        await _receive(conn, ctx, ev, pallet)
    else:
        log.info("inbound passage %d of pallet %s received before: nothing changes", ev.id, sscc)


async def _receive(conn: Conn, ctx: FeedContext, ev: PassageRow, pallet: goods.Pallet) -> None:
    assert pallet.asn is not None
    cur = await conn.execute(
        "SELECT epc FROM pallet_cases WHERE site = %s AND pallet = %s AND announced",
        [ctx.site, pallet.sscc],
    )
    listed = frozenset(r[0] for r in await cur.fetchall())
    header = await goods.asn_header(conn, pallet.asn)
    assert header is not None
    asn = Asn(
        header.id,
        ctx.site,
        header.expected_at + ctx.settings.short_receipt_grace,
        (announced_pallet(pallet, listed),),
    )
    passage = InboundPassage(
        str(ev.id), ctx.site, ev.door, ev.time, pallet.sscc, frozenset(ev.cases)
    )
    report = match_receipts([asn], [passage], now=ev.time)
    (result,) = report.pallets
    now = ctx.now()
    for op in receipt_operations(report):
        await stock.post(conn, op, recorded_at=now)
    await goods.mark_received(
        conn,
        ctx.site,
        pallet.sscc,
        epc=ev.epc,
        at=ev.time,
        door=ev.door,
        cause=f"passage:{ev.id}",
        received_cases=result.received_cases,
        over_cases=result.over_cases,
        now=now,
    )
    await goods.record_heard_cases(conn, ctx.site, pallet.sscc, ev.cases, at=ev.time)
    if result.over_cases:
        extra = sorted(result.extra)
        await raise_alert(
            conn,
            site=ctx.site,
            kind=AlertKind.OVER_RECEIPT,
            subject=pallet.sscc,
            message=(
                f"pallet {pallet.sscc} of notice {pallet.asn} came through {ev.door} with"
                f" {result.over_cases} cases more than announced"
            ),
            at=ev.time,
            detail={
                "asn": pallet.asn,
                "door": ev.door,
                "over_cases": result.over_cases,
                "cases": extra,
            },
            cause=("passage", str(ev.id)),
        )
    if result.late:
        log.info("pallet %s of notice %s came late (passage %d)", pallet.sscc, asn.id, ev.id)
    seen = await feed_db.latest_zone_event(conn, ev.epc, after=ev.time)
    if seen is not None and seen.kind in _PLACING:
        await _place(conn, ctx, seen, pallet.sscc)


async def _unexpected(conn: Conn, ctx: FeedContext, ev: PassageRow, sscc: str) -> None:
    cause = Cause(CauseKind.PASSAGE, str(ev.id))
    found = unexpected_receipts(
        site=ctx.site, door=ev.door, pallet=sscc, cases=ev.cases, cause=cause, time=ev.time
    )
    now = ctx.now()
    for op in found.operations:
        await stock.post(conn, op, recorded_at=now)
    booked = sum(line.qty for op in found.operations for line in op.lines)
    await goods.insert_unexpected(
        conn,
        ctx.site,
        sscc,
        epc=ev.epc,
        sku=found.items[0] if len(found.items) == 1 else None,
        lot=UNKNOWN_LOT if found.items else None,
        at=ev.time,
        door=ev.door,
        cause=f"passage:{ev.id}",
        received_cases=booked,
        now=now,
    )
    await goods.record_heard_cases(conn, ctx.site, sscc, ev.cases, at=ev.time)
    await raise_alert(
        conn,
        site=ctx.site,
        kind=AlertKind.UNEXPECTED_RECEIPT,
        subject=sscc,
        message=(
            f"pallet {sscc} came in through {ev.door} and no notice announced it:"
            f" {booked} cases received into quarantine"
        ),
        at=ev.time,
        detail={"door": ev.door, "epc": ev.epc, "cases": booked, "items": list(found.items)},
        cause=("passage", str(ev.id)),
    )
    seen = await feed_db.latest_zone_event(conn, ev.epc, after=ev.time)
    if seen is not None and seen.kind in _PLACING:
        await _place(conn, ctx, seen, sscc)


async def _lone_case(conn: Conn, ctx: FeedContext, ev: PassageRow) -> None:
    """A case that crossed the door without its pallet: received onto the pallet when
    the notice listed it there and the pallet came without it."""
    known = await goods.announced_case(conn, ctx.site, ev.epc)
    if known is None or known[1]:
        return
    sscc = known[0]
    pallet = await goods.pallet(conn, ctx.site, sscc, lock=True)
    if pallet is None or pallet.status != "received" or pallet.asn is None:
        return  # not come yet (the pallet's passage receives it), or gone
    try:
        decoded = decode_hex(ev.epc)
    except EPCError:
        return
    if not isinstance(decoded, Sgtin96) or decoded.gtin != pallet.sku:
        return
    assert pallet.sku is not None and pallet.lot is not None
    held = [r for r in await stock.pallet_positions(conn, ctx.site, sscc)]
    on_hand = [r for r in held if r.bucket.state is not StockState.IN_TRANSIT]
    if on_hand:  # where the pallet's stock mostly is, available
        where = max(on_hand, key=lambda r: r.qty).bucket.location
    else:
        where = ev.door
    position = Position(Bucket(ctx.site, pallet.sku, pallet.lot, where, StockState.AVAILABLE), sscc)
    now = ctx.now()
    await stock.post(
        conn,
        receipt(position, 1, cause=Cause(CauseKind.PASSAGE, str(ev.id)), time=ev.time),
        recorded_at=now,
    )
    await goods.record_heard_cases(conn, ctx.site, sscc, [ev.epc], at=ev.time)
    await goods.add_received_cases(conn, ctx.site, sscc, 1, now=now)


async def on_zone_event(conn: Conn, ctx: FeedContext, ev: ZoneEventRow) -> None:
    if ev.kind not in _PLACING or not ev.epc.startswith(PALLET_HEADER):
        return
    try:
        decoded = decode_hex(ev.epc)
    except EPCError:
        return
    if isinstance(decoded, Sscc96):
        await _place(conn, ctx, ev, decoded.sscc)


async def _place(conn: Conn, ctx: FeedContext, ev: ZoneEventRow, sscc: str) -> None:
    """Move what the ledger holds on the pallet to the zone it was seen in."""
    if ev.zone not in ctx.zones:
        return
    held = await stock.pallet_positions(conn, ctx.site, sscc)
    if not held:
        return
    cur = await conn.execute(
        "SELECT max(time) FROM ledger_entries WHERE site = %s AND pallet = %s",
        [ctx.site, sscc],
    )
    row = await cur.fetchone()
    if row is not None and row[0] is not None and row[0] > ev.time:
        return  # the ledger moved it after this event: old news
    ops = moves_to(
        [(r.position, r.qty) for r in held],
        ev.zone,
        doors=ctx.doors,
        cause=Cause(CauseKind.ZONE_EVENT, str(ev.id)),
        time=ev.time,
    )
    now = ctx.now()
    for op in ops:
        await stock.post(conn, op, recorded_at=now)


async def check_short_receipts(conn: Conn, ctx: FeedContext) -> None:
    """Raise ``short_receipt`` once per notice whose pallets have not all come by its
    expected time plus the grace."""
    now = ctx.now()
    for header in await goods.overdue_asns(
        conn, ctx.site, before=now - ctx.settings.short_receipt_grace
    ):
        pallets = await goods.pallets_of_asn(conn, header.id)
        missing = [p for p in pallets if p.status == "announced"]
        await goods.mark_short_checked(conn, header.id, at=now)
        if not missing:
            continue
        cases = sum(p.announced_cases or 0 for p in missing)
        await raise_alert(
            conn,
            site=ctx.site,
            kind=AlertKind.SHORT_RECEIPT,
            subject=header.id,
            message=(
                f"notice {header.id} from {header.supplier}: {len(missing)} pallets"
                f" ({cases} cases) not come by {header.expected_at.isoformat()}"
            ),
            at=now,
            detail={
                "asn": header.id,
                "supplier": header.supplier,
                "expected_at": header.expected_at.isoformat(),
                "pallets": [p.sscc for p in missing],
                "cases": cases,
            },
            cause=("asn", header.id),
        )
