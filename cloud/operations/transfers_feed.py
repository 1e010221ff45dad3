"""Transfers at the destination's door: the warehouse feed's handler and late check.

- **inbound passage** of a pallet a transfer to this site dispatched and that has not
  come yet: it **arrives** (:func:`cloud.warehouse.transfers.receive_pallet`: the cases
  heard with it that left on it go from ``in_transit`` to available at the door); it
  becomes a received pallet of this site, so its zone arrivals put it away and the
  orders' handler (which runs after the inbound ones) gives it a put-away task. Cases
  that left on it and were not heard raise ``transfer_short`` (they stay in transit in
  the books for a person to settle); cases heard that had not left on it raise
  ``transfer_over`` (not booked). Once every pallet that left has come, the transfer
  is ``received``. A pallet that comes after the expected arrival plus the grace
  raises ``transfer_late`` (if the timer has not already);
- **late transfers** (a timer on the injected clock): a transfer to this site whose
  pallets have not all come by ``expected_at`` + ``transfer_late_grace_min`` raises
  ``transfer_late`` once, naming them (``transfer.delayed``).

Registered **before** the inbound handlers (:mod:`cloud.operations.inbound`): the
pallet it receives is a received pallet by the time they run, which they leave alone
(a pallet no transfer waits for is theirs: announced, or unexpected).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from cloud.db import transfers as db
from cloud.db.alerts import raise_alert
from cloud.db.events import PassageRow
from cloud.operations.feed import Conn, FeedContext, Registry
from cloud.operations.inbound import pallet_sscc
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.ledger import Cause, CauseKind
from cloud.warehouse.transfers import is_late, receive_pallet

log = logging.getLogger(__name__)


def register(registry: Registry) -> None:
    """Add the transfers' handler and late check to ``registry`` (before inbound's)."""
    registry.on_inbound_passage(on_inbound_passage)
    registry.every("late transfers", timedelta(seconds=30), check_late_transfers)


async def on_inbound_passage(conn: Conn, ctx: FeedContext, ev: PassageRow) -> None:
    sscc = pallet_sscc(ev.epc)
    if sscc is None:
        return
    awaited = await db.on_the_road(conn, ctx.site, sscc)
    if awaited is None:
        return
    t = awaited.transfer
    cause = Cause(CauseKind.PASSAGE, str(ev.id))
    arrival = receive_pallet(
        awaited.road, site=ctx.site, door=ev.door, heard=ev.cases, cause=cause, time=ev.time
    )
    now = ctx.now()
    booked = await db.book_arrival(
        conn,
        awaited,
        arrival,
        door=ev.door,
        epc=ev.epc,
        heard=ev.cases,
        time=ev.time,
        cause=cause,
        now=now,
    )
    log.info(
        "transfer %s: pallet %s came through %s (passage %d): %d cases, %d missing, %d over; %s",
        t.id,
        sscc,
        ev.door,
        ev.id,
        arrival.received,
        len(arrival.missing),
        len(arrival.extra),
        booked.status.value,
    )
    facts = {"transfer": t.id, "from_site": t.from_site, "door": ev.door, "pallet": sscc}
    if arrival.missing:
        await raise_alert(
            conn,
            site=ctx.site,
            kind=AlertKind.TRANSFER_SHORT,
            subject=sscc,
            message=(
                f"transfer {t.id} from {t.from_site}: pallet {sscc} came through {ev.door}"
                f" without {len(arrival.missing)} of the cases that left on it"
            ),
            at=ev.time,
            dedupe_key=f"transfer_short:{t.id}:{sscc}",
            detail={**facts, "received": arrival.received, "missing": list(arrival.missing)},
            cause=("passage", str(ev.id)),
        )
    if arrival.extra:
        await raise_alert(
            conn,
            site=ctx.site,
            kind=AlertKind.TRANSFER_OVER,
            subject=sscc,
            message=(
                f"transfer {t.id} from {t.from_site}: pallet {sscc} came through {ev.door}"
                f" with {len(arrival.extra)} cases that had not left on it (not booked)"
            ),
            at=ev.time,
            dedupe_key=f"transfer_over:{t.id}:{sscc}",
            detail={**facts, "extra": list(arrival.extra)},
            cause=("passage", str(ev.id)),
        )
    grace = ctx.settings.transfer_late_grace
    if t.late_at is None and t.expected_at is not None and ev.time > t.expected_at + grace:
        await _late(conn, ctx, t, at=ev.time, pallets=[sscc], came=True)


async def check_late_transfers(conn: Conn, ctx: FeedContext) -> None:
    """Raise ``transfer_late`` once per transfer to this site whose pallets have not
    all come by its expected arrival plus the grace."""
    now = ctx.now()
    grace = ctx.settings.transfer_late_grace
    for t in await db.overdue(conn, ctx.site, before=now - grace):
        waiting = await db.pallets_not_come(conn, t.id)
        if is_late(t.expected_at, grace, now, all_arrived=not waiting):
            await _late(conn, ctx, t, at=now, pallets=waiting, came=False)


async def _late(
    conn: Conn,
    ctx: FeedContext,
    t: db.TransferRow,
    *,
    at: datetime,
    pallets: list[str],
    came: bool,
) -> None:
    if not await db.mark_late(conn, t, at=at, now=ctx.now(), pallets=pallets):
        return
    assert t.expected_at is not None
    what = (
        f"pallet {', '.join(pallets)} came at {at.isoformat()}"
        if came
        else f"{len(pallets)} pallet(s) not come by {at.isoformat()}"
    )
    await raise_alert(
        conn,
        site=ctx.site,
        kind=AlertKind.TRANSFER_LATE,
        subject=t.id,
        message=(
            f"transfer {t.id} from {t.from_site} is late: expected at"
            f" {t.expected_at.isoformat()}, {what}"
        ),
        at=at,
        detail={
            "transfer": t.id,
            "from_site": t.from_site,
            "expected_at": t.expected_at.isoformat(),
            "pallets": pallets,
            "came": came,
        },
        cause=("transfer", t.id),
    )
