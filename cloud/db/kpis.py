"""The facts of the KPIs of a period, read from the ledger, orders, pallets, scans and
alerts (the maths is :mod:`cloud.warehouse.kpis`). ``site`` None: every site."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.warehouse.alerts import SYSTEM_ACTOR
from cloud.warehouse.kpis import (
    AlertFacts,
    Facts,
    OrderFacts,
    PalletReceipt,
    Period,
    StockHistory,
)
from cloud.warehouse.ledger import IN_TRANSIT

Conn = AsyncConnection[TupleRow]


def _site(column: str, site: str | None, params: list[Any]) -> str:
    if site is None:
        return ""
    params.append(site)
    return f" AND {column} = %s"


async def _rows(conn: Conn, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql.encode(), params, binary=True)
    return await cur.fetchall()


async def facts(conn: Conn, period: Period, *, site: str | None) -> Facts:
    """Everything :func:`cloud.warehouse.kpis.compute` needs for ``period``."""
    start, end = period.start, period.end
    # on hand at the start: what the positions hold now less every change since, so
    # only the recent ledger is read (a position is the sum of its entries)
    p: list[Any] = [IN_TRANSIT]
    now_sql = "SELECT COALESCE(sum(qty), 0) FROM stock_positions WHERE state <> %s" + _site(
        "site", site, p
    )
    p += [IN_TRANSIT, start]
    since_sql = (
        "SELECT COALESCE(sum(qty), 0) FROM ledger_entries WHERE state <> %s AND time >= %s"
        + _site("site", site, p)
    )
    ((opening,),) = await _rows(conn, f"SELECT (({now_sql}) - ({since_sql}))::bigint", p)
    p = [IN_TRANSIT, start, end]
    changes = await _rows(
        conn,
        "SELECT time, sum(qty)::bigint FROM ledger_entries"
        " WHERE state <> %s AND time >= %s AND time < %s"
        + _site("site", site, p)
        + " GROUP BY time HAVING sum(qty) <> 0 ORDER BY time",
        p,
    )
    p = [start, end]
    ((shipped, passages),) = await _rows(
        conn,
        "SELECT COALESCE(-sum(qty), 0)::bigint, count(DISTINCT (cause_kind, cause_id))"
        " FROM ledger_entries WHERE kind = 'ship' AND time >= %s AND time < %s"
        + _site("site", site, p),
        p,
    )
    p = [start, end]
    ((mis,),) = await _rows(
        conn,
        "SELECT count(*) FROM alerts WHERE kind = 'mis_shipment'"
        " AND raised_at >= %s AND raised_at < %s" + _site("site", site, p),
        p,
    )
    p = [start, end, start, end]
    orders = await _rows(
        conn,
        "SELECT o.created_at, o.requested_at, o.shipped_at, sum(l.qty), sum(l.shipped),"
        " count(*), count(*) FILTER (WHERE l.allocated < l.qty)"
        " FROM orders o JOIN order_lines l ON l.order_id = o.id"
        " WHERE ((o.created_at >= %s AND o.created_at < %s)"
        " OR (o.shipped_at >= %s AND o.shipped_at < %s))"
        + _site("o.site", site, p)
        + " GROUP BY o.id ORDER BY o.seq",
        p,
    )
    p = [start, end]
    receipts = await _rows(
        conn,
        "SELECT pl.received_at, (SELECT min(e.time) FROM ledger_entries e"
        "  WHERE e.site = pl.site AND e.pallet = pl.sscc AND e.kind = 'putaway'"
        "  AND e.qty > 0 AND e.time >= pl.received_at)"
        " FROM pallets pl WHERE pl.received_at >= %s AND pl.received_at < %s"
        + _site("pl.site", site, p)
        + " ORDER BY pl.received_at",
        p,
    )
    p = [SYSTEM_ACTOR, start, end]
    alerts = await _rows(
        conn,
        "SELECT raised_at, acknowledged_at, resolved_at, resolved_by IS NOT DISTINCT FROM %s"
        " FROM alerts WHERE raised_at >= %s AND raised_at < %s"
        + _site("site", site, p)
        + " ORDER BY id",
        p,
    )
    p = [start, end]
    counts = await _rows(
        conn,
        "SELECT time, cardinality(postings) = 0 FROM scans WHERE action = 'count'"
        " AND time >= %s AND time < %s" + _site("site", site, p) + " ORDER BY id",
        p,
    )
    return Facts(
        stock=StockHistory(int(opening), tuple((t, int(q)) for t, q in changes)),
        shipped_cases=int(shipped),
        shipping_passages=int(passages),
        mis_shipments=int(mis),
        orders=tuple(
            OrderFacts(c, r, s, int(q), int(sh), int(n), int(short))
            for c, r, s, q, sh, n, short in orders
        ),
        receipts=tuple(PalletReceipt(r, s) for r, s in receipts),
        alerts=tuple(AlertFacts(r, a, z, bool(system)) for r, a, z, system in alerts),
        counts=tuple((t, bool(right)) for t, right in counts),
    )
