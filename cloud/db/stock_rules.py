"""Stock rules in the database (table ``stock_rules``, migration 0012), and the
balances they are judged on (read from the stock ledger's ``stock_positions``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.warehouse.stock_alerts import Balance, StockRule

Conn = AsyncConnection[TupleRow]

_COLUMNS = "site, sku, reorder_point, max_on_hand, expiry_warning_days, updated_at"


@dataclass(frozen=True, slots=True)
class StoredRule:
    rule: StockRule
    updated_at: datetime


def _stored(row: tuple[Any, ...]) -> StoredRule:
    site, sku, reorder, most, days, updated = row
    return StoredRule(StockRule(site, sku, reorder, most, days), updated)


async def put_rule(conn: Conn, rule: StockRule, *, at: datetime) -> StoredRule:
    """Set the rule of ``rule.site`` and ``rule.sku`` (replacing it whole)."""
    cur = await conn.execute(
        f"INSERT INTO stock_rules ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (site, sku) DO UPDATE SET reorder_point = EXCLUDED.reorder_point,"
        " max_on_hand = EXCLUDED.max_on_hand,"
        " expiry_warning_days = EXCLUDED.expiry_warning_days, updated_at = EXCLUDED.updated_at"
        f" RETURNING {_COLUMNS}",
        [rule.site, rule.sku, rule.reorder_point, rule.max_on_hand, rule.expiry_warning_days, at],
    )
    row = await cur.fetchone()
    assert row is not None
    return _stored(row)


async def list_rules(
    conn: Conn,
    *,
    site: str | None = None,
    sku: str | None = None,
    after: tuple[str, str] | None = None,
    limit: int,
) -> list[StoredRule]:
    """Rules by site, then SKU; after the (site, sku) ``after``."""
    parts: list[str] = []
    params: list[object] = []
    if site is not None:
        parts.append("site = %s")
        params.append(site)
    if sku is not None:
        parts.append("sku = %s")
        params.append(sku)
    if after is not None:
        parts.append("(site, sku) > (%s, %s)")
        params.extend(after)
    where = (" WHERE " + " AND ".join(parts)) if parts else ""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM stock_rules{where} ORDER BY site, sku LIMIT %s",
        [*params, limit],
    )
    return [_stored(row) for row in await cur.fetchall()]


async def rules_of_site(conn: Conn, site: str) -> list[StockRule]:
    """Every rule of ``site``."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM stock_rules WHERE site = %s ORDER BY sku", [site]
    )
    return [_stored(row).rule for row in await cur.fetchall()]


async def balances_under_rules(conn: Conn, site: str) -> list[Balance]:
    """The stock of ``site``'s items that have a rule, per lot (with its expiry) and
    state, every location added up (``stock_positions`` of the stock ledger, ``lots``)."""
    cur = await conn.execute(
        "SELECT sp.site, sp.sku, sp.lot, l.expiry, sp.state, sum(sp.qty)::int"
        " FROM stock_positions sp LEFT JOIN lots l ON l.sku = sp.sku AND l.lot = sp.lot"
        " WHERE sp.site = %s AND sp.qty > 0 AND EXISTS"
        " (SELECT 1 FROM stock_rules r WHERE r.site = sp.site AND r.sku = sp.sku)"
        " GROUP BY sp.site, sp.sku, sp.lot, l.expiry, sp.state"
        " ORDER BY sp.site, sp.sku, sp.lot, sp.state",
        [site],
    )
    return [Balance(*row) for row in await cur.fetchall()]
