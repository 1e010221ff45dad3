"""The promised dates of short orders on PostgreSQL: what the job reads and writes
(:mod:`cloud.operations.promised_dates`; the rules: :mod:`cloud.warehouse.promised_dates`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from cloud.db.orders import Conn, note
from cloud.warehouse.availability import Inbound
from cloud.warehouse.ledger import IN_TRANSIT
from cloud.warehouse.orders import OrderStatus, TimelineEntry
from cloud.warehouse.promised_dates import SHORT, ShortLine


@dataclass(frozen=True, slots=True)
class ShortOrder:
    id: str
    status: OrderStatus
    promised_date: date | None
    lines: tuple[ShortLine, ...]


async def short_orders(conn: Conn, site: str) -> list[ShortOrder]:
    """The open orders of ``site`` with cases not reserved, and their short lines."""
    cur = await conn.execute(
        "SELECT o.id, o.status, o.promised_date, l.sku, l.qty - l.allocated FROM orders o"
        " JOIN order_lines l ON l.order_id = o.id"
        " WHERE o.site = %s AND o.status = ANY(%s::text[]) AND l.qty > l.allocated"
        " ORDER BY o.seq, l.line",
        [site, sorted(s.value for s in SHORT)],
    )
    out: dict[str, ShortOrder] = {}
    for oid, status, promised, sku, qty in await cur.fetchall():
        o = out.get(oid) or ShortOrder(oid, OrderStatus(status), promised, ())
        out[oid] = ShortOrder(o.id, o.status, o.promised_date, (*o.lines, ShortLine(sku, qty)))
    return list(out.values())


async def available(conn: Conn, site: str, skus: Sequence[str]) -> dict[str, int]:
    """Cases available (not reserved nor blocked, not in transit) per item at ``site``,
    as ``GET /api/availability`` counts them."""
    cur = await conn.execute(
        "SELECT sku, sum(qty)::int FROM stock_positions WHERE site = %s"
        " AND sku = ANY(%s::text[]) AND state = 'available' AND location <> %s"
        " AND qty > 0 GROUP BY sku",
        [site, list(skus), IN_TRANSIT],
    )
    return {str(r[0]): int(r[1]) for r in await cur.fetchall()}


async def inbound(
    conn: Conn, site: str, skus: Sequence[str], *, due_after: datetime
) -> dict[str, list[Inbound]]:
    """Announced pallets not received yet per item and notice, expected after
    ``due_after`` (older notices are short), as ``GET /api/availability`` counts them."""
    cur = await conn.execute(
        "SELECT p.sku, a.id, a.expected_at, sum(p.announced_cases)::int FROM pallets p"
        " JOIN asns a ON a.id = p.asn WHERE p.site = %s AND p.sku = ANY(%s::text[])"
        " AND p.status = 'announced' AND a.expected_at > %s"
        " GROUP BY p.sku, a.id, a.expected_at ORDER BY a.expected_at, a.id",
        [site, list(skus), due_after],
    )
    out: dict[str, list[Inbound]] = {}
    for sku, asn, expected_at, qty in await cur.fetchall():
        out.setdefault(str(sku), []).append(Inbound(str(asn), expected_at, int(qty or 0)))
    return out


async def record_promised_date(
    conn: Conn, site: str, order_id: str, promised: date | None, entry: TimelineEntry, now: datetime
) -> None:
    """Store the order's new promised date and its ``promised_date_changed`` entry."""
    await conn.execute("UPDATE orders SET promised_date = %s WHERE id = %s", [promised, order_id])
    await note(conn, site, order_id, [entry], now)
