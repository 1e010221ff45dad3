"""Returned goods at the door: the warehouse feed's handler for returns (RMA).

An **inbound passage** of a pallet an order shipped, or of a lone case of one, whose
order has an open return: what the return takes back of it
(:func:`cloud.warehouse.returns.receive_arrival`) is received into **quarantine** at
the door, cause the return (:func:`cloud.db.returns.book_arrival`); the order's
timeline says ``return_received``. The pallet is on site again: its zone arrivals move
its quarantined stock like any other's, and its put-away task is made by the orders'
handler, which runs after this one. A shipped pallet that no open return waits for
changes nothing (as before returns existed).

Registered after the inbound handlers (:mod:`cloud.operations.inbound`), which leave a
shipped pallet alone.
"""

from __future__ import annotations

from cloud.db import returns as db
from cloud.db.events import PassageRow
from cloud.operations.feed import Conn, FeedContext, Registry
from cloud.operations.inbound import CASE_HEADER, pallet_sscc
from cloud.warehouse.returns import Arrival, receive_arrival


def register(registry: Registry) -> None:
    """Add the returns' handler to ``registry`` (after inbound, before the orders')."""
    registry.on_inbound_passage(on_inbound_passage)


async def on_inbound_passage(conn: Conn, ctx: FeedContext, ev: PassageRow) -> None:
    if ev.epc.startswith(CASE_HEADER):
        sscc = None
        open_returns = await db.open_returns_of(conn, ctx.site, case=ev.epc)
        cases = frozenset({ev.epc})
    else:
        sscc = pallet_sscc(ev.epc)
        if sscc is None:
            return
        open_returns = await db.open_returns_of(conn, ctx.site, pallet=sscc)
        cases = frozenset(ev.cases)
    if not open_returns:
        return
    arrival = Arrival(f"passage:{ev.id}", ctx.site, ev.door, ev.time, sscc, cases)
    receipts = receive_arrival(open_returns, arrival)
    if receipts:
        await db.book_arrival(conn, receipts, arrival, now=ctx.now())
