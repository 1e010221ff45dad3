"""Stock rules in the database (table ``stock_rules``, migration 0012)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from cloud.warehouse.stock_alerts import StockRule

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
