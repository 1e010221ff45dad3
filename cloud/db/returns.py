"""Returns (RMA) on PostgreSQL: the request, the goods coming back through a door, the
inspection. The decisions are :mod:`cloud.warehouse.returns` (pure); this module reads
what they need, posts their operations through the goods ledger
(:func:`cloud.db.stock.post`) and writes the return and the order's timeline, each in
the caller's transaction.

Concurrency: a request locks its order (two requests of one order are one after the
other, so neither asks back cases the other asked); an arrival and an inspection lock
the returns they change (``FOR UPDATE``, in id order), and the ledger locks the
positions it posts to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cloud.db import stock
from cloud.db.orders import Conn, OrderNotFound, lock_order, record
from cloud.warehouse.ledger import Cause, CauseKind, Position, StockState
from cloud.warehouse.orders import OrderStatus, TimelineEntry
from cloud.warehouse.returns import (
    OPEN_STATUSES,
    TIMELINE_EVENTS,
    Arrival,
    Decision,
    Inspected,
    LineCounts,
    OpenReturn,
    Received,
    RequestLine,
    ReturnError,
    ReturnReceipt,
    ShippedLot,
    ShippedPallet,
    Verdict,
    inspection_operations,
    plan_inspection,
    plan_return,
    return_status,
)
from protocols.epc import EPCError, Sgtin96, decode_hex

log = logging.getLogger(__name__)


class ReturnNotFound(ReturnError):
    """No such return, or no such order (for this caller)."""


# -- rows ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReturnRow:
    id: str
    seq: int
    site: str
    order_id: str
    customer: str
    status: str
    reason: str | None
    by_epc: bool
    requested_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ReturnLineRow:
    line: int
    sku: str
    qty: int
    received: int
    restocked: int
    written_off: int


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    id: int
    sku: str
    lot: str
    pallet: str | None
    qty: int
    restocked: int
    written_off: int
    door: str
    time: datetime
    cause: str


@dataclass(frozen=True, slots=True)
class CaseRow:
    epc: str
    sku: str
    listed: bool
    receipt_id: int | None
    decision: str | None
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReturnDetail:
    ret: ReturnRow
    lines: list[ReturnLineRow]
    receipts: list[ReceiptRow] = field(default_factory=list)
    cases: list[CaseRow] = field(default_factory=list)


_RETURN = (
    "id, seq, site, order_id, customer, status, reason, by_epc, requested_by, created_at,"
    " updated_at"
)


def _return(row: Sequence[Any]) -> ReturnRow:
    return ReturnRow(*row[:11])


# -- what an order shipped -------------------------------------------------------------


def case_item(epc: str) -> str | None:
    """The GTIN-14 of a case's SGTIN-96 EPC (hex); None for anything else."""
    try:
        decoded = decode_hex(epc)
    except EPCError:
        return None
    return decoded.gtin if isinstance(decoded, Sgtin96) else None


async def shipped_pallets(conn: Conn, order_id: str) -> list[ShippedPallet]:
    """The pallets ``order_id`` shipped: items and lots per pallet, and their case EPCs
    (announced by the notice or heard with the pallet) of the items it shipped."""
    cur = await conn.execute(
        "SELECT r.site, r.pallet, r.sku, r.lot, sum(r.shipped)::int FROM reservations r"
        " WHERE r.order_id = %s AND r.shipped > 0 AND r.pallet IS NOT NULL"
        " GROUP BY r.site, r.pallet, r.sku, r.lot ORDER BY r.pallet, r.sku, r.lot",
        [order_id],
    )
    lots: dict[tuple[str, str], list[ShippedLot]] = {}
    for site, pallet, sku, lot, qty in await cur.fetchall():
        lots.setdefault((site, pallet), []).append(ShippedLot(sku, lot, int(qty)))
    if not lots:
        return []
    keys = list(lots)
    cur = await conn.execute(
        "SELECT c.pallet, c.epc FROM pallet_cases c"
        " JOIN unnest(%s::text[], %s::text[]) AS k(site, sscc)"
        " ON c.site = k.site AND c.pallet = k.sscc ORDER BY c.epc",
        [[k[0] for k in keys], [k[1] for k in keys]],
    )
    cases: dict[str, dict[str, str]] = {}
    for pallet, epc in await cur.fetchall():
        sku = case_item(epc)
        if sku is not None:
            cases.setdefault(pallet, {})[epc] = sku
    out = []
    for (_, sscc), ls in lots.items():
        items = {x.sku for x in ls}
        mine = {e: s for e, s in cases.get(sscc, {}).items() if s in items}
        out.append(ShippedPallet(sscc, tuple(ls), mine))
    return out


# -- requesting ------------------------------------------------------------------------


async def create_return(
    conn: Conn,
    *,
    order_id: str,
    customer: str | None,
    lines: Sequence[RequestLine] | None,
    epcs: Sequence[str] | None,
    reason: str | None,
    by: str,
    now: datetime,
) -> ReturnDetail:
    """A new return of ``order_id`` (visible to ``customer``, None: any), checked against
    what it shipped (:func:`cloud.warehouse.returns.plan_return`); its timeline says
    ``return_requested``. :class:`ReturnNotFound`, :class:`ReturnError`."""
    async with conn.transaction():
        try:
            order = await lock_order(conn, order_id)
        except OrderNotFound:
            order = None
        if order is None or (customer is not None and order.customer != customer):
            raise ReturnNotFound(f"order: {order_id!r} does not exist")
        shipped = await shipped_pallets(conn, order_id)
        cur = await conn.execute(
            "SELECT l.sku, sum(l.qty)::int FROM return_lines l JOIN returns r ON r.id = l.return_id"
            " WHERE r.order_id = %s GROUP BY l.sku",
            [order_id],
        )
        before = {r[0]: int(r[1]) for r in await cur.fetchall()}
        cur = await conn.execute(
            "SELECT c.epc FROM return_cases c JOIN returns r ON r.id = c.return_id"
            " WHERE r.order_id = %s AND c.listed",
            [order_id],
        )
        epcs_before = frozenset(r[0] for r in await cur.fetchall())
        plan = plan_return(
            order=order_id,
            shipped=shipped,
            lines=lines,
            epcs=epcs,
            requested_before=before,
            epcs_before=epcs_before,
        )
        cur = await conn.execute("SELECT nextval('return_numbers')")
        row = await cur.fetchone()
        assert row is not None
        seq = int(row[0])
        rid = f"RMA-{seq:06d}"
        await conn.execute(
            f"INSERT INTO returns ({_RETURN}) VALUES"
            " (%s, %s, %s, %s, %s, 'requested', %s, %s, %s, %s, %s)",
            [
                rid,
                seq,
                order.site,
                order_id,
                order.customer,
                reason,
                epcs is not None,
                by,
                now,
                now,
            ],
        )
        for i, line in enumerate(plan.lines, start=1):
            await conn.execute(
                "INSERT INTO return_lines (return_id, line, sku, qty) VALUES (%s, %s, %s, %s)",
                [rid, i, line.sku, line.qty],
            )
        for epc, sku in sorted(plan.epcs.items()):
            await conn.execute(
                "INSERT INTO return_cases (return_id, epc, sku, listed) VALUES (%s, %s, %s, true)",
                [rid, epc, sku],
            )
        detail: dict[str, Any] = {
            "return": rid,
            "lines": [{"sku": x.sku, "qty": x.qty} for x in plan.lines],
        }
        if reason:
            detail["reason"] = reason
        await _timeline(conn, order.site, order_id, "requested", rid, now, now, detail)
    found = await get_return(conn, rid)
    assert found is not None
    return found


async def _timeline(
    conn: Conn,
    site: str,
    order_id: str,
    step: str,
    return_id: str,
    time: datetime,
    now: datetime,
    detail: Mapping[str, Any],
) -> None:
    cur = await conn.execute("SELECT status FROM orders WHERE id = %s", [order_id])
    row = await cur.fetchone()
    assert row is not None
    entry = TimelineEntry(
        time,
        OrderStatus(row[0]),
        TIMELINE_EVENTS[step],
        Cause(CauseKind.RETURN, return_id),
        detail,
    )
    await record(conn, site, order_id, [entry], now)


# -- reading ---------------------------------------------------------------------------


async def get_return(
    conn: Conn, return_id: str, *, customer: str | None = None
) -> ReturnDetail | None:
    """A return with its lines, what came back, and its case EPCs; None when there is no
    such return (or it is another customer's)."""
    cur = await conn.execute(f"SELECT {_RETURN} FROM returns WHERE id = %s", [return_id])
    row = await cur.fetchone()
    if row is None:
        return None
    ret = _return(row)
    if customer is not None and ret.customer != customer:
        return None
    (detail,) = await _details(conn, [ret], full=True)
    return detail


async def _details(conn: Conn, rets: list[ReturnRow], *, full: bool) -> list[ReturnDetail]:
    ids = [r.id for r in rets]
    cur = await conn.execute(
        "SELECT return_id, line, sku, qty, received, restocked, written_off FROM return_lines"
        " WHERE return_id = ANY(%s) ORDER BY return_id, line",
        [ids],
    )
    lines: dict[str, list[ReturnLineRow]] = {}
    for r in await cur.fetchall():
        lines.setdefault(r[0], []).append(ReturnLineRow(*r[1:]))
    receipts: dict[str, list[ReceiptRow]] = {}
    cases: dict[str, list[CaseRow]] = {}
    if full:
        cur = await conn.execute(
            "SELECT return_id, id, sku, lot, pallet, qty, restocked, written_off, door, time,"
            " cause FROM return_receipts WHERE return_id = ANY(%s) ORDER BY id",
            [ids],
        )
        for r in await cur.fetchall():
            receipts.setdefault(r[0], []).append(ReceiptRow(*r[1:]))
        cur = await conn.execute(
            "SELECT return_id, epc, sku, listed, receipt_id, decision, decided_at"
            " FROM return_cases WHERE return_id = ANY(%s) ORDER BY epc",
            [ids],
        )
        for r in await cur.fetchall():
            cases.setdefault(r[0], []).append(CaseRow(*r[1:]))
    return [
        ReturnDetail(r, lines.get(r.id, []), receipts.get(r.id, []), cases.get(r.id, []))
        for r in rets
    ]


async def list_returns(
    conn: Conn,
    *,
    site: str | None,
    customer: str | None,
    order_id: str | None,
    status: str | None,
    before: int | None,
    limit: int,
) -> list[ReturnDetail]:
    """Returns, newest first (by number, below ``before``), with their lines."""
    parts = ["(%s::text IS NULL OR site = %s)"]
    params: list[Any] = [site, site]
    for column, value in (("customer", customer), ("order_id", order_id), ("status", status)):
        if value is not None:
            parts.append(f"{column} = %s")
            params.append(value)
    if before is not None:
        parts.append("seq < %s")
        params.append(before)
    cur = await conn.execute(
        f"SELECT {_RETURN} FROM returns WHERE {' AND '.join(parts)} ORDER BY seq DESC LIMIT %s",
        [*params, limit],
    )
    rets = [_return(r) for r in await cur.fetchall()]
    return await _details(conn, rets, full=False) if rets else []


# -- arrivals --------------------------------------------------------------------------


async def open_returns_of(
    conn: Conn, site: str, *, pallet: str | None = None, case: str | None = None
) -> list[OpenReturn]:
    """The open returns (locked, oldest first) of the orders that shipped ``pallet``
    (an SSCC), or the pallet of ``case`` (a case EPC)."""
    if case is not None:
        cur = await conn.execute(
            "SELECT pallet FROM pallet_cases WHERE site = %s AND epc = %s", [site, case]
        )
        row = await cur.fetchone()
        if row is None:
            return []
        pallet = str(row[0])
    if pallet is None:
        return []
    cur = await conn.execute(
        f"SELECT {_RETURN} FROM returns WHERE site = %s AND status = ANY(%s) AND order_id IN"
        " (SELECT order_id FROM reservations WHERE site = %s AND pallet = %s AND shipped > 0)"
        " ORDER BY id FOR UPDATE",
        [site, sorted(s.value for s in OPEN_STATUSES), site, pallet],
    )
    rets = sorted((_return(r) for r in await cur.fetchall()), key=lambda r: r.seq)
    out = []
    for ret, detail in zip(rets, await _details(conn, rets, full=True), strict=True):
        out.append(
            OpenReturn(
                id=ret.id,
                site=ret.site,
                remaining={x.sku: x.qty - x.received for x in detail.lines},
                listed=frozenset(c.epc for c in detail.cases if c.listed and c.receipt_id is None),
                came=frozenset(c.epc for c in detail.cases if c.receipt_id is not None),
                pallets_came=frozenset(r.pallet for r in detail.receipts if r.pallet),
                shipped=tuple(await shipped_pallets(conn, ret.order_id)),
            )
        )
    return out


async def book_arrival(
    conn: Conn, receipts: Iterable[ReturnReceipt], arrival: Arrival, *, now: datetime
) -> int:
    """Post what the returns take back of ``arrival`` (into quarantine at its door), and
    write it to the returns and their orders' timelines (``return_received``); the
    pallet it came on is on site again (``received``). The cases booked."""
    booked = 0
    per_return: dict[str, list[ReturnReceipt]] = {}
    for rec in receipts:
        per_return.setdefault(rec.return_id, []).append(rec)
    for rid, recs in per_return.items():
        for rec in recs:
            posting = await stock.post(conn, rec.operation(arrival), recorded_at=now)
            cur = await conn.execute(
                "INSERT INTO return_receipts (return_id, sku, lot, pallet, qty, door, time,"
                " cause, posting) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                [
                    rid,
                    rec.sku,
                    rec.lot,
                    rec.pallet,
                    rec.qty,
                    arrival.door,
                    arrival.time,
                    arrival.cause,
                    posting,
                ],
            )
            row = await cur.fetchone()
            assert row is not None
            for epc in sorted(rec.epcs):
                await conn.execute(
                    "INSERT INTO return_cases (return_id, epc, sku, listed, receipt_id)"
                    " VALUES (%s, %s, %s, false, %s) ON CONFLICT (return_id, epc)"
                    " DO UPDATE SET receipt_id = excluded.receipt_id",
                    [rid, epc, rec.sku, int(row[0])],
                )
            await conn.execute(
                "UPDATE return_lines SET received = received + %s"
                " WHERE return_id = %s AND sku = %s",
                [rec.qty, rid, rec.sku],
            )
            if rec.pallet is not None:
                await conn.execute(
                    "UPDATE pallets SET status = 'received', updated_at = %s"
                    " WHERE site = %s AND sscc = %s AND status = 'shipped'",
                    [now, arrival.site, rec.pallet],
                )
            booked += rec.qty
        ret = await _update_status(conn, rid, now)
        detail = {
            "return": rid,
            "door": arrival.door,
            "pallet": arrival.pallet,
            "cases": sum(r.qty for r in recs),
            "items": {r.sku: r.qty for r in recs},
            "arrival": arrival.cause,
        }
        await _timeline(conn, ret.site, ret.order_id, "received", rid, arrival.time, now, detail)
    return booked


async def _update_status(conn: Conn, return_id: str, now: datetime) -> ReturnRow:
    cur = await conn.execute(
        "SELECT qty, received, restocked, written_off FROM return_lines WHERE return_id = %s",
        [return_id],
    )
    status = return_status(LineCounts(*r) for r in await cur.fetchall())
    cur = await conn.execute(
        f"UPDATE returns SET status = %s, updated_at = %s WHERE id = %s RETURNING {_RETURN}",
        [status.value, now, return_id],
    )
    row = await cur.fetchone()
    assert row is not None
    return _return(row)


# -- inspection ------------------------------------------------------------------------


async def inspect(
    conn: Conn,
    return_id: str,
    *,
    customer: str | None,
    decisions: Sequence[Decision],
    by: str,
    time: datetime,
    now: datetime,
) -> ReturnDetail:
    """Decide on cases that came back: ``restock`` releases them to available where they
    are, ``write_off`` adjusts them out (:func:`cloud.warehouse.returns.plan_inspection`,
    :func:`~cloud.warehouse.returns.inspection_operations`); the timeline says
    ``return_restocked`` / ``return_written_off``. All or nothing."""
    async with conn.transaction():
        cur = await conn.execute(
            f"SELECT {_RETURN} FROM returns WHERE id = %s FOR UPDATE", [return_id]
        )
        row = await cur.fetchone()
        if row is None or (customer is not None and row[4] != customer):
            raise ReturnNotFound(f"return: {return_id!r} does not exist")
        ret = _return(row)
        (detail,) = await _details(conn, [ret], full=True)
        received = [
            Received(r.id, r.sku, r.lot, r.pallet, r.qty - r.restocked - r.written_off)
            for r in detail.receipts
        ]
        decided_receipts = {r.id for r in detail.receipts if r.restocked + r.written_off >= r.qty}
        cases = {
            c.epc: (c.receipt_id, c.decision is not None or c.receipt_id in decided_receipts)
            for c in detail.cases
            if c.receipt_id is not None
        }
        inspected = plan_inspection(return_id, received, cases, decisions)
        quarantined: dict[tuple[str, str, str | None], list[tuple[Position, int]]] = {}
        for key in {(x.sku, x.lot, x.pallet) for x in inspected}:
            sku, lot, pallet = key
            rows = await stock.positions(
                conn,
                site=ret.site,
                sku=sku,
                lot=lot,
                state=StockState.QUARANTINE,
                pallet=pallet if pallet is not None else "",
            )
            quarantined[key] = [(r.position, r.qty) for r in rows]
        ops = inspection_operations(inspected, quarantined, return_id=return_id, time=time)
        for op in ops:
            await stock.post(conn, op, recorded_at=now)
        await _record_decisions(conn, return_id, inspected, time)
        await _update_status(conn, return_id, now)
        for verdict in Verdict:
            mine = [x for x in inspected if x.verdict is verdict]
            if not mine:
                continue
            items: dict[str, int] = {}
            for x in mine:
                items[x.sku] = items.get(x.sku, 0) + x.qty
            detail_out = {
                "return": return_id,
                "cases": sum(x.qty for x in mine),
                "items": items,
                "epcs": sorted(e for x in mine for e in x.epcs),
                "by": by,
            }
            await _timeline(
                conn, ret.site, ret.order_id, verdict.value, return_id, time, now, detail_out
            )
    found = await get_return(conn, return_id)
    assert found is not None
    return found


async def _record_decisions(
    conn: Conn, return_id: str, inspected: Sequence[Inspected], time: datetime
) -> None:
    for x in inspected:
        column = "restocked" if x.verdict is Verdict.RESTOCK else "written_off"
        await conn.execute(
            f"UPDATE return_receipts SET {column} = {column} + %s WHERE id = %s",
            [x.qty, x.receipt],
        )
        await conn.execute(
            f"UPDATE return_lines SET {column} = {column} + %s WHERE return_id = %s AND sku = %s",
            [x.qty, return_id, x.sku],
        )
        for epc in x.epcs:
            await conn.execute(
                "UPDATE return_cases SET decision = %s, decided_at = %s"
                " WHERE return_id = %s AND epc = %s",
                [x.verdict.value, time, return_id, epc],
            )
