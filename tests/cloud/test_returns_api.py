"""Returns (RMA) end to end on real PostgreSQL: an order is shipped through its door by
the warehouse feed, its customer asks back part of it over HTTP, the goods come back
through a door into quarantine, an operator's inspection restocks or writes them off;
the balances are checked at every step, and what a customer may and may not do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cloudkit import all_pages, api, as_user
from feedkit import connect, feed_rig, fetch, insert_passage, insert_weight, insert_zone_event
from orderkit import FLOOR, ITEM_A, ITEM_B, T0, add_pallet

from cloud.db import orders as orders_db
from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role
from protocols.epc import Sgtin96

CUSTOMER = Role.CUSTOMER


def case(n: int, gtin: str) -> str:
    return Sgtin96.from_gtin(gtin, company_prefix_length=7, serial=n, filter=0).to_hex()


A_CASES = [case(n, ITEM_A) for n in range(1, 11)]
B_CASES = [case(n, ITEM_B) for n in range(101, 106)]


def t(seconds: float):
    return T0 + timedelta(seconds=seconds)


async def balance(conn, sku: str) -> dict[tuple[str, str, str], int]:
    """(location, state, pallet) -> cases of ``sku`` on the books."""
    rows = await fetch(
        conn,
        "SELECT location, state, pallet, qty FROM stock_positions WHERE sku = %s AND qty > 0",
        sku,
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


async def ledger_sum(conn, sku: str) -> int:
    rows = await fetch(conn, "SELECT COALESCE(sum(qty), 0) FROM ledger_entries WHERE sku = %s", sku)
    return int(rows[0][0])


@pytest.fixture
async def shipped(database_url, site) -> Any:
    """An order of acme (10 cases of A on pallet 1, 5 of B on pallet 2, their case
    EPCs known) picked, packed and shipped through door-1 by the feed; and a feed rig."""
    await apply_migrations(database_url)
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        p1 = await add_pallet(conn, 1, zone="zone-a", site=site)
        p2 = await add_pallet(conn, 2, sku=ITEM_B, lot="B1", cases=5, zone="zone-b", site=site)
        for p, cases in ((p1, A_CASES), (p2, B_CASES)):
            for epc in cases:
                await conn.execute(
                    "INSERT INTO pallet_cases (site, epc, pallet, announced) VALUES (%s, %s, %s,"
                    " true)",
                    [site, epc, p.sscc],
                )
        created = await orders_db.create_order(
            conn,
            site=site,
            floor=FLOOR,
            new=orders_db.NewOrder(
                "acme", (orders_db.NewLine(ITEM_A, 10), orders_db.NewLine(ITEM_B, 5))
            ),
            now=T0,
        )
        oid = created.detail.order.id
        unshipped = await orders_db.create_order(
            conn,
            site=site,
            floor=FLOOR,
            new=orders_db.NewOrder("acme", (orders_db.NewLine(ITEM_A, 1),)),
            now=T0,
        )
        await insert_zone_event(conn, p1.epc, "packing", at=t(60))
        await insert_zone_event(conn, p2.epc, "packing", at=t(70))
        await insert_weight(conn, p1.epc, 125.0, at=t(100))  # 10 x 10 kg + 25 kg tare
        await insert_weight(conn, p2.epc, 75.0, scale="scale-2", at=t(110))
        await rig.drain()
        await insert_passage(conn, p1.epc, door="door-1", direction="outbound", at=t(200))
        await insert_passage(conn, p2.epc, door="door-1", direction="outbound", at=t(210))
        await rig.drain()
        status = await fetch(conn, "SELECT status FROM orders WHERE id = %s", oid)
        assert status == [("shipped",)]
        assert await balance(conn, ITEM_A) == {} and await ledger_sum(conn, ITEM_A) == 0
        yield {
            "rig": rig,
            "conn": conn,
            "order": oid,
            "unshipped": unshipped.detail.order.id,
            "p1": p1,
            "p2": p2,
        }


async def test_a_return_goes_to_quarantine_and_back_to_stock_or_written_off(
    shipped, database_url, site
):
    rig, conn, oid, p1 = shipped["rig"], shipped["conn"], shipped["order"], shipped["p1"]
    settings = rig.settings
    async with api(settings, ingest=False, role=CUSTOMER, customer="acme") as client:
        # another customer's order does not exist for it; nor does a return of it
        other = await as_user(client, CUSTOMER, customer="globex")
        r = await client.post(
            "/api/returns",
            json={"order_id": oid, "lines": [{"sku": ITEM_A, "qty": 1}]},
            headers=other,
        )
        assert r.status_code == 404, r.text
        # more than shipped, an order that shipped nothing, both forms at once
        r = await client.post(
            "/api/returns", json={"order_id": oid, "lines": [{"sku": ITEM_A, "qty": 11}]}
        )
        assert r.status_code == 422 and "at most 10" in r.json()["detail"]
        r = await client.post(
            "/api/returns",
            json={"order_id": shipped["unshipped"], "lines": [{"sku": ITEM_A, "qty": 1}]},
        )
        assert r.status_code == 409 and "shipped nothing" in r.json()["detail"]
        r = await client.post(
            "/api/returns",
            json={"order_id": oid, "lines": [{"sku": ITEM_A, "qty": 1}], "epcs": [A_CASES[0]]},
        )
        assert r.status_code == 422

        # the customer asks 4 cases of A back (with an Idempotency-Key: a retry is the same)
        req = {"order_id": oid, "lines": [{"sku": ITEM_A, "qty": 4}], "reason": "wrong colour"}
        r = await client.post("/api/returns", json=req, headers={"Idempotency-Key": "rma-1"})
        assert r.status_code == 201, r.text
        again = await client.post("/api/returns", json=req, headers={"Idempotency-Key": "rma-1"})
        assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
        rma = r.json()
        rid = rma["id"]
        assert rid.startswith("RMA-") and rma["status"] == "requested"
        assert rma["customer"] == "acme" and rma["order_id"] == oid
        assert [(x["sku"], x["qty"], x["received"]) for x in rma["lines"]] == [(ITEM_A, 4, 0)]
        assert await balance(conn, ITEM_A) == {}
        # another customer sees neither it nor it in a list
        assert (await client.get(f"/api/returns/{rid}", headers=other)).status_code == 404
        assert (await client.get("/api/returns", headers=other)).json()["items"] == []
        # the customer may not inspect
        r = await client.post(
            f"/api/returns/{rid}/inspect",
            json={"decisions": [{"sku": ITEM_A, "qty": 1, "decision": "restock"}]},
        )
        assert r.status_code == 403

        # pallet 1 comes back through door-2 with 4 of its cases heard: quarantine
        heard = A_CASES[:4]
        await insert_passage(conn, p1.epc, heard, door="door-2", at=t(3600))
        await rig.drain()
        got = (await client.get(f"/api/returns/{rid}")).json()
        assert got["status"] == "received"
        assert [(x["received"], x["quarantined"]) for x in got["lines"]] == [(4, 4)]
        (rec,) = got["receipts"]
        assert (rec["pallet"], rec["lot"], rec["qty"], rec["door"]) == (p1.sscc, "L1", 4, "door-2")
        assert sorted(c["epc"] for c in got["cases"] if c["received"]) == sorted(heard)
        assert await balance(conn, ITEM_A) == {("door-2", "quarantine", p1.sscc): 4}
        assert await ledger_sum(conn, ITEM_A) == 4
        # quarantined goods are not available: an order for them is backordered
        avail = await fetch(
            conn,
            "SELECT COALESCE(sum(qty), 0) FROM stock_positions WHERE sku = %s"
            " AND state = 'available'",
            ITEM_A,
        )
        assert avail == [(0,)]
        assert await fetch(conn, "SELECT status FROM pallets WHERE sscc = %s", p1.sscc) == [
            ("received",)
        ]
        # the same pallet again changes nothing
        await insert_passage(conn, p1.epc, heard, door="door-2", at=t(3700))
        await rig.drain()
        assert await balance(conn, ITEM_A) == {("door-2", "quarantine", p1.sscc): 4}

        # an operator writes one case off by its EPC and restocks the other three
        op = await as_user(client, Role.OPERATOR)
        r = await client.post(
            f"/api/returns/{rid}/inspect",
            headers=op,
            json={
                "decisions": [
                    {"epc": heard[0], "decision": "write_off"},
                    {"sku": ITEM_A, "qty": 3, "decision": "restock"},
                ]
            },
        )
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["status"] == "closed"
        assert [(x["restocked"], x["written_off"], x["quarantined"]) for x in done["lines"]] == [
            (3, 1, 0)
        ]
        assert {c["epc"]: c["decision"] for c in done["cases"]}[heard[0]] == "write_off"
        assert await balance(conn, ITEM_A) == {("door-2", "available", p1.sscc): 3}
        assert await ledger_sum(conn, ITEM_A) == 3
        causes = await fetch(
            conn,
            "SELECT kind, state, qty FROM ledger_entries WHERE cause_kind = 'return'"
            " AND cause_id = %s ORDER BY id",
            rid,
        )
        assert causes == [
            ("receipt", "quarantine", 4),
            ("adjust", "quarantine", -1),
            ("release", "quarantine", -3),
            ("release", "available", 3),
        ]
        # nothing is decided twice
        r = await client.post(
            f"/api/returns/{rid}/inspect",
            headers=op,
            json={"decisions": [{"sku": ITEM_A, "qty": 1, "decision": "restock"}]},
        )
        assert r.status_code == 409 and "0 of them came back" in r.json()["detail"]

        # the customer's order timeline tells the return
        order = (await client.get(f"/api/orders/{oid}")).json()
        steps = [(e["event"], e["status"]) for e in order["timeline"] if "return" in e["event"]]
        assert steps == [
            ("return_requested", "shipped"),
            ("return_received", "shipped"),
            ("return_restocked", "shipped"),
            ("return_written_off", "shipped"),
        ]
        assert all(
            e["cause"] == {"kind": "return", "id": rid}
            for e in order["timeline"]
            if "return" in e["event"]
        )
        # and its webhooks: order.returned when the goods came back
        events = await fetch(
            conn, "SELECT type, payload->'data' FROM webhook_events WHERE subject_id = %s", oid
        )
        returned = [d for ty, d in events if ty == "order.returned"]
        assert len(returned) == 1 and returned[0]["return_id"] == rid and returned[0]["cases"] == 4

        # the customer still may not ask back more than what is left (10 - 4)
        r = await client.post(
            "/api/returns", json={"order_id": oid, "lines": [{"sku": ITEM_A, "qty": 7}]}
        )
        assert r.status_code == 422 and "at most 6" in r.json()["detail"]


async def test_a_return_by_epcs_takes_a_lone_case_loose_and_the_rest_with_its_pallet(shipped, site):
    rig, conn, oid, p2 = shipped["rig"], shipped["conn"], shipped["order"], shipped["p2"]
    async with api(rig.settings, ingest=False, role=Role.ERP) as client:
        r = await client.post(
            "/api/returns", json={"order_id": oid, "epcs": [B_CASES[0], B_CASES[1].lower()]}
        )
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        assert [(x["sku"], x["qty"]) for x in r.json()["lines"]] == [(ITEM_B, 2)]
        # a case the order did not ship, or one on another return, is refused
        r = await client.post("/api/returns", json={"order_id": oid, "epcs": [B_CASES[1]]})
        assert r.status_code == 422 and "on another return" in r.json()["detail"]

        await insert_passage(conn, B_CASES[0], door="door-3", at=t(4000))  # a lone case
        await rig.drain()
        got = (await client.get(f"/api/returns/{rid}")).json()
        assert got["status"] == "receiving"
        assert await balance(conn, ITEM_B) == {("door-3", "quarantine", ""): 1}

        # the pallet comes with both named cases heard: only the one not come yet
        await insert_passage(conn, p2.epc, B_CASES[:3], door="door-3", at=t(4100))
        await rig.drain()
        got = (await client.get(f"/api/returns/{rid}")).json()
        assert got["status"] == "received"
        assert await balance(conn, ITEM_B) == {
            ("door-3", "quarantine", ""): 1,
            ("door-3", "quarantine", p2.sscc): 1,
        }
        # the pallet is put away (its quarantined stock follows it) before inspection
        await insert_zone_event(conn, p2.epc, "zone-b", at=t(4200))
        await rig.drain()
        assert await balance(conn, ITEM_B) == {
            ("door-3", "quarantine", ""): 1,
            ("zone-b", "quarantine", p2.sscc): 1,
        }
        op = await as_user(client, Role.OPERATOR)
        r = await client.post(
            f"/api/returns/{rid}/inspect",
            headers=op,
            json={
                "decisions": [
                    {"epc": B_CASES[0], "decision": "write_off"},
                    {"epc": B_CASES[1], "decision": "restock"},
                ]
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "closed"
        assert await balance(conn, ITEM_B) == {("zone-b", "available", p2.sscc): 1}
        pages = await all_pages(client, "/api/returns", 1)
        assert [x["id"] for page in pages for x in page] == [rid]
