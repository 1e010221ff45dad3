"""Transfers between the two sites of one cloud, on real PostgreSQL: asked through the
API (with an idempotency key), reserved at the source, picked, weighed and shipped
through its door by the warehouse feed, in transit at the destination, received there
by the inbound passage of the same pallets; balances checked at every step; a short
receipt and a late transfer (on the injected clock) raise their alerts."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from cloudkit import api, as_user
from feedkit import ManualClock, case_epc, fetch
from orderkit import ITEM_A, LAYOUT, T0, add_pallet, gtin

from cloud.db import stock
from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.operations.feed import Feed, FeedContext
from cloud.operations.warehouse import warehouse_registry
from cloud.settings import CloudSettings
from cloud.warehouse.roles import Role
from protocols.clock import ScaledClock
from protocols.layout import load_layout

DC2 = Path(__file__).parents[2] / "protocols" / "layouts" / "dc-2.yaml"
_SEQ = iter(range(1, 1_000_000))


def settings(database_url: str, mqtt_url: str, one: str, two: str) -> CloudSettings:
    return CloudSettings(
        database_url=database_url,
        mqtt_url=mqtt_url,
        sites=f"{one},{two}={DC2}",
        ingest_retry_max_s=0.5,
        transit_times=f"{one}>{two}=120",
        clock=ScaledClock(T0, time.time(), 1.0).spec(),
    )


def t(minutes: float):
    return T0 + timedelta(minutes=minutes)


async def event(conn: psycopg.AsyncConnection[Any], table: str, edge: str, at, **cols: Any) -> None:
    """A row of an event table as ingest stores it, from ``edge``."""
    if table == "passages":
        side = {"reads": 4, "peak_rssi_dbm": -45.0, "first_seen": at.isoformat()}
        side["last_seen"] = at.isoformat()
        cols = {
            **cols,
            "confidence": 0.9,
            "evidence": json.dumps({"inside": side, "outside": side}),
        }
    names = [*cols, "time", "edge_id", "spool", "seq", "idx", "stored_at"]
    values = [*cols.values(), at, edge, "spool", next(_SEQ), 0, at]
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",
        values,
    )


async def passage(conn, edge, epc, cases, *, door, direction, at) -> None:
    await event(
        conn, "passages", edge, at, door=door, direction=direction, epc=epc, cases=list(cases)
    )


async def tagged_pallet(conn, n: int, site: str, zone: str, lot: str):
    """A pallet of 5 cases of ITEM_A in ``zone`` of ``site``, its case EPCs known."""
    p = await add_pallet(conn, n, site=site, zone=zone, lot=lot, cases=5)
    cases = [case_epc(n * 10 + i, ITEM_A) for i in range(1, 6)]
    for c in cases:
        await conn.execute(
            "INSERT INTO pallet_cases (site, epc, pallet, announced) VALUES (%s, %s, %s, true)",
            [site, c, p.sscc],
        )
    return p, cases


async def balances(conn, site: str) -> dict[tuple[str, str], int]:
    """(location, state) -> cases of ITEM_A at ``site``."""
    out: dict[tuple[str, str], int] = {}
    for r in await stock.positions(conn, site=site, sku=ITEM_A):
        key = (r.bucket.location, r.bucket.state.value)
        out[key] = out.get(key, 0) + r.qty
    return out


class Rig:
    def __init__(self, feed: Feed, clock: ManualClock) -> None:
        self.feed = feed
        self.clock = clock

    async def drain(self) -> None:
        for _ in range(100):
            if not await self.feed.run_once():
                return
        raise AssertionError("the feed does not catch up")


async def ship_at_source(conn, rig: Rig, pallets, *, at: float) -> None:
    """Each pallet to packing, weighed right (5 x 10 kg + 25 kg), out through door-1."""
    for i, p in enumerate(pallets):
        await event(
            conn, "zone_events", "edge-1", t(at + i), kind="arrived", epc=p.epc, zone="packing"
        )
        await event(
            conn,
            "weights",
            "edge-1",
            t(at + 5 + i),
            scale="scale-1",
            weight_kg=75.0,
            epc=p.epc,
            cases=[],
        )
    await rig.drain()


async def test_a_transfer_leaves_one_site_is_in_transit_and_is_received_at_the_other(
    database_url, mqtt_url, site
):
    one, two = f"{site}-1", f"{site}-2"
    await apply_migrations(database_url)
    s = settings(database_url, mqtt_url, one, two)
    clock = ManualClock(T0)
    async with (
        api(s, ingest=False, role=Role.ERP) as client,
        open_pool(database_url, max_size=2, timeout=5.0) as pool,
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn,
    ):
        contexts = [
            FeedContext(s, LAYOUT, clock, one),
            FeedContext(s, load_layout(DC2), clock, two),
        ]
        rig = Rig(Feed(pool, warehouse_registry(), contexts), clock)
        (p1, cases1), (p2, cases2) = [
            await tagged_pallet(conn, 1, one, "zone-a", "L1"),
            await tagged_pallet(conn, 2, one, "zone-c", "L2"),
        ]
        body = {"from_site": one, "to_site": two, "lines": [{"sku": ITEM_A, "qty": 10}]}
        key = {"Idempotency-Key": "tr-1"}
        r = await client.post("/api/transfers", json=body, headers=key)
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["status"] == "open" and made["id"].startswith("TR-")
        again = await client.post("/api/transfers", json=body, headers=key)
        assert again.json()["id"] == made["id"] and again.headers["Idempotent-Replayed"] == "true"
        tid = made["id"]
        assert made["lines"] == [
            {"line": 1, "sku": ITEM_A, "qty": 10, "allocated": 10, "picked": 0, "shipped": 0,
             "received": 0, "missing": 0}
        ]  # fmt: skip
        assert made["order_id"] and made["expected_at"] is None
        # reserved at the source; nothing at the destination yet
        assert await balances(conn, one) == {("zone-a", "reserved"): 5, ("zone-c", "reserved"): 5}
        assert await balances(conn, two) == {}

        await ship_at_source(conn, rig, [p1, p2], at=1)
        order = (await client.get(f"/api/orders/{made['order_id']}")).json()
        assert order["status"] == "loading" and order["customer"] == f"site:{two}"
        door = order["ship_door"]
        await passage(conn, "edge-1", p1.epc, cases1, door=door, direction="outbound", at=t(20))
        await rig.drain()
        got = (await client.get(f"/api/transfers/{tid}")).json()
        assert got["status"] == "open"  # one pallet of two on the road
        assert await balances(conn, one) == {("packing", "reserved"): 5}
        assert await balances(conn, two) == {("in_transit", "in_transit"): 5}

        await passage(conn, "edge-1", p2.epc, cases2, door=door, direction="outbound", at=t(22))
        await rig.drain()
        got = (await client.get(f"/api/transfers/{tid}")).json()
        assert got["status"] == "in_transit" and got["outcomes"] == []
        assert got["shipped_at"].startswith("2025-03-01T08:22:00")
        assert got["expected_at"].startswith("2025-03-01T10:22:00")  # + 120 min configured
        assert [(p["sscc"], p["cases"], p["door"]) for p in got["pallets"]] == [
            (p1.sscc, 5, door),
            (p2.sscc, 5, door),
        ]
        # gone from the source, in transit at the destination, visible as such
        assert await balances(conn, one) == {}
        assert await balances(conn, two) == {("in_transit", "in_transit"): 10}
        listed = (await client.get("/api/stock", params={"site": two})).json()["items"]
        assert [(b["zone"], b["state"], b["qty"]) for b in listed] == [
            ("in_transit", "in_transit", 5),
            ("in_transit", "in_transit", 5),
        ]
        assert await fetch(conn, "SELECT DISTINCT status FROM pallets WHERE site = %s", one) == [
            ("shipped",)
        ]
        on_road = (await client.get("/api/transfers", params={"status": "in_transit"})).json()
        assert [x["id"] for x in on_road["items"]] == [tid]

        # the destination's inbound passage of the same pallets; one comes a case short
        await passage(conn, "edge-2", p1.epc, cases1, door="door-5", direction="inbound", at=t(100))
        await rig.drain()
        got = (await client.get(f"/api/transfers/{tid}")).json()
        assert got["status"] == "in_transit"
        assert await balances(conn, two) == {
            ("door-5", "available"): 5,
            ("in_transit", "in_transit"): 5,
        }
        await passage(
            conn, "edge-2", p2.epc, cases2[:4], door="door-6", direction="inbound", at=t(110)
        )
        await rig.drain()
        got = (await client.get(f"/api/transfers/{tid}")).json()
        assert (got["status"], got["outcomes"]) == ("received", ["short"])
        assert got["received_at"].startswith("2025-03-01T09:50:00")
        assert got["lines"][0] == {
            "line": 1, "sku": ITEM_A, "qty": 10, "allocated": 10, "picked": 10, "shipped": 10,
            "received": 9, "missing": 1,
        }  # fmt: skip
        assert got["pallets"][1]["missing_cases"] == [cases2[4]]
        assert await balances(conn, two) == {
            ("door-5", "available"): 5,
            ("door-6", "available"): 4,
            ("in_transit", "in_transit"): 1,  # the missing case: for a person to settle
        }
        ((subject, detail),) = await fetch(
            conn, "SELECT subject, detail FROM alerts WHERE kind = 'transfer_short'"
        )
        assert subject == p2.sscc and detail["missing"] == [cases2[4]]
        assert detail["transfer"] == tid
        # a received pallet of the destination: put away by its zone arrival
        await event(
            conn, "zone_events", "edge-2", t(120), kind="arrived", epc=p1.epc, zone="zone-d"
        )
        await rig.drain()
        assert (await balances(conn, two))[("zone-d", "available")] == 5
        assert await fetch(
            conn, "SELECT count(*) FROM alerts WHERE kind = 'unexpected_receipt'"
        ) == [(0,)]
        # the ERP heard of the transfer's steps, not of an internal order
        assert await fetch(conn, "SELECT type, subject_id FROM webhook_events ORDER BY id") == [
            ("transfer.reserved", tid),
            ("transfer.picked", tid),
            ("transfer.shipped", tid),
            ("transfer.delivered", tid),
        ]
        # lists filter by site (leaving or coming) and status
        for where in (one, two):
            page = (await client.get("/api/transfers", params={"site": where})).json()
            assert [x["id"] for x in page["items"]] == [tid]
        done = await client.get("/api/transfers", params={"status": "open"})
        assert done.json() == {"items": [], "next": None}


async def test_a_transfer_not_come_by_its_expected_arrival_is_late(database_url, mqtt_url, site):
    one, two = f"{site}-1", f"{site}-2"
    await apply_migrations(database_url)
    s = settings(database_url, mqtt_url, one, two)
    clock = ManualClock(T0)
    async with (
        api(s, ingest=False, role=Role.OPERATOR) as client,
        open_pool(database_url, max_size=2, timeout=5.0) as pool,
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn,
    ):
        contexts = [
            FeedContext(s, LAYOUT, clock, one),
            FeedContext(s, load_layout(DC2), clock, two),
        ]
        rig = Rig(Feed(pool, warehouse_registry(), contexts), clock)
        p, cases = await tagged_pallet(conn, 1, one, "zone-a", "L1")
        body = {
            "from_site": one,
            "to_site": two,
            "lines": [{"sku": ITEM_A, "qty": 5}],
            "transit_min": 60,
        }
        tid = (await client.post("/api/transfers", json=body)).json()["id"]
        await ship_at_source(conn, rig, [p], at=1)
        await passage(conn, "edge-1", p.epc, cases, door="door-1", direction="outbound", at=t(10))
        await rig.drain()
        got = (await client.get(f"/api/transfers/{tid}")).json()
        assert got["status"] == "in_transit" and got["expected_at"].startswith("2025-03-01T09:10")

        clock.now = t(10 + 60 + 29)  # within the grace (30 min)
        await rig.feed.run_timers(force=True)
        assert await fetch(conn, "SELECT count(*) FROM alerts WHERE kind = 'transfer_late'") == [
            (0,)
        ]
        clock.now = t(10 + 60 + 31)
        await rig.feed.run_timers(force=True)
        await rig.feed.run_timers(force=True)  # once only
        ((subject, s_site, detail),) = await fetch(
            conn, "SELECT subject, site, detail FROM alerts WHERE kind = 'transfer_late'"
        )
        assert (subject, s_site, detail["pallets"]) == (tid, two, [p.sscc])
        got = (await client.get(f"/api/transfers/{tid}")).json()
        assert (got["status"], got["outcomes"]) == ("in_transit", ["late"])
        assert got["late_at"].startswith("2025-03-01T09:41")

        # it comes later after all: received, still late, no second alert
        await passage(conn, "edge-2", p.epc, cases, door="door-5", direction="inbound", at=t(130))
        await rig.drain()
        got = (await client.get(f"/api/transfers/{tid}")).json()
        assert (got["status"], got["outcomes"]) == ("received", ["late"])
        assert await balances(conn, two) == {("door-5", "available"): 5}
        assert await fetch(conn, "SELECT count(*) FROM alerts WHERE kind = 'transfer_late'") == [
            (1,)
        ]
        types = [r[0] for r in await fetch(conn, "SELECT type FROM webhook_events ORDER BY id")]
        assert types[-2:] == ["transfer.delayed", "transfer.delivered"]


async def test_bad_transfer_requests_are_refused_naming_the_field(database_url, mqtt_url, site):
    one, two = f"{site}-1", f"{site}-2"
    await apply_migrations(database_url)
    async with api(settings(database_url, mqtt_url, one, two), ingest=False, role=Role.ERP) as c:
        line = [{"sku": ITEM_A, "qty": 1}]
        cases = [
            ({"from_site": one, "to_site": one, "lines": line}, f"to_site: '{one}' is the source"),
            (
                {"from_site": "nowhere", "to_site": two, "lines": line},
                "from_site: 'nowhere' is not",
            ),
            ({"from_site": one, "to_site": two, "lines": line * 2}, "lines[1].sku:"),
            (
                {"from_site": one, "to_site": two, "lines": [{"sku": gtin(9999), "qty": 1}]},
                f"lines[0].sku: '{gtin(9999)}' is not an item",
            ),
        ]
        for body, said in cases:
            r = await c.post("/api/transfers", json=body)
            assert r.status_code == 422 and said in str(r.json()["detail"]), (body, r.text)
        assert (await c.get("/api/transfers/TR-999")).status_code == 404
        customer = await c.get(
            "/api/transfers",
            headers={"Authorization": (await _customer(c))},
        )
        assert customer.status_code == 403


async def _customer(client) -> str:
    return (await as_user(client, Role.CUSTOMER, customer="acme"))["Authorization"]


async def test_cancelling_a_transfer_gives_its_stock_back_and_closes_it(
    database_url, mqtt_url, site
):
    """Cancelled while one pallet is already in packing: both reservations given back
    through the ledger, the open pick task cancelled, the packed pallet sent back to
    storage on a put-away task, the transfer ``cancelled``; a transfer on the road, or
    one cancelled already, is refused with 409; one whose order is cancelled through
    the orders API is closed too."""
    one, two = f"{site}-1", f"{site}-2"
    await apply_migrations(database_url)
    s = settings(database_url, mqtt_url, one, two)
    clock = ManualClock(T0)
    async with (
        api(s, ingest=False, role=Role.ERP) as client,
        open_pool(database_url, max_size=2, timeout=5.0) as pool,
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn,
    ):
        contexts = [
            FeedContext(s, LAYOUT, clock, one),
            FeedContext(s, load_layout(DC2), clock, two),
        ]
        rig = Rig(Feed(pool, warehouse_registry(), contexts), clock)
        p1, _ = await tagged_pallet(conn, 1, one, "zone-a", "L1")
        await tagged_pallet(conn, 2, one, "zone-c", "L2")
        body = {"from_site": one, "to_site": two, "lines": [{"sku": ITEM_A, "qty": 10}]}
        made = (await client.post("/api/transfers", json=body)).json()
        tid, order_id = made["id"], made["order_id"]
        # one pallet picked to packing, the other still on its shelf
        await event(conn, "zone_events", "edge-1", t(1), kind="arrived", epc=p1.epc, zone="packing")
        await rig.drain()
        assert await balances(conn, one) == {
            ("packing", "reserved"): 5,
            ("zone-c", "reserved"): 5,
        }

        r = await client.post(f"/api/transfers/{tid}/cancel", json={"note": "not needed"})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["status"] == "cancelled" and got["order_status"] == "cancelled"
        assert got["cancelled_at"] is not None and got["cancelled_by"]
        assert got["shipped_at"] is None and got["pallets"] == []
        # the reservations given back where the cases are, through the ledger
        assert await balances(conn, one) == {
            ("packing", "available"): 5,
            ("zone-c", "available"): 5,
        }
        assert await balances(conn, two) == {}
        assert await fetch(
            conn,
            "SELECT location, state, qty FROM ledger_entries WHERE site = %s"
            " AND kind = 'unreserve' ORDER BY location, qty",
            one,
        ) == [
            ("packing", "reserved", -5),
            ("packing", "available", 5),
            ("zone-c", "reserved", -5),
            ("zone-c", "available", 5),
        ]
        # open tasks cancelled; the pallet off its shelf goes back on a put-away task
        other = await _other_pallet(conn, order_id, p1.sscc)
        assert await fetch(
            conn, "SELECT status FROM pick_tasks WHERE order_id = %s AND pallet = %s",
            order_id, other,
        ) == [("cancelled",)]  # fmt: skip
        ((from_location,),) = await fetch(
            conn,
            "SELECT from_location FROM putaway_tasks WHERE site = %s AND pallet = %s"
            " AND status = 'open'",
            one,
            p1.sscc,
        )
        assert from_location == "packing"
        listed = (await client.get("/api/transfers", params={"status": "cancelled"})).json()
        assert [x["id"] for x in listed["items"]] == [tid]
        # subscribers hear of it
        assert ("transfer.cancelled", tid) in await fetch(
            conn, "SELECT type, subject_id FROM webhook_events ORDER BY id"
        )

        again = await client.post(f"/api/transfers/{tid}/cancel")
        assert again.status_code == 409 and "cancelled already" in again.json()["detail"]
        assert (await client.post("/api/transfers/TR-999999/cancel")).status_code == 404

        # on the road: refused, nothing changes
        body = {"from_site": one, "to_site": two, "lines": [{"sku": ITEM_A, "qty": 5}]}
        road = (await client.post("/api/transfers", json=body)).json()
        (moving,) = [
            p for p in (await client.get(f"/api/orders/{road['order_id']}")).json()["pick_tasks"]
        ]
        sscc = moving["pallet"]
        epc, cases = await _pallet_epcs(conn, one, sscc)
        pallet = type("P", (), {"epc": epc})
        await ship_at_source(conn, rig, [pallet], at=30)
        door = (await client.get(f"/api/orders/{road['order_id']}")).json()["ship_door"]
        await passage(conn, "edge-1", epc, cases, door=door, direction="outbound", at=t(40))
        await rig.drain()
        assert (await client.get(f"/api/transfers/{road['id']}")).json()["status"] == "in_transit"
        refused = await client.post(f"/api/transfers/{road['id']}/cancel")
        assert refused.status_code == 409, refused.text
        assert "is in_transit" in refused.json()["detail"]
        assert await balances(conn, two) == {("in_transit", "in_transit"): 5}

        # cancelling a transfer's order through the orders API closes the transfer too
        await tagged_pallet(conn, 3, one, "zone-b", "L3")
        third = (await client.post("/api/transfers", json=body)).json()
        r = await client.post(f"/api/orders/{third['order_id']}/cancel")
        assert r.status_code == 200, r.text
        got = (await client.get(f"/api/transfers/{third['id']}")).json()
        assert (got["status"], got["order_status"]) == ("cancelled", "cancelled")


async def _other_pallet(conn, order_id: str, not_this: str) -> str:
    ((sscc,),) = await fetch(
        conn, "SELECT pallet FROM pick_tasks WHERE order_id = %s AND pallet <> %s",
        order_id, not_this,
    )  # fmt: skip
    return str(sscc)


async def _pallet_epcs(conn, site: str, sscc: str) -> tuple[str, list[str]]:
    ((epc,),) = await fetch(
        conn, "SELECT epc FROM pallets WHERE site = %s AND sscc = %s", site, sscc
    )
    rows = await fetch(
        conn,
        "SELECT epc FROM pallet_cases WHERE site = %s AND pallet = %s ORDER BY epc",
        site,
        sscc,
    )
    return str(epc), [str(r[0]) for r in rows]
