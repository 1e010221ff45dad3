"""What the demand forecast reads (the maths is :mod:`cloud.warehouse.forecast`): the
items to forecast, their shipments per UTC day from the stock ledger's ``ship``
entries, what is available and what is on order.

An item is a (site, SKU) pair. Every reader takes a list of them and answers a dict
keyed by them; an item with nothing is left out (the caller reads 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

Conn = AsyncConnection[TupleRow]
Item = tuple[str, str]
"""(site, SKU)."""

_ITEMS = "(site, sku) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"


def _columns(items: Sequence[Item]) -> list[list[str]]:
    return [[s for s, _ in items], [k for _, k in items]]


async def items(
    conn: Conn,
    *,
    site: str | None,
    sku: str | None,
    shipped_since: datetime,
    after: Item | None,
    limit: int,
) -> list[Item]:
    """Items by site, then SKU, after ``after``: those shipped at or after
    ``shipped_since`` and those with a stock rule."""
    parts: list[str] = []
    params: list[Any] = [shipped_since]
    for column, value in (("site", site), ("sku", sku)):
        if value is not None:
            parts.append(f"{column} = %s")
            params.append(value)
    if after is not None:
        parts.append("(site, sku) > (%s, %s)")
        params.extend(after)
    where = "".join(f" AND {p}" for p in parts)
    cur = await conn.execute(
        "SELECT site, sku FROM ("
        " SELECT site, sku FROM ledger_entries WHERE kind = 'ship' AND time >= %s"
        " UNION SELECT site, sku FROM stock_rules) i"
        f" WHERE true{where} ORDER BY site, sku LIMIT %s",
        [*params, limit],
    )
    return [(str(s), str(k)) for s, k in await cur.fetchall()]


async def shipped_per_day(
    conn: Conn, items: Sequence[Item], *, since: datetime, until: datetime
) -> dict[Item, dict[date, int]]:
    """Cases shipped per UTC day in ``[since, until)``, per item."""
    cur = await conn.execute(
        "SELECT site, sku, (time AT TIME ZONE 'UTC')::date, (-sum(qty))::int"
        f" FROM ledger_entries WHERE kind = 'ship' AND time >= %s AND time < %s AND {_ITEMS}"
        " GROUP BY 1, 2, 3",
        [since, until, *_columns(items)],
    )
    out: dict[Item, dict[date, int]] = {}
    for s, k, day, qty in await cur.fetchall():
        out.setdefault((s, k), {})[day] = int(qty)
    return out


async def available(conn: Conn, items: Sequence[Item]) -> dict[Item, int]:
    """Cases available per item (every lot and location)."""
    cur = await conn.execute(
        "SELECT site, sku, sum(qty)::int FROM stock_positions"
        f" WHERE state = 'available' AND qty > 0 AND {_ITEMS} GROUP BY 1, 2",
        _columns(items),
    )
    return {(s, k): int(q) for s, k, q in await cur.fetchall()}


async def on_order(conn: Conn, items: Sequence[Item]) -> dict[Item, int]:
    """Cases on their way to each item's site: announced by an advance ship notice and
    not received yet, plus stock in transit to the site (booked at the receiving site)."""
    cur = await conn.execute(
        "SELECT site, sku, sum(q)::int FROM ("
        " SELECT site, sku, announced_cases AS q FROM pallets"
        "  WHERE status = 'announced' AND asn IS NOT NULL"
        " UNION ALL SELECT site, sku, qty FROM stock_positions"
        "  WHERE state = 'in_transit' AND qty > 0) o"
        f" WHERE {_ITEMS} GROUP BY 1, 2",
        _columns(items),
    )
    return {(s, k): int(q) for s, k, q in await cur.fetchall()}
