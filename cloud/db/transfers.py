"""Transfers between sites on PostgreSQL: the request, the pallets leaving the source's
door, their arrival at the destination, the late check. The decisions are
:mod:`cloud.warehouse.transfers` (pure); this module reads what they need, posts their
operations through the goods ledger (:func:`cloud.db.stock.post`) and writes the
transfer, each in the caller's transaction.

- :func:`create_transfer`: the transfer and its order at the source (an order of the
  internal customer ``site:<destination>``, made by :func:`cloud.db.orders.create_order`,
  which reserves FEFO and makes the pick list), in one transaction;
- :func:`pallet_dispatched` and :func:`follow_order`: called by the door check
  (:func:`cloud.db.order_flow.door_passage`) when a pallet of a transfer's order passes
  its door: the pallet is on the road; once the order is ``shipped`` the transfer is
  ``in_transit`` with its expected arrival (``transfer.shipped``);
- :func:`on_the_road` and :func:`book_arrival`: the destination's inbound passage of
  such a pallet (:mod:`cloud.operations.transfers_feed`);
- :func:`overdue` and :func:`mark_late`: the late check;
- :func:`mark_cancelled`: its order at the source was cancelled, the transfer is
  closed (called by :func:`cloud.db.order_status.cancel_order`; the request:
  :mod:`cloud.db.transfer_cancel`).

Every change of a transfer (made, a pallet left or came, a status reached, found late)
also notifies :data:`CHANNEL` (``{"transfer": id}``) when its transaction commits, for
the live feeds (:mod:`cloud.live.transfer_feed`).

Concurrency: a step locks the transfer's row (``FOR UPDATE``) before it changes it;
the ledger locks the positions it posts to.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cloud.db import goods, stock, webhooks
from cloud.db.orders import Conn, Floor, NewLine, NewOrder, create_order
from cloud.warehouse.ledger import Cause, Operation, Position
from cloud.warehouse.transfers import (
    OnTheRoad,
    Outcome,
    PalletArrival,
    TransferError,
    TransferLine,
    TransferStatus,
    case_item,
    expected_arrival,
    internal_customer,
    outcomes,
    status_of,
)
from cloud.warehouse.webhooks import EventType, transfer_event

log = logging.getLogger(__name__)

CHANNEL = "rfidwms_transfers"
"""The PostgreSQL channel told of every transfer's change (``{"transfer": id}``)."""


async def notify(conn: Conn, transfer_id: str) -> None:
    """Tell the live feeds of a change of ``transfer_id`` when this transaction commits."""
    await conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, json.dumps({"transfer": transfer_id})])


class TransferNotFound(TransferError):
    """No such transfer."""


# -- rows ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferRow:
    id: str
    seq: int
    from_site: str
    to_site: str
    order_id: str
    status: str
    transit_min: float
    requested_by: str
    created_at: datetime
    updated_at: datetime
    shipped_at: datetime | None
    expected_at: datetime | None
    received_at: datetime | None
    late_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: str | None


_TRANSFER = (
    "id, seq, from_site, to_site, order_id, status, transit_min, requested_by, created_at,"
    " updated_at, shipped_at, expected_at, received_at, late_at, cancelled_at, cancelled_by"
)


@dataclass(frozen=True, slots=True)
class LineCounts:
    line: int
    sku: str
    qty: int
    allocated: int
    picked: int
    shipped: int
    """Cases that left the source's door (in transit or arrived since)."""
    received: int
    """Cases arrived at the destination."""
    missing: int
    """Cases that left on a pallet that came without them (still in transit in the books)."""


@dataclass(frozen=True, slots=True)
class PalletRow:
    sscc: str
    epc: str | None
    cases: int
    door: str
    dispatched_at: datetime
    arrived_at: datetime | None
    arrival_door: str | None
    arrival_cause: str | None
    received: int
    missing_epcs: list[str]
    extra_epcs: list[str]


_PALLET = (
    "sscc, epc, cases, door, dispatched_at, arrived_at, arrival_door, arrival_cause, received,"
    " missing_epcs, extra_epcs"
)


@dataclass(frozen=True, slots=True)
class TransferDetail:
    transfer: TransferRow
    order_status: str
    lines: list[LineCounts]
    pallets: list[PalletRow] = field(default_factory=list)

    @property
    def outcomes(self) -> list[Outcome]:
        return outcomes(
            missing=sum(len(p.missing_epcs) for p in self.pallets),
            extra=sum(len(p.extra_epcs) for p in self.pallets),
            late=self.transfer.late_at is not None,
        )

    def summary(self) -> dict[str, Any]:
        """The transfer without its pallets, as ``GET /api/transfers`` lists it and the
        live feed sends it (JSON-ready but for datetimes)."""
        t = self.transfer
        return {
            "id": t.id,
            "status": TransferStatus(t.status),
            "outcomes": self.outcomes,
            "from_site": t.from_site,
            "to_site": t.to_site,
            "order_id": t.order_id,
            "order_status": self.order_status,
            "transit_min": t.transit_min,
            "requested_by": t.requested_by,
            "created_at": t.created_at,
            "updated_at": t.updated_at,
            "shipped_at": t.shipped_at,
            "expected_at": t.expected_at,
            "received_at": t.received_at,
            "late_at": t.late_at,
            "cancelled_at": t.cancelled_at,
            "cancelled_by": t.cancelled_by,
            "lines": [
                {
                    "line": x.line,
                    "sku": x.sku,
                    "qty": x.qty,
                    "allocated": x.allocated,
                    "picked": x.picked,
                    "shipped": x.shipped,
                    "received": x.received,
                    "missing": x.missing,
                }
                for x in self.lines
            ],
        }


@dataclass(frozen=True, slots=True)
class TransferRef:
    id: str
    from_site: str
    to_site: str


# -- creating --------------------------------------------------------------------------


async def create_transfer(
    conn: Conn,
    *,
    from_site: str,
    to_site: str,
    floor: Floor,
    lines: Sequence[TransferLine],
    transit: timedelta,
    by: str,
    now: datetime,
) -> TransferDetail:
    """The transfer and its order at ``from_site`` (reserved FEFO, its pick list made),
    in one transaction; :class:`cloud.db.orders.UnknownItems` for skus not in the item
    master."""
    async with conn.transaction():
        cur = await conn.execute("SELECT nextval('transfer_numbers')")
        row = await cur.fetchone()
        assert row is not None
        seq = int(row[0])
        transfer_id = f"TR-{seq:06d}"
        new = NewOrder(
            internal_customer(to_site),
            tuple(NewLine(x.sku, x.qty) for x in lines),
            client_id=transfer_id,
        )
        made = await create_order(conn, site=from_site, floor=floor, new=new, now=now)
        await conn.execute(
            "INSERT INTO transfers (id, seq, from_site, to_site, order_id, status,"
            " transit_min, requested_by, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, 'open', %s, %s, %s, %s)",
            [
                transfer_id,
                seq,
                from_site,
                to_site,
                made.detail.order.id,
                transit.total_seconds() / 60,
                by,
                now,
                now,
            ],
        )
        await notify(conn, transfer_id)
    found = await get_transfer(conn, transfer_id)
    assert found is not None
    return found


# -- reading ---------------------------------------------------------------------------


async def get_transfer(conn: Conn, transfer_id: str) -> TransferDetail | None:
    cur = await conn.execute(f"SELECT {_TRANSFER} FROM transfers WHERE id = %s", [transfer_id])
    row = await cur.fetchone()
    if row is None:
        return None
    return (await _details(conn, [TransferRow(*row)]))[0]


async def list_transfers(
    conn: Conn,
    *,
    sites: Sequence[str] | None,
    status: str | None,
    before: int | None,
    limit: int,
) -> list[TransferDetail]:
    """Transfers from or to any of ``sites`` (None: every transfer), newest first,
    keyset paged by ``before`` (the number of the last of the previous page)."""
    cur = await conn.execute(
        f"SELECT {_TRANSFER} FROM transfers WHERE (%s::text[] IS NULL"
        " OR from_site = ANY(%s::text[]) OR to_site = ANY(%s::text[]))"
        " AND (%s::text IS NULL OR status = %s) AND (%s::bigint IS NULL OR seq < %s)"
        " ORDER BY seq DESC LIMIT %s",
        [*([None if sites is None else list(sites)] * 3), status, status, before, before, limit],
    )
    rows = [TransferRow(*r) for r in await cur.fetchall()]
    return await _details(conn, rows) if rows else []


async def _details(conn: Conn, rows: list[TransferRow]) -> list[TransferDetail]:
    """Each transfer with its order's status, its lines and its pallets (which its
    outcomes, short and over, are counted from)."""
    ids = [t.id for t in rows]
    orders = [t.order_id for t in rows]
    cur = await conn.execute("SELECT id, status FROM orders WHERE id = ANY(%s::text[])", [orders])
    order_status = {r[0]: r[1] for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT order_id, line, sku, qty, allocated, picked, shipped FROM order_lines"
        " WHERE order_id = ANY(%s::text[]) ORDER BY order_id, line",
        [orders],
    )
    lines: dict[str, list[tuple[Any, ...]]] = {}
    for r in await cur.fetchall():
        lines.setdefault(r[0], []).append(tuple(r[1:]))
    cur = await conn.execute(
        "SELECT transfer_id, sku, sum(qty)::int FROM transfer_receipts"
        " WHERE transfer_id = ANY(%s::text[]) GROUP BY transfer_id, sku",
        [ids],
    )
    received = {(r[0], r[1]): int(r[2]) for r in await cur.fetchall()}
    cur = await conn.execute(
        f"SELECT transfer_id, {_PALLET} FROM transfer_pallets"
        " WHERE transfer_id = ANY(%s::text[]) ORDER BY transfer_id, dispatched_at, sscc",
        [ids],
    )
    by_transfer: dict[str, list[PalletRow]] = {}
    for r in await cur.fetchall():
        by_transfer.setdefault(r[0], []).append(PalletRow(*r[1:]))
    out = []
    for t in rows:
        missing: dict[str, int] = {}
        for p in by_transfer.get(t.id, []):
            for epc in p.missing_epcs:
                item = case_item(epc)
                if item is not None:
                    missing[item] = missing.get(item, 0) + 1
        counts = [
            LineCounts(
                line, sku, qty, allocated, picked, shipped,
                received.get((t.id, sku), 0), missing.get(sku, 0),
            )
            for line, sku, qty, allocated, picked, shipped in lines.get(t.order_id, [])
        ]  # fmt: skip
        out.append(
            TransferDetail(
                t,
                order_status.get(t.order_id, "received"),
                counts,
                by_transfer.get(t.id, []),
            )
        )
    return out


async def transfers(conn: Conn, transfer_ids: Sequence[str]) -> list[TransferDetail]:
    """The transfers ``transfer_ids`` as they stand (unknown ids left out), least
    recently changed first."""
    cur = await conn.execute(
        f"SELECT {_TRANSFER} FROM transfers WHERE id = ANY(%s::text[]) ORDER BY updated_at, seq",
        [list(transfer_ids)],
    )
    rows = [TransferRow(*r) for r in await cur.fetchall()]
    return await _details(conn, rows) if rows else []


async def transfers_of_orders(conn: Conn, order_ids: Sequence[str]) -> list[str]:
    """The transfers whose orders (at their source) are among ``order_ids``."""
    cur = await conn.execute(
        "SELECT id FROM transfers WHERE order_id = ANY(%s::text[]) ORDER BY seq",
        [list(order_ids)],
    )
    return [str(r[0]) for r in await cur.fetchall()]


async def changed_since(conn: Conn, since: datetime | None) -> tuple[list[str], datetime | None]:
    """The transfers changed at or after ``since`` (their ``updated_at``; None: none,
    only the newest change's time), least recently changed first, and the newest
    change's time. At ``since`` too: two changes may share a time, and a change sent
    twice does no harm to a page."""
    cur = await conn.execute("SELECT max(updated_at) FROM transfers")
    row = await cur.fetchone()
    newest: datetime | None = row[0] if row else None
    if since is None:
        return [], newest
    cur = await conn.execute(
        "SELECT id FROM transfers WHERE updated_at >= %s ORDER BY updated_at, seq", [since]
    )
    return [str(r[0]) for r in await cur.fetchall()], newest


async def of_order(conn: Conn, order_id: str) -> TransferRef | None:
    """The transfer whose order ``order_id`` is; None for a customer's order."""
    cur = await conn.execute(
        "SELECT id, from_site, to_site FROM transfers WHERE order_id = %s", [order_id]
    )
    row = await cur.fetchone()
    return TransferRef(*row) if row else None


async def get_row(conn: Conn, transfer_id: str) -> TransferRow:
    """The transfer's row (not locked); :class:`TransferNotFound`."""
    cur = await conn.execute(f"SELECT {_TRANSFER} FROM transfers WHERE id = %s", [transfer_id])
    row = await cur.fetchone()
    if row is None:
        raise TransferNotFound(f"transfer: {transfer_id!r} does not exist")
    return TransferRow(*row)


async def lock(conn: Conn, transfer_id: str) -> TransferRow:
    """The transfer's row, locked (``FOR UPDATE``) for the caller's transaction."""
    return await _lock(conn, transfer_id)


async def _lock(conn: Conn, transfer_id: str) -> TransferRow:
    cur = await conn.execute(
        f"SELECT {_TRANSFER} FROM transfers WHERE id = %s FOR UPDATE", [transfer_id]
    )
    row = await cur.fetchone()
    if row is None:
        raise TransferNotFound(f"transfer: {transfer_id!r} does not exist")
    return TransferRow(*row)


# -- leaving the source ----------------------------------------------------------------


async def pallet_dispatched(
    conn: Conn,
    ref: TransferRef,
    *,
    sscc: str,
    door: str,
    operations: Sequence[Operation],
    time: datetime,
    cause: Cause,
) -> None:
    """A pallet of the transfer left the source through ``door`` (its ``dispatch``
    operations posted): it is on the road, with the case EPCs on it when the source
    knows exactly as many as left (else they are not known: all of it arrives)."""
    await _lock(conn, ref.id)
    cases = sum(op.lines[1].qty for op in operations)
    pallet = await goods.pallet_with_cases(conn, ref.from_site, sscc)
    epcs = sorted(c.epc for c in pallet.cases) if pallet is not None else []
    if len(epcs) != cases:
        epcs = []
    await conn.execute(
        "INSERT INTO transfer_pallets (transfer_id, sscc, epc, cases, case_epcs, door,"
        " dispatched_at, dispatch_cause) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (transfer_id, sscc) DO UPDATE SET cases = transfer_pallets.cases"
        " + excluded.cases",
        [
            ref.id,
            sscc,
            pallet.epc if pallet is not None else None,
            cases,
            epcs,
            door,
            time,
            f"{cause.kind.value}:{cause.ref}",
        ],
    )
    await notify(conn, ref.id)


async def follow_order(conn: Conn, ref: TransferRef, *, time: datetime, now: datetime) -> None:
    """Once the transfer's order has shipped (every pallet left the source's door) the
    transfer is ``in_transit``, expected at the shipping time plus its transit time;
    ``transfer.shipped`` tells of it."""
    await _settle(conn, await _lock(conn, ref.id), time=time, now=now)


async def _settle(conn: Conn, t: TransferRow, *, time: datetime, now: datetime) -> TransferStatus:
    """Take the (locked) transfer to the status its order and pallets have reached,
    telling each step: ``transfer.shipped`` (with the expected arrival) and
    ``transfer.delivered``."""
    cur = await conn.execute("SELECT status FROM orders WHERE id = %s", [t.order_id])
    row = await cur.fetchone()
    dispatched, arrived = await _pallet_counts(conn, t.id)
    status = status_of(
        order_shipped=row is not None and row[0] == "shipped",
        dispatched=dispatched,
        arrived=arrived,
    )
    await notify(conn, t.id)
    if status.value == t.status:
        await conn.execute("UPDATE transfers SET updated_at = %s WHERE id = %s", [now, t.id])
        return status
    expected = t.expected_at
    if t.status == TransferStatus.OPEN.value:  # the order shipped now
        expected = expected_arrival(time, timedelta(minutes=t.transit_min))
        await conn.execute(
            "UPDATE transfers SET status = 'in_transit', shipped_at = %s, expected_at = %s,"
            " updated_at = %s WHERE id = %s",
            [time, expected, now, t.id],
        )
        await _publish(
            conn,
            t,
            EventType.TRANSFER_SHIPPED,
            site=t.from_site,
            time=time,
            now=now,
            data={"shipped_at": time.isoformat(), "expected_at": expected.isoformat()},
        )
    if status is TransferStatus.RECEIVED:
        await conn.execute(
            "UPDATE transfers SET status = 'received', received_at = %s, updated_at = %s"
            " WHERE id = %s",
            [time, now, t.id],
        )
        await _publish(
            conn,
            t,
            EventType.TRANSFER_DELIVERED,
            site=t.to_site,
            time=time,
            now=now,
            data={"received_at": time.isoformat(), "expected_at": _iso(expected)},
        )
    return status


async def mark_cancelled(
    conn: Conn, ref: TransferRef, *, at: datetime, by: str | None, now: datetime
) -> bool:
    """Its order at the source was cancelled (nothing of it had left): the transfer is
    ``cancelled`` at ``at``. False when it was not ``open`` (left alone)."""
    cur = await conn.execute(
        "UPDATE transfers SET status = 'cancelled', cancelled_at = %s, cancelled_by = %s,"
        " updated_at = %s WHERE id = %s AND status = 'open' RETURNING id",
        [at, by or "api", now, ref.id],
    )
    done = await cur.fetchone() is not None
    if done:
        log.info("transfer %s from %s to %s cancelled by %s", ref.id, ref.from_site,
                 ref.to_site, by or "api")  # fmt: skip
        await notify(conn, ref.id)
        event = transfer_event(
            EventType.TRANSFER_CANCELLED,
            transfer_id=ref.id,
            from_site=ref.from_site,
            to_site=ref.to_site,
            site=ref.from_site,
            time=at,
            data={"cancelled_at": at.isoformat(), "cancelled_by": by or "api"},
        )
        await webhooks.publish(conn, event, now=now)
    return done


async def pallet_counts(conn: Conn, transfer_id: str) -> tuple[int, int]:
    """Its pallets that left the source's door, and of those the ones that came."""
    return await _pallet_counts(conn, transfer_id)


async def _pallet_counts(conn: Conn, transfer_id: str) -> tuple[int, int]:
    cur = await conn.execute(
        "SELECT count(*), count(arrived_at) FROM transfer_pallets WHERE transfer_id = %s",
        [transfer_id],
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def _publish(
    conn: Conn,
    t: TransferRow,
    kind: EventType,
    *,
    site: str,
    time: datetime,
    now: datetime,
    data: dict[str, Any],
) -> None:
    event = transfer_event(
        kind,
        transfer_id=t.id,
        from_site=t.from_site,
        to_site=t.to_site,
        site=site,
        time=time,
        data=data,
    )
    await webhooks.publish(conn, event, now=now)


# -- arriving at the destination -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Awaited:
    transfer: TransferRow
    road: OnTheRoad
    epc: str | None


async def on_the_road(conn: Conn, site: str, sscc: str) -> Awaited | None:
    """The transfer to ``site`` whose pallet ``sscc`` left its source and has not come
    yet (its transfer locked), with what the books hold on it in transit at ``site``;
    None when no transfer waits for it here."""
    cur = await conn.execute(
        "SELECT p.transfer_id FROM transfer_pallets p JOIN transfers t ON t.id = p.transfer_id"
        " WHERE p.sscc = %s AND p.arrived_at IS NULL AND t.to_site = %s"
        " ORDER BY p.dispatched_at DESC LIMIT 1",
        [sscc, site],
    )
    row = await cur.fetchone()
    if row is None:
        return None
    t = await _lock(conn, row[0])
    cur = await conn.execute(
        "SELECT case_epcs, epc FROM transfer_pallets WHERE transfer_id = %s AND sscc = %s",
        [t.id, sscc],
    )
    found = await cur.fetchone()
    assert found is not None
    held = await stock.pallet_positions(conn, site, sscc)
    positions: dict[Position, int] = {
        r.position: r.qty for r in held if r.bucket.state.value == "in_transit"
    }
    return Awaited(t, OnTheRoad(t.id, sscc, positions, frozenset(found[0])), found[1])


@dataclass(frozen=True, slots=True)
class Booked:
    transfer: str
    status: TransferStatus
    postings: list[int]


async def book_arrival(
    conn: Conn,
    awaited: Awaited,
    arrival: PalletArrival,
    *,
    door: str,
    epc: str,
    heard: Sequence[str],
    time: datetime,
    cause: Cause,
    now: datetime,
) -> Booked:
    """Post the arrival's ``arrive`` operations, make the pallet a received pallet of
    the destination (its row, the cases heard with it), record what came, and once
    every pallet that left has come, the transfer is ``received`` (``transfer.delivered``)."""
    t = awaited.transfer
    sscc = awaited.road.sscc
    postings = []
    for op in arrival.operations:
        posting = await stock.post(conn, op, recorded_at=now)
        postings.append(posting)
        b = op.lines[1].position.bucket
        await conn.execute(
            "INSERT INTO transfer_receipts (transfer_id, sscc, sku, lot, qty, posting)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [t.id, sscc, b.item, b.lot, op.lines[1].qty, posting],
        )
    source = await goods.pallet(conn, t.from_site, sscc)
    await conn.execute(
        "INSERT INTO pallets (site, sscc, epc, sku, lot, expiry, status, received_at,"
        " received_door, received_cause, received_cases, over_cases, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, 'received', %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (site, sscc) DO UPDATE SET status = 'received', epc = excluded.epc,"
        " received_at = excluded.received_at, received_door = excluded.received_door,"
        " received_cause = excluded.received_cause, received_cases = excluded.received_cases,"
        " over_cases = excluded.over_cases, updated_at = excluded.updated_at",
        [
            t.to_site,
            sscc,
            epc,
            source.sku if source else None,
            source.lot if source else None,
            source.expiry if source else None,
            time,
            door,
            f"{cause.kind.value}:{cause.ref}",
            arrival.received,
            len(arrival.extra),
            now,
            now,
        ],
    )
    await goods.record_heard_cases(
        conn, t.to_site, sscc, [c for c in heard if c not in arrival.extra], at=time
    )
    await conn.execute(
        "UPDATE transfer_pallets SET arrived_at = %s, arrival_door = %s, arrival_cause = %s,"
        " received = %s, missing_epcs = %s, extra_epcs = %s WHERE transfer_id = %s AND sscc = %s",
        [
            time,
            door,
            f"{cause.kind.value}:{cause.ref}",
            arrival.received,
            list(arrival.missing),
            list(arrival.extra),
            t.id,
            sscc,
        ],
    )
    status = await _settle(conn, t, time=time, now=now)
    return Booked(t.id, status, postings)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


# -- late ------------------------------------------------------------------------------


async def overdue(conn: Conn, site: str, *, before: datetime) -> list[TransferRow]:
    """Transfers to ``site`` on the road, expected before ``before`` and not found late
    yet, locked (FOR UPDATE SKIP LOCKED) so that one checker takes each."""
    cur = await conn.execute(
        f"SELECT {_TRANSFER} FROM transfers WHERE to_site = %s AND status = 'in_transit'"
        " AND late_at IS NULL AND expected_at < %s ORDER BY expected_at, id"
        " FOR UPDATE SKIP LOCKED",
        [site, before],
    )
    return [TransferRow(*r) for r in await cur.fetchall()]


async def pallets_not_come(conn: Conn, transfer_id: str) -> list[str]:
    cur = await conn.execute(
        "SELECT sscc FROM transfer_pallets WHERE transfer_id = %s AND arrived_at IS NULL"
        " ORDER BY sscc",
        [transfer_id],
    )
    return [str(r[0]) for r in await cur.fetchall()]


async def mark_late(
    conn: Conn, t: TransferRow, *, at: datetime, now: datetime, pallets: Sequence[str]
) -> bool:
    """The transfer is late at ``at`` (once): ``late_at`` set, ``transfer.delayed`` told.
    False when it was found late before."""
    cur = await conn.execute(
        "UPDATE transfers SET late_at = %s, updated_at = %s WHERE id = %s AND late_at IS NULL"
        " RETURNING id",
        [at, now, t.id],
    )
    if await cur.fetchone() is None:
        return False
    await notify(conn, t.id)
    await _publish(
        conn,
        t,
        EventType.TRANSFER_DELAYED,
        site=t.to_site,
        time=at,
        now=now,
        data={"reason": "late", "expected_at": _iso(t.expected_at), "pallets": list(pallets)},
    )
    return True
