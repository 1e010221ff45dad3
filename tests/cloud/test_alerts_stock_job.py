"""The stock rules job on the real database: low stock, overstock and expiry alerts
raised from the stock ledger's balances and the rules, on the injected clock's date,
and resolved as ``system`` when the stock or the rule changes; and in the running cloud,
a rule set through the API raising its alert."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from authkit import bearer, issue_token
from cloudkit import eventually, rows, running_app, settings_for

from cloud.db import goods, stock
from cloud.db import stock_rules as rules_db
from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.operations.stock_alerts_job import StockAlertJob
from cloud.warehouse.forecast import ForecastConfig, ReorderPolicy
from cloud.warehouse.ledger import (
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    Position,
    StockState,
    adjust,
    receipt,
    ship,
    transfer,
)
from cloud.warehouse.stock_alerts import StockRule

T = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
TODAY = T.date()
A, B = "00614141123452", "00614141999996"
CAUSE = Cause(CauseKind.USER, "tester")


def at(site: str, sku: str, lot: str, state: StockState = StockState.AVAILABLE) -> Position:
    return Position(Bucket(site, sku, lot, "zone-a", state))


async def _stock(conn: Any, site: str) -> None:
    for sku in (A, B):
        await goods.upsert_item(conn, goods.Item(sku, f"item {sku}", 4.0), now=T)
    for sku, lot, expiry in [
        (A, "L1", TODAY + timedelta(days=5)),
        (A, "L2", TODAY + timedelta(days=60)),
        (B, "B1", TODAY),
    ]:
        await goods.ensure_lot(conn, sku, lot, expiry, now=T)  # fmt: skip
    for position, qty in [
        (at(site, A, "L1"), 4),
        (at(site, A, "L2", StockState.QUARANTINE), 100),
        (at("elsewhere", A, "L1"), 500),  # another site's stock does not count
        (at(site, B, "B1"), 3),  # no rule: not judged
    ]:
        await stock.post(conn, receipt(position, qty, cause=CAUSE, time=T))


async def _alerts(database_url: str) -> list[tuple[Any, ...]]:
    return await rows(
        database_url,
        "SELECT kind, subject, status, severity, resolved_by FROM alerts ORDER BY kind, subject",
    )


async def test_the_stock_rules_raise_from_the_ledger_and_resolve_when_it_changes(
    database_url, site
):
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await _stock(conn, site)
        await rules_db.put_rule(
            conn, StockRule(site, A, reorder_point=10, max_on_hand=50, expiry_warning_days=7),
            at=T,
        )  # fmt: skip
        async with open_pool(database_url, timeout=5.0) as pool:
            job = StockAlertJob(pool, site=site, clock=lambda: T)
            await job.check_once()
            assert await _alerts(database_url) == [
                ("expiry", f"{A}/L1", "open", "warning", None),
                ("low_stock", A, "open", "warning", None),
                ("overstock", A, "open", "info", None),
            ]
            (detail,) = await rows(
                database_url, "SELECT detail FROM alerts WHERE kind = 'overstock'"
            )
            assert detail[0] == {"sku": A, "on_hand": 104, "max_on_hand": 50}
            await job.check_once()  # nothing changed: nothing more
            assert await rows(database_url, "SELECT sum(raised_count) FROM alerts") == [(3,)]

            await stock.post(conn, receipt(at(site, A, "L2"), 20, cause=CAUSE, time=T))
            await stock.post(
                conn, adjust(at(site, A, "L2", StockState.QUARANTINE), -90, cause=CAUSE, time=T)
            )  # available 24, on hand 34
            await job.check_once()
            assert await _alerts(database_url) == [
                ("expiry", f"{A}/L1", "open", "warning", None),
                ("low_stock", A, "resolved", "warning", "system"),
                ("overstock", A, "resolved", "info", "system"),
            ]

            await rules_db.put_rule(conn, StockRule(site, A, expiry_warning_days=3), at=T)
            later = StockAlertJob(pool, site=site, clock=lambda: T + timedelta(days=1))
            await later.check_once()  # L1 expires in 4 days, the horizon is 3
            assert (await _alerts(database_url))[0][2:] == ("resolved", "warning", "system")
    assert (job.raised, job.resolved, later.resolved) == (3, 2, 1)


async def test_a_low_stock_alert_carries_the_forecast_and_the_quantity_to_order(database_url, site):
    """A ships 3 cases a day for 28 days; 5 are left available: with a 2-day lead time
    and a 5-day review, the forecast (3 a day, no error) reorders at 6 and orders up to
    21, so 16 cases."""
    await apply_migrations(database_url)
    config = ForecastConfig(
        history_days=28, holdout_days=7, policy=ReorderPolicy(2, 5, 0.95), alert_horizon_days=3
    )
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await goods.upsert_item(conn, goods.Item(A, "item A", 4.0), now=T)
        start = T - timedelta(days=30)
        await stock.post(conn, receipt(at(site, A, "L1"), 3 * 28 + 5, cause=CAUSE, time=start))
        for i in range(28):
            when = T - timedelta(days=28 - i)
            reserved = at(site, A, "L1", StockState.RESERVED)
            await stock.post(conn, transfer(EntryKind.RESERVE, at(site, A, "L1"), reserved, 3,
                                            cause=CAUSE, time=when))  # fmt: skip
            await stock.post(conn, ship(reserved, 3, cause=CAUSE, time=when))
        await rules_db.put_rule(conn, StockRule(site, A, reorder_point=10), at=T)
        async with open_pool(database_url, timeout=5.0) as pool:
            await StockAlertJob(pool, site=site, clock=lambda: T, forecast=config).check_once()
    ((message, detail),) = await rows(
        database_url, "SELECT message, detail FROM alerts WHERE kind = 'low_stock'"
    )
    assert message == (
        f"{A} low at {site}: 5 cases available, reorder point 10; forecast 3.0 cases a day,"
        " forecast reorder point 6: suggest ordering 16 cases"
    )
    assert detail == {
        "sku": A,
        "available": 5,
        "reorder_point": 10,
        "suggested_qty": 16,
        "forecast": {
            "model": "auto_ets",
            "daily": [3.0, 3.0, 3.0],
            "reorder_point": 6,
            "order_up_to": 21,
            "safety_stock": 0,
            "position": 5,
            "lead_time_days": 2,
            "review_days": 5,
            "service_level": 0.95,
            "mae": 0.0,
            "wape": 0.0,
        },
    }


async def test_an_item_out_of_stock_is_a_critical_low_stock_alert_in_the_running_cloud(
    database_url, mqtt_url, site
):
    clock = f"sim:2025-03-01T08:00:00Z@{time.time():.6f}x1"
    settings = settings_for(database_url, mqtt_url, site, clock=clock, alerts_stock_every_s=0.1)
    async with (
        running_app(settings) as base,
        httpx.AsyncClient(
            base_url=base, headers=bearer(await issue_token(database_url, "operator"))
        ) as client,
    ):
        put = await client.put(f"api/stock-rules/{A}", json={"reorder_point": 1})
        assert put.status_code == 200

        async def low() -> list[dict[str, Any]]:
            r = await client.get("api/alerts", params={"kind": "low_stock"})
            return list(r.json()["items"])

        (alert,) = await eventually(low, what="a low_stock alert")
        assert (alert["subject"], alert["severity"], alert["site"]) == (A, "critical", site)
        detail = alert["detail"]
        # the item never shipped: no demand forecast, nothing to order for it
        assert {k: detail[k] for k in ("sku", "available", "reorder_point", "suggested_qty")} == {
            "sku": A, "available": 0, "reorder_point": 1, "suggested_qty": 0}  # fmt: skip
        assert (detail["forecast"]["model"], detail["forecast"]["daily"]) == ("none", [0.0] * 7)
        assert alert["raised_at"].startswith("2025-03-01T08:00")
