"""GET /api/forecast on real PostgreSQL with statsforecast: a constructed shipment
history (the ledger's ship entries, posted the way orders post them: reserve, then
ship), stock available, a notice and stock in transit on order; each item's model,
forecast, backtest errors, reorder point and suggested quantity checked against
figures worked out by hand from that history."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest
from cloudkit import api, as_user
from feedkit import settings_for
from statsforecast.models import CrostonOptimized

from cloud.db import goods, stock
from cloud.db import stock_rules as rules_db
from cloud.db.migrate import apply_migrations
from cloud.warehouse.ledger import (
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    Position,
    StockState,
    receipt,
    ship,
    transfer,
)
from cloud.warehouse.roles import Role
from cloud.warehouse.stock_alerts import StockRule
from protocols.clock import ScaledClock

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
A, B, C = "00614141123452", "00614141999996", "00614141555550"
DAYS = 42
FIRST = TODAY - timedelta(days=DAYS)


def at(site: str, sku: str, state: StockState = StockState.AVAILABLE) -> Position:
    return Position(Bucket(site, sku, "L1", "zone-a", state))


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def shipped(conn: Any, site: str, sku: str, qty: int, when: datetime) -> None:
    """``qty`` cases of ``sku`` reserved and shipped at ``when``, as an order does."""
    cause = Cause(CauseKind.ORDER, f"SO-{sku[-4:]}-{when:%m%d%H}")
    await stock.post(
        conn,
        transfer(
            EntryKind.RESERVE,
            at(site, sku),
            at(site, sku, StockState.RESERVED),
            qty,
            cause=cause,
            time=when,
        ),
    )
    await stock.post(conn, ship(at(site, sku, StockState.RESERVED), qty, cause=cause, time=when))


async def history(database_url: str, site: str) -> None:
    """A: 5 cases every day of the 42 days before today (and 1000 before them, 100
    today: neither in the history); 4 left available, 8 announced by a notice and 3 in
    transit from another site. B: 6 cases every third day from the first day; 50
    available. C: a stock rule and no shipments."""
    await apply_migrations(database_url)
    start = noon(FIRST - timedelta(days=2))
    user = Cause(CauseKind.USER, "tester")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for sku in (A, B, C):
            await goods.upsert_item(conn, goods.Item(sku, f"item {sku}", 4.0), now=start)
        await stock.post(conn, receipt(at(site, A), 1000 + 5 * DAYS + 100 + 4, cause=user,
                                       time=start))  # fmt: skip
        await stock.post(conn, receipt(at(site, B), 6 * (DAYS // 3) + 50, cause=user, time=start))
        await shipped(conn, site, A, 1000, start)  # before the history: left out
        for i in range(DAYS):
            day = FIRST + timedelta(days=i)
            await shipped(conn, site, A, 5, noon(day) - timedelta(hours=i % 5))
            if i % 3 == 0:
                await shipped(conn, site, B, 6, noon(day))
        await shipped(conn, site, A, 100, NOW - timedelta(hours=3))  # today: not over yet
        await goods.insert_asn(
            conn,
            goods.Notice(
                "ASN-F1",
                site,
                "Acme",
                NOW + timedelta(days=2),
                "door-1",
                (goods.AnnouncedPallet("003456789012345675", None, A, "L1", None, 8),),
            ),
            now=start,
        )
        other = "elsewhere"
        await stock.post(conn, receipt(at(other, A), 3, cause=user, time=start))
        reserved = at(other, A, StockState.RESERVED)
        await stock.post(
            conn,
            transfer(EntryKind.RESERVE, at(other, A), reserved, 3, cause=user, time=start),
        )
        await stock.post(
            conn,
            transfer(
                EntryKind.DISPATCH,
                reserved,
                Position(Bucket(site, A, "L1", "in_transit", StockState.IN_TRANSIT)),
                3,
                cause=user,
                time=start,
            ),
        )
        await rules_db.put_rule(conn, StockRule(site, C, reorder_point=2), at=start)


def app_settings(database_url: str, site: str) -> Any:
    return settings_for(
        database_url,
        site,
        clock=ScaledClock(NOW, time.time(), 1.0).spec(),
        forecast_history_days=DAYS,
        forecast_holdout_days=14,
        forecast_lead_time_days=3,
        forecast_review_days=4,
        forecast_service_level=0.95,
    )


async def test_each_item_has_its_forecast_error_and_reorder_suggestion(database_url, site):
    await history(database_url, site)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        r = await client.get("/api/forecast", params={"site": site, "horizon_days": 5})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["next"] is None
        a, c, b = body["items"]  # by SKU
        assert [x["sku"] for x in (a, c, b)] == [A, C, B]

        # A: the same every day, so ETS forecasts 5 a day and misses nothing
        assert (a["model"], a["season_length"], a["history_days"], a["shipped"]) == (
            "auto_ets", 1, DAYS, 5 * DAYS)  # fmt: skip
        assert a["forecast"] == [
            {"date": (TODAY + timedelta(days=i)).isoformat(), "qty": 5.0} for i in range(5)
        ]
        assert a["errors"] == {"holdout_days": 14, "actual": 70, "forecast": 70.0, "mae": 0.0,
                               "rmse": 0.0, "mape": 0.0, "wape": 0.0}  # fmt: skip
        # no error, no safety stock: reorder at 3 days x 5, order up to 7 days x 5; the
        # position is 4 available + 8 announced + 3 in transit = 15, at the point
        assert (a["available"], a["on_order"], a["position"]) == (4, 11, 15)
        assert (a["sigma"], a["safety_stock"], a["lead_time_demand"]) == (0.0, 0, 15.0)
        assert (a["reorder_point"], a["order_up_to"], a["suggested_qty"]) == (15, 35, 20)
        assert (a["lead_time_days"], a["review_days"], a["service_level"]) == (3, 4, 0.95)

        # B: 6 every third day is intermittent: Croston, backtested on the first 28 days
        assert (b["model"], b["shipped"]) == ("croston_optimized", 6 * 14)
        train = np.array(([6.0, 0.0, 0.0] * 10)[:28])
        f = float(CrostonOptimized().forecast(y=train, h=14)["mean"][0])
        # the holdout (days 28-41) has demand on days 30, 33, 36 and 39: 4 x 6 cases
        errors = b["errors"]
        assert (errors["holdout_days"], errors["actual"]) == (14, 24)
        assert errors["forecast"] == pytest.approx(14 * f, abs=1e-3)
        assert errors["mae"] == pytest.approx((4 * (6 - f) + 10 * f) / 14, abs=1e-3)
        assert errors["wape"] == pytest.approx(100 * (24 + 6 * f) / 24, abs=0.1)
        assert errors["mape"] == pytest.approx(100 * (6 - f) / 6, abs=0.1)
        rmse = ((4 * (6 - f) ** 2 + 10 * f**2) / 14) ** 0.5
        assert b["sigma"] == pytest.approx(rmse, abs=1e-3)
        # 50 available is far above the reorder point: nothing to order
        assert b["available"] == 50 and b["suggested_qty"] == 0
        assert b["reorder_point"] < 50

        # C: a rule but no demand: no model, zero forecast, nothing to order
        assert (c["model"], c["errors"], c["suggested_qty"], c["reorder_point"]) == (
            "none", {"holdout_days": 14, "actual": 0, "forecast": 0.0, "mae": 0.0,
                     "rmse": 0.0, "mape": None, "wape": None}, 0, 0)  # fmt: skip
        assert {d["qty"] for d in c["forecast"]} == {0.0}

        # a longer lead time named in the request: reorder at 10 x 5, up to 14 x 5
        r = await client.get(
            "/api/forecast",
            params={"site": site, "sku": A, "lead_time_days": 10, "review_days": 4},
        )
        (one,) = r.json()["items"]
        assert (one["reorder_point"], one["order_up_to"], one["suggested_qty"]) == (50, 70, 55)
        assert len(one["forecast"]) == 14  # the default horizon

        # pages: two items, then the third
        r = await client.get("/api/forecast", params={"site": site, "limit": 2})
        first = r.json()
        assert [x["sku"] for x in first["items"]] == [A, C] and first["next"]
        r = await client.get(
            "/api/forecast", params={"site": site, "limit": 2, "cursor": first["next"]}
        )
        assert [x["sku"] for x in r.json()["items"]] == [B] and r.json()["next"] is None

        # another site's items are its own
        r = await client.get("/api/forecast", params={"site": "elsewhere"})
        assert r.json()["items"] == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"horizon_days": 0}, "horizon_days"),
        ({"horizon_days": 731}, "horizon_days"),
        ({"service_level": 0.3}, "service_level"),
        ({"sku": "123"}, "sku"),
        ({"site": "no such/site"}, "site"),
        ({"lead_time_days": 0, "review_days": 0}, "review_days"),
        ({"cursor": "bm90IG91cnM"}, "cursor"),
    ],
)
async def test_a_bad_request_is_a_422_naming_what_is_wrong(database_url, site, params, named):
    await apply_migrations(database_url)
    async with api(app_settings(database_url, site), ingest=False) as client:
        r = await client.get("/api/forecast", params=params)
        assert r.status_code == 422, r.text
        assert named in r.text


async def test_a_customer_may_not_read_the_forecast(database_url, site):
    await apply_migrations(database_url)
    async with api(app_settings(database_url, site), ingest=False) as client:
        r = await client.get(
            "/api/forecast", headers=await as_user(client, Role.CUSTOMER, customer="acme")
        )
        assert r.status_code == 403
