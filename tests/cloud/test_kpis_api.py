"""GET /api/kpis on real PostgreSQL: a small history made through the real flows
(receipts at the door and put-away by the feed, orders allocated, picked, weighed and
shipped, a mis-shipment alerted and acknowledged, handheld counts), each KPI checked
against a value worked out by hand from that history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from cloudkit import api, as_user
from feedkit import (
    GTIN,
    T0,
    announce,
    announced,
    app_settings,
    case_epc,
    connect,
    feed_rig,
    fetch,
    insert_passage,
    insert_weight,
    insert_zone_event,
)
from feedkit import add_item as add_goods_item
from orderkit import FLOOR, ITEM_B, add_pallet

from cloud.db import alerts as alerts_db
from cloud.db import orders as orders_db
from cloud.warehouse.alerts import AlertAction
from cloud.warehouse.kpis import DEFINITIONS
from cloud.warehouse.roles import Role

HOUR = 3600.0


def t(seconds: float):
    return T0 + timedelta(seconds=seconds)


async def history(database_url: str, site: str) -> None:
    """Before the period: 10 cases of another item in zone-b (opening stock). In it:
    pallet 1 (3 cases) received at 60 s, put away at 660 s; pallet 2 (5 cases) received
    at 120 s, put away at 1920 s; order A (3 cases, wanted by 7000 s) made at 3600 s and
    shipped at 5400 s; order B (8 cases) made at 4000 s, 5 allocated; pallet 2 out
    through the wrong door at 6000 s (mis-shipment), acknowledged at 6300 s."""
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_pallet(conn, 1, sku=ITEM_B, zone="zone-b", cases=10, received_at=t(-HOUR),
                         site=site)  # fmt: skip
        await add_goods_item(conn)  # 6 kg a case
        one = announced(1, tuple(case_epc(n) for n in (1, 2, 3)))
        two = announced(2, tuple(case_epc(n) for n in (11, 12, 13, 14, 15)))
        await announce(conn, site, "ASN-1", one, two)
        await insert_passage(conn, one.epc, one.cases, door="door-1", at=t(60))
        await insert_passage(conn, two.epc, two.cases, door="door-1", at=t(120))
        await insert_zone_event(conn, one.epc, "zone-a", at=t(660))
        await insert_zone_event(conn, two.epc, "zone-a", at=t(1920))
        await rig.drain()
        a = await orders_db.create_order(
            conn,
            site=site,
            floor=FLOOR,
            new=orders_db.NewOrder("acme", (orders_db.NewLine(GTIN, 3),), requested_at=t(7000)),
            now=t(3600),
        )
        b = await orders_db.create_order(
            conn,
            site=site,
            floor=FLOOR,
            new=orders_db.NewOrder("acme", (orders_db.NewLine(GTIN, 8),)),
            now=t(4000),
        )
        assert (a.detail.order.allocation, b.detail.order.allocation) == (
            "allocated",
            "partially_allocated",
        )
        await insert_zone_event(conn, one.epc, "packing", at=t(4800))
        await insert_weight(conn, one.epc, 43.0, at=t(4900))  # 3 x 6 kg + 25 kg
        await rig.drain()
        await insert_passage(conn, one.epc, door="door-1", direction="outbound", at=t(5400))
        await insert_passage(conn, two.epc, door="door-2", direction="outbound", at=t(6000))
        await rig.drain()
        assert (await orders_db.get_order(conn, a.detail.order.id)).order.shipped_at == t(5400)
        ((alert_id, kind),) = await fetch(conn, "SELECT id, kind FROM alerts")
        assert kind == "mis_shipment"
        async with conn.transaction():
            await alerts_db.transition(conn, alert_id, AlertAction.ACKNOWLEDGE, by="op", at=t(6300))


async def test_each_kpi_of_a_known_history_is_the_figure_worked_out_by_hand(database_url, site):
    await history(database_url, site)
    (sscc_b,) = (await fetch_one(database_url, "SELECT pallet FROM ledger_entries WHERE sku = %s",
                              ITEM_B))  # fmt: skip
    async with api(app_settings(database_url, site, t(6500)), ingest=False) as client:
        # three counts of the opening pallet: right, one short (adjusted), then right
        for qty in (10, 9, 9):
            r = await client.post(
                "/api/scans", json={"barcode": f"00{sscc_b}", "action": "count", "qty": qty}
            )
            assert r.status_code == 201, r.text
        (count_time,) = await fetch_one(
            database_url, "SELECT time FROM ledger_entries WHERE kind = 'adjust'"
        )
        tc = (count_time - T0).total_seconds()
        assert 6500 <= tc < 7200

        period = {"from": T0.isoformat(), "to": t(2 * HOUR).isoformat()}
        r = await client.get("/api/kpis", params={"site": site, **period})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["site"], body["from"], body["to"]) == (
            site,
            "2025-03-03T08:00:00Z",
            "2025-03-03T10:00:00Z",
        )
        got = {k["name"]: (k["value"], k["unit"], k["numerator"], k["denominator"])
               for k in body["kpis"]}  # fmt: skip

        # on hand: 10 from the start, 13 from 60 s, 18 from 120 s, 15 after the ship at
        # 5400 s, 14 after the count's adjustment; moves and reservations change nothing
        area = 10 * 60 + 13 * 60 + 18 * (5400 - 120) + 15 * (tc - 5400) + 14 * (7200 - tc)
        average = area / 7200
        assert got["inventory_turnover"] == pytest.approx((3 / average, "turns", 3, average))
        daily = 3 / (2 / 24)  # 3 cases in 2 hours: 36 a day
        assert got["days_of_supply"] == pytest.approx((14 / daily, "days", 14, daily))
        # order B's one line could not be covered; order A's could
        assert got["stockout_rate"] == (50.0, "%", 1, 2)
        # the only order shipped (A) got its 3 cases, before the time wanted, in 1800 s
        assert got["fill_rate"] == (100.0, "%", 3, 3)
        assert got["on_time_shipment"] == (100.0, "%", 1, 1)
        assert got["order_cycle_time"] == pytest.approx((0.5, "hours", 0.5, 1))
        # one pallet shipped right, one through the wrong door
        assert got["mis_shipment_rate"] == (50.0, "%", 1, 2)
        # 2 of 3 counts found the book right
        assert got["inventory_record_accuracy"] == pytest.approx((200 / 3, "%", 2, 3))
        # 600 s and 1800 s from door to zone
        assert got["dock_to_stock_time"] == (20.0, "minutes", 40.0, 2)
        # the mis-shipment was acknowledged 300 s after it was raised
        assert got["alert_response_time"] == (5.0, "minutes", 5.0, 1)

        # all sites together: this database holds only this site
        r = await client.get("/api/kpis", params=period)
        assert r.json()["site"] is None and r.json()["kpis"] == body["kpis"]
        # another site has nothing
        r = await client.get("/api/kpis", params={"site": "elsewhere", **period})
        empty = {k["name"]: k["value"] for k in r.json()["kpis"]}
        assert empty["inventory_turnover"] is None and empty["fill_rate"] is None
        # a period before anything happened: the opening stock only
        r = await client.get("/api/kpis", params={"site": site, "from": t(-60).isoformat(),
                                                  "to": T0.isoformat()})  # fmt: skip
        early = {k["name"]: k for k in r.json()["kpis"]}
        assert early["inventory_turnover"]["value"] == 0.0
        assert early["inventory_turnover"]["denominator"] == 10
        # the default period: the 30 days up to now (the app's clock)
        r = await client.get("/api/kpis", params={"site": site})
        assert r.status_code == 200
        start, end = (datetime.fromisoformat(r.json()[k]) for k in ("from", "to"))
        assert end - start == timedelta(days=30) and t(6500) <= end < t(7200)

        for params, field in [
            ({"from": t(10).isoformat(), "to": T0.isoformat()}, "from"),
            ({"from": "2025-03-03T08:00:00"}, "from"),
            ({"to": "soon"}, "to"),
        ]:
            r = await client.get("/api/kpis", params=params)
            assert r.status_code == 422 and field in r.text, (params, r.text)
        r = await client.get("/api/kpis", headers=await as_user(client, Role.CUSTOMER))
        assert r.status_code == 403
        r = await client.get("/api/kpis", headers=await as_user(client, Role.ERP))
        assert r.status_code == 200


async def fetch_one(database_url: str, sql: str, *params):
    async with await connect(database_url) as conn:
        rows = await fetch(conn, sql, *params)
    assert len(rows) == 1, rows
    return rows[0]


async def test_the_series_gives_each_period_the_kpis_of_that_period_alone(database_url, site):
    await history(database_url, site)
    async with api(app_settings(database_url, site, t(6500)), ingest=False) as client:
        span = {"from": T0.isoformat(), "to": t(2 * HOUR).isoformat()}
        r = await client.get("/api/kpis/series", params={"site": site, "step": "hour", **span})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["site"], body["step"], body["from"], body["to"]) == (
            site,
            "hour",
            "2025-03-03T08:00:00Z",
            "2025-03-03T10:00:00Z",
        )
        series = {k["name"]: k for k in body["kpis"]}
        assert list(series) == list(DEFINITIONS)
        assert all(k["definition"] == DEFINITIONS[n] for n, k in series.items())
        # each point is what GET /api/kpis says of its hour
        for hour in (0, 1):
            alone = await client.get("/api/kpis", params={
                "site": site, "from": t(hour * HOUR).isoformat(),
                "to": t((hour + 1) * HOUR).isoformat()})  # fmt: skip
            for k in alone.json()["kpis"]:
                point = series[k["name"]]["points"][hour]
                assert (point["from"], point["to"]) == (alone.json()["from"], alone.json()["to"])
                assert (point["value"], point["numerator"], point["denominator"]) == (
                    k["value"], k["numerator"], k["denominator"]), k["name"]  # fmt: skip
        # both pallets were received and put away in the first hour, order A shipped in
        # the second, the mis-shipment was raised and answered in the second
        dock = series["dock_to_stock_time"]["points"]
        assert [p["value"] for p in dock] == [20.0, None]
        assert [p["value"] for p in series["order_cycle_time"]["points"]] == [None, 0.5]
        assert [p["value"] for p in series["alert_response_time"]["points"]] == [None, 5.0]

        # the default span: 30 days up to now, the last day ends at now
        r = await client.get("/api/kpis/series", params={"site": site})
        points = r.json()["kpis"][0]["points"]
        assert r.json()["step"] == "day" and len(points) == 30
        assert points[-1]["to"] == r.json()["to"]

        for params, says in [
            ({"step": "week"}, "step"),
            ({"step": "hour", "from": t(-401 * HOUR).isoformat(), "to": T0.isoformat()},
             "step: 401 periods of one hour"),
            ({"from": t(10).isoformat(), "to": T0.isoformat()}, "from"),
            ({"to": "2025-03-03T08:00:00"}, "to"),
        ]:  # fmt: skip
            r = await client.get("/api/kpis/series", params=params)
            assert r.status_code == 422 and says in r.text, (params, r.text)
        headers = await as_user(client, Role.CUSTOMER)
        assert (await client.get("/api/kpis/series", headers=headers)).status_code == 403
