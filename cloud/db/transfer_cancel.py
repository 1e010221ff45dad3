"""Cancelling a transfer on PostgreSQL: the decision is
:func:`cloud.warehouse.transfers.cancel_plan` (pure); the work is its order's cancel at
the source (:func:`cloud.db.order_status.cancel_order`: reservations given back through
the ledger, open tasks cancelled, pallets off their shelves sent back to storage on
put-away tasks), which closes the transfer (:func:`cloud.db.transfers.mark_cancelled`).

Locks in the order the door check takes them (the order, then the transfer), so a
cancel and a pallet leaving the door at once never deadlock: whichever comes second
sees what the first did.
"""

from __future__ import annotations

from datetime import datetime

from cloud.db import order_status
from cloud.db import transfers as db
from cloud.db.orders import Conn, Floor, lock_order
from cloud.warehouse.transfers import TransferStatus, cancel_plan


async def cancel_transfer(
    conn: Conn,
    transfer_id: str,
    *,
    floor: Floor,
    now: datetime,
    by: str | None,
    note: str | None,
) -> db.TransferDetail:
    """Cancel transfer ``transfer_id`` (``floor``: its source's), in one transaction;
    :class:`cloud.db.transfers.TransferNotFound`, or
    :class:`cloud.warehouse.transfers.TransferConflict` when something of it left."""
    async with conn.transaction():
        row = await db.get_row(conn, transfer_id)
        order = await lock_order(conn, row.order_id)
        t = await db.lock(conn, transfer_id)
        dispatched, _ = await db.pallet_counts(conn, transfer_id)
        plan = cancel_plan(t.id, TransferStatus(t.status), order.status, dispatched)
        if plan.cancel_order:  # its cancel closes the transfer
            await order_status.cancel_order(
                conn, t.order_id, floor=floor, now=now, by=by, note=note
            )
        else:
            ref = db.TransferRef(t.id, t.from_site, t.to_site)
            await db.mark_cancelled(conn, ref, at=now, by=by, now=now)
    found = await db.get_transfer(conn, transfer_id)
    assert found is not None
    return found
