"""Inbound and put-away from the edges' events: the feed's handlers for goods.

- **inbound passage of a pallet** (SSCC-96):
  announced and not received yet: the announced cases that came are received
  (:func:`cloud.warehouse.receiving.match_receipts`), available, on the pallet, at the
  door; cases beyond the notice raise ``over_receipt``. If the pallet was already seen
  in a zone after the passage (events of two tables are not always read in the order
  they happened), it is put away there at once;
  nobody announced it: its cases are received into quarantine at the door
  (:func:`cloud.warehouse.handling.unexpected_receipts`) and ``unexpected_receipt`` is
  raised; a pallet received before: only announced cases it still lacked are booked
  (a repeated passage changes nothing else);
- **a case heard apart from its pallet** (a lone inbound passage, a zone event of the
  case) that its notice listed on a pallet that came without it: received onto the
  pallet where the pallet is; heard before its pallet came: remembered, and booked
  with the pallet;
- **zone event** ``arrived``, ``moved`` or ``present`` of a received pallet: its
  stock goes to the zone (``putaway`` from a door, ``move`` between zones, ``pick`` of
  reserved stock), unless the ledger moved it later than the event. Of an announced
  pallet not received yet (its door passage was missed): received in the zone, with
  the listed cases heard so far (or the announced count);
- **short receipts** (a timer on the injected clock): a notice whose pallets have not
  all come by ``expected_at`` + ``short_receipt_grace_min`` raises ``short_receipt``
  once, naming them.

Every posting's cause is the event (passage or zone event id) or the notice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from cloud.db import feed as feed_db
from cloud.db import goods, stock
from cloud.db import variances as variances_db
from cloud.db.alerts import raise_alert
from cloud.db.events import PassageRow, ZoneEventRow
from cloud.operations.feed import Conn, FeedContext, Registry
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.handling import UNKNOWN_LOT, moves_to, unexpected_receipts
from cloud.warehouse.ledger import (
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    Position,
    StockState,
    receipt,
)
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


def pallet_sscc(epc: str | None) -> str | None:
    """The SSCC of a pallet's SSCC-96 EPC; None for anything else."""
    if not epc or not epc.startswith(PALLET_HEADER):
        return None
    try:
        decoded = decode_hex(epc)
    except EPCError:
        return None  # not an EPC of goods
    return decoded.sscc if isinstance(decoded, Sscc96) else None


async def on_inbound_passage(conn: Conn, ctx: FeedContext, ev: PassageRow) -> None:
    if ev.epc.startswith(CASE_HEADER):
        cause = Cause(CauseKind.PASSAGE, str(ev.id))
        await _found_case(conn, ctx, ev.epc, at=ev.time, cause=cause, place=ev.door)
        return
    sscc = pallet_sscc(ev.epc)
    if sscc is None:
        return
    pallet = await goods.pallet(conn, ctx.site, sscc, lock=True)
    if pallet is None:
        await _unexpected(conn, ctx, ev, sscc)
    elif pallet.status == "announced":
        await _receive(conn, ctx, ev, pallet)
    else:  # received before: only announced cases still missing from it count now
        cause = Cause(CauseKind.PASSAGE, str(ev.id))
        for case in sorted(set(ev.cases)):
            await _found_case(conn, ctx, case, at=ev.time, cause=cause, place=ev.door)


async def _receive(conn: Conn, ctx: FeedContext, ev: PassageRow, pallet: goods.Pallet) -> None:
    assert pallet.asn is not None
    listed, heard_before = await _announced_cases(conn, ctx.site, pallet.sscc)
    header = await goods.asn_header(conn, pallet.asn)
    assert header is not None
    asn = Asn(
        header.id,
        ctx.site,
        header.expected_at + ctx.settings.short_receipt_grace,
        (announced_pallet(pallet, listed),),
    )
    passage = InboundPassage(
        str(ev.id), ctx.site, ev.door, ev.time, pallet.sscc, frozenset(ev.cases) | heard_before
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


async def _announced_cases(
    conn: Conn, site: str, sscc: str
) -> tuple[frozenset[str], frozenset[str]]:
    """The pallet's announced case EPCs, and those of them heard already."""
    cur = await conn.execute(
        "SELECT epc, heard_at IS NOT NULL FROM pallet_cases"
        " WHERE site = %s AND pallet = %s AND announced",
        [site, sscc],
    )
    found = await cur.fetchall()
    return frozenset(r[0] for r in found), frozenset(r[0] for r in found if r[1])


async def _found_case(
    conn: Conn, ctx: FeedContext, epc: str, *, at: datetime, cause: Cause, place: str
) -> None:
    """A case heard apart from its pallet (a lone door passage, a zone event): when its
    notice listed it on a pallet that came without it, it is received onto the pallet
    where the pallet is (``place`` when its stock is nowhere); when the pallet has not
    come yet, it is remembered as heard and booked with the pallet."""
    known = await goods.announced_case(conn, ctx.site, epc)
    if known is None or known[1]:
        return
    sscc = known[0]
    pallet = await goods.pallet(conn, ctx.site, sscc, lock=True)
    if pallet is None or pallet.asn is None or pallet.status == "shipped":
        return
    if pallet.status == "announced":
        await goods.record_heard_cases(conn, ctx.site, sscc, [epc], at=at)
        return
    try:
        decoded = decode_hex(epc)
    except EPCError:
        return
    if not isinstance(decoded, Sgtin96) or decoded.gtin != pallet.sku:
        return
    assert pallet.sku is not None and pallet.lot is not None
    held = await stock.pallet_positions(conn, ctx.site, sscc)
    on_hand = [r for r in held if r.bucket.state is not StockState.IN_TRANSIT]
    if on_hand:
        where = max(on_hand, key=lambda r: r.qty).bucket.location
    else:  # none of its cases booked yet: where the edges last placed the pallet
        where = await _pallet_zone(conn, pallet.epc) or place
    position = Position(Bucket(ctx.site, pallet.sku, pallet.lot, where, StockState.AVAILABLE), sscc)
    now = ctx.now()
    await stock.post(conn, receipt(position, 1, cause=cause, time=at), recorded_at=now)
    await goods.record_heard_cases(conn, ctx.site, sscc, [epc], at=at)
    await goods.add_received_cases(conn, ctx.site, sscc, 1, now=now)


_PLACING_KINDS = [
    k.value
    for k in (
        EntryKind.RECEIPT,
        EntryKind.PUTAWAY,
        EntryKind.MOVE,
        EntryKind.PICK,
        EntryKind.SHIP,
        EntryKind.DISPATCH,
        EntryKind.ARRIVE,
    )
]
"""Ledger entries that put a pallet somewhere; the others (reserve, release, an
inspection's restock ...) change its stock where it is: no news of where it is."""


async def _pallet_zone(conn: Conn, epc: str | None) -> str | None:
    """The zone the edges' events last put the pallet in, if it is there now."""
    if epc is None:
        return None
    cur = await conn.execute(
        "SELECT zone FROM tag_places WHERE epc = %s AND state = 'present'", [epc]
    )
    row = await cur.fetchone()
    return str(row[0]) if row and row[0] else None


async def _receive_in_zone(
    conn: Conn, ctx: FeedContext, ev: ZoneEventRow, pallet: goods.Pallet
) -> None:
    """An announced pallet first seen in a zone (its door passage was missed): received
    there, with the announced cases heard so far (cases listed but not heard yet are
    booked as their own events find them), or the announced count when the notice
    gave only a count."""
    assert pallet.sku is not None and pallet.lot is not None
    assert pallet.announced_cases is not None
    listed, heard = await _announced_cases(conn, ctx.site, pallet.sscc)
    booked = len(heard) if listed else pallet.announced_cases
    now = ctx.now()
    if booked:
        position = Position(
            Bucket(ctx.site, pallet.sku, pallet.lot, ev.zone, StockState.AVAILABLE), pallet.sscc
        )
        op = receipt(position, booked, cause=Cause(CauseKind.ZONE_EVENT, str(ev.id)), time=ev.time)
        await stock.post(conn, op, recorded_at=now)
    await goods.mark_received(
        conn,
        ctx.site,
        pallet.sscc,
        epc=ev.epc,
        at=ev.time,
        door=None,
        cause=f"zone_event:{ev.id}",
        received_cases=booked,
        over_cases=0,
        now=now,
    )
    log.info(
        "pallet %s of notice %s first seen in %s (zone event %d): received there, %d cases",
        pallet.sscc,
        pallet.asn,
        ev.zone,
        ev.id,
        booked,
    )


async def on_zone_event(conn: Conn, ctx: FeedContext, ev: ZoneEventRow) -> None:
    if ev.kind not in _PLACING or ev.zone not in ctx.zones:
        return
    if ev.epc.startswith(CASE_HEADER):
        cause = Cause(CauseKind.ZONE_EVENT, str(ev.id))
        await _found_case(conn, ctx, ev.epc, at=ev.time, cause=cause, place=ev.zone)
        return
    sscc = pallet_sscc(ev.epc)
    if sscc is None:
        return
    pallet = await goods.pallet(conn, ctx.site, sscc, lock=True)
    if pallet is not None and pallet.status == "announced":
        await _receive_in_zone(conn, ctx, ev, pallet)
    else:
        await _place(conn, ctx, ev, sscc)


async def _place(conn: Conn, ctx: FeedContext, ev: ZoneEventRow, sscc: str) -> None:
    """Move what the ledger holds on the pallet to the zone it was seen in."""
    if ev.zone not in ctx.zones:
        return
    held = await stock.pallet_positions(conn, ctx.site, sscc)
    if not held:
        return
    cur = await conn.execute(
        "SELECT max(time) FROM ledger_entries WHERE site = %s AND pallet = %s AND kind = ANY(%s)",
        [ctx.site, sscc, _PLACING_KINDS],
    )
    row = await cur.fetchone()
    if row is not None and row[0] is not None and row[0] > ev.time:
        return  # the ledger moved it after this event: old news
    last_moved = row[0] if row is not None else None
    if all(r.bucket.location == ev.zone for r in held):
        return  # heard again where the book has it (after an unknown spell, say)
    if await _untasked_shelf_move(conn, ctx, ev, sscc, held, last_moved):
        log.info(
            "pallet %s heard in %s (zone event %d), booked in %s, on no task: the book"
            " stays (the cycle count's wrong_zone variance if it persists)",
            sscc,
            ev.zone,
            ev.id,
            ", ".join(sorted({r.bucket.location for r in held})),
        )
        return
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


async def _untasked_shelf_move(
    conn: Conn,
    ctx: FeedContext,
    ev: ZoneEventRow,
    sscc: str,
    held: list[stock.PositionRow],
    last_moved: datetime | None,
) -> bool:
    """Whether the event moves a shelved pallet from one storage zone to another with
    no task behind it: then the book does not follow (the cycle count judges it).

    The book follows everything else: a pallet received at a door (its put-away), one
    on a put-away or pick task or holding reserved stock, one going to or coming from
    a zone that is not storage (packing, staging), and one the book moved less than
    ``variance_after`` before the event (its arrival still settling between
    neighbouring zones)."""
    storage = ctx.storage_zones
    if ev.zone not in storage:
        return False
    on_hand = [r for r in held if r.bucket.state is not StockState.IN_TRANSIT]
    if not on_hand or any(r.bucket.location not in storage for r in on_hand):
        return False
    if any(r.bucket.state is StockState.RESERVED for r in on_hand):
        return False
    if last_moved is not None and ev.time - last_moved < ctx.settings.variance_after:
        return False
    return not await variances_db.pallet_in_motion(conn, ctx.site, sscc)


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
