"""``/api/orders`` over HTTP: validation naming the field, 201 / 200 / 409 for client
ids, FEFO reservations in the answer, lists paged and filtered, the order with its
timeline, route stats, release and cancel; what a customer's token sees of them.

The client is the ERP's (it places and reads orders); the operator's steps (release,
route stats, scans) and a customer's reads send their own tokens."""

from __future__ import annotations

from datetime import date

import pytest
from cloudkit import all_pages, api, as_user
from feedkit import connect, settings_for
from orderkit import FLOOR, ITEM_A, ITEM_B, add_pallet, gtin, later

from cloud.db import order_flow
from cloud.db.migrate import apply_migrations
from cloud.warehouse.ledger import Cause, CauseKind
from cloud.warehouse.packing import Tolerance
from cloud.warehouse.roles import Role

OP = Role.OPERATOR


@pytest.fixture
async def client(database_url, site):
    await apply_migrations(database_url)
    async with await connect(database_url) as conn:
        await add_pallet(conn, 1, lot="LATE", expiry=date(2025, 12, 1), site=site)
        await add_pallet(conn, 2, lot="EARLY", expiry=date(2025, 6, 1), zone="zone-c", site=site)
        await add_pallet(conn, 3, sku=ITEM_B, lot="B1", zone="zone-b", site=site)
    async with api(settings_for(database_url, site), ingest=False, role=Role.ERP, name="erp") as c:
        yield c


def body(*lines: tuple[str, int], **kw):
    return {"customer": "acme", "lines": [{"sku": s, "qty": q} for s, q in lines], **kw}


async def test_an_order_is_created_with_its_fefo_reservations_pick_list_and_timeline(client):
    r = await client.post("/api/orders", json=body((ITEM_A, 10), (ITEM_B, 4), order="PO-1"))
    assert r.status_code == 201, r.text
    o = r.json()
    assert o["id"].startswith("SO-") and o["order"] == "PO-1" and o["status"] == "allocated"
    assert [(x["sku"], x["qty"], x["allocated"]) for x in o["lines"]] == [
        (ITEM_A, 10, 10),
        (ITEM_B, 4, 4),
    ]
    assert [(x["lot"], x["expiry"], x["location"], x["qty"]) for x in o["reservations"]] == [
        ("EARLY", "2025-06-01", "zone-c", 10),
        ("B1", "2025-09-01", "zone-b", 4),
    ]
    assert len(o["pick_tasks"]) == 2 and all(t["id"].startswith("pick-") for t in o["pick_tasks"])
    assert o["pick_list"]["route_m"] <= o["pick_list"]["naive_route_m"]
    assert [(e["status"], e["event"], e["cause"]) for e in o["timeline"]] == [
        ("received", "received", None),
        ("allocated", "allocated", {"kind": "order", "id": o["id"]}),
    ]
    got = await client.get(f"/api/orders/{o['id']}")
    assert got.status_code == 200 and got.json() == o


async def test_the_same_order_id_and_body_again_is_200_and_another_body_409(client):
    first = await client.post("/api/orders", json=body((ITEM_A, 10), order="PO-9"))
    again = await client.post("/api/orders", json=body((ITEM_A, 10), order="PO-9"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = await client.post("/api/orders", json=body((ITEM_A, 11), order="PO-9"))
    assert other.status_code == 409 and "PO-9" in other.json()["detail"]
    listed = (await client.get("/api/orders")).json()["items"]
    assert [o["id"] for o in listed] == [first.json()["id"]]


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (body((gtin(4242), 1)), f"lines[0].sku: '{gtin(4242)}' is not an item"),
        (body((ITEM_A, 0)), "qty"),
        (body(("00614141123453", 1)), "check digit"),
        (body(("123", 1)), "sku"),
        (body((ITEM_A, 1), ship_door="door-9"), "ship_door: 'door-9' is not a door"),
        ({**body((ITEM_A, 1)), "priority": 1}, "priority"),
        ({"customer": "acme", "lines": []}, "lines"),
        (body((ITEM_A, 1), requested_at="2025-03-01T10:00:00"), "requested_at"),
        (body((ITEM_A, 1), customer=""), "customer"),
    ],
    ids=[
        "unknown sku",
        "qty 0",
        "bad check digit",
        "not a gtin",
        "unknown door",
        "unknown field",
        "no lines",
        "time without zone",
        "empty customer",
    ],
)
async def test_bad_orders_are_a_422_naming_the_field_and_change_nothing(client, payload, named):
    r = await client.post("/api/orders", json=payload)
    assert r.status_code == 422, r.text
    assert named in r.text
    assert (await client.get("/api/orders")).json()["items"] == []
    positions = await client.get("/api/orders/route-stats", headers=await as_user(client, OP))
    assert positions.json()["orders"] == 0


async def test_short_stock_is_partial_then_backordered(client):
    partial = (await client.post("/api/orders", json=body((ITEM_A, 25)))).json()
    assert partial["status"] == "partially_allocated" and partial["lines"][0]["allocated"] == 20
    back = (await client.post("/api/orders", json=body((ITEM_A, 1)))).json()
    assert back["status"] == "backordered" and back["pick_tasks"] == []


async def test_orders_are_listed_newest_first_paged_and_filtered(client):
    ids = []
    for i, customer in enumerate(["acme", "globex", "acme"]):
        r = await client.post("/api/orders", json=body((ITEM_B, 1), customer=customer))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        assert r.json()["status"] == ("allocated" if i == 0 else "backordered")
    pages = await all_pages(client, "/api/orders", limit=2)
    assert [o["id"] for page in pages for o in page] == ids[::-1]
    acme = (await client.get("/api/orders", params={"customer": "acme"})).json()["items"]
    assert [o["id"] for o in acme] == [ids[2], ids[0]]
    back = (await client.get("/api/orders", params={"status": "backordered"})).json()["items"]
    assert [o["id"] for o in back] == [ids[2], ids[1]]
    bad = await client.get("/api/orders", params={"status": "lost"})
    assert bad.status_code == 422 and "status" in bad.text


async def test_a_customer_token_sees_only_its_own_orders_and_another_s_is_404(client):
    mine = (await client.post("/api/orders", json=body((ITEM_A, 1), customer="acme"))).json()
    theirs = (await client.post("/api/orders", json=body((ITEM_A, 1), customer="globex"))).json()
    acme = await as_user(client, Role.CUSTOMER, customer="acme")
    globex = await as_user(client, Role.CUSTOMER, customer="globex")

    listed = (await client.get("/api/orders", headers=acme)).json()["items"]
    assert [o["id"] for o in listed] == [mine["id"]]
    asked = await client.get("/api/orders", params={"customer": "globex"}, headers=acme)
    assert asked.status_code == 200 and asked.json()["items"] == []
    listed = (await client.get("/api/orders", headers=globex)).json()["items"]
    assert [o["id"] for o in listed] == [theirs["id"]]
    everyone = (await client.get("/api/orders")).json()["items"]  # the erp's own token
    assert [o["id"] for o in everyone] == [theirs["id"], mine["id"]]

    own = await client.get(f"/api/orders/{mine['id']}", headers=acme)
    assert own.status_code == 200, own.text
    assert own.json() == (await client.get(f"/api/orders/{mine['id']}")).json()
    hidden = await client.get(f"/api/orders/{theirs['id']}", headers=acme)
    assert hidden.status_code == 404  # as if it did not exist: the same answer as for none
    assert hidden.json() == {"detail": f"order: {theirs['id']!r} does not exist"}
    assert (await client.get(f"/api/orders/{theirs['id']}", headers=globex)).status_code == 200


async def test_a_customer_token_cannot_order_for_another_customer(client):
    acme = await as_user(client, Role.CUSTOMER, customer="acme")
    r = await client.post("/api/orders", json=body((ITEM_A, 1), customer="globex"), headers=acme)
    assert r.status_code == 403
    assert r.json() == {"detail": "role 'customer' may not POST /api/orders"}
    # a customer reads its orders; they are placed by the ERP (issue 7: a customer sees
    # its own orders and the availability API), so not even for itself
    mine = await client.post("/api/orders", json=body((ITEM_A, 1), customer="acme"), headers=acme)
    assert mine.status_code == 403
    theirs = (await client.post("/api/orders", json=body((ITEM_A, 1), customer="globex"))).json()
    cancel = await client.post(f"/api/orders/{theirs['id']}/cancel", headers=acme)
    assert cancel.status_code == 403
    listed = (await client.get("/api/orders")).json()["items"]
    assert [(o["id"], o["status"]) for o in listed] == [(theirs["id"], "allocated")]


async def test_unknown_orders_are_404(client):
    r = await client.get("/api/orders/SO-999999")
    assert r.status_code == 404 and "SO-999999" in r.json()["detail"]
    release = await client.post("/api/orders/SO-999999/release", headers=await as_user(client, OP))
    assert release.status_code == 404


async def test_route_stats_report_the_route_against_the_naive_order(client):
    r = await client.post("/api/orders", json=body((ITEM_A, 20), (ITEM_B, 10)))
    o = r.json()
    stats = (await client.get("/api/orders/route-stats", headers=await as_user(client, OP))).json()
    assert stats["orders"] == 1
    assert stats["route_m"] == o["pick_list"]["route_m"]
    assert stats["naive_route_m"] == o["pick_list"]["naive_route_m"]
    assert stats["route_m"] < stats["naive_route_m"]  # zone-c, zone-a, zone-b zigzags
    assert stats["saving"] == pytest.approx(stats["mean_saving"]) and stats["saving"] > 0


async def test_release_needs_a_hold_and_cancel_gives_the_stock_back(client):
    o = (await client.post("/api/orders", json=body((ITEM_A, 10)))).json()
    r = await client.post(
        f"/api/orders/{o['id']}/release", json={"by": "ops"}, headers=await as_user(client, OP)
    )
    assert r.status_code == 409 and "only an order on_hold is released" in r.json()["detail"]
    r = await client.post(f"/api/orders/{o['id']}/cancel", json={"by": "ops", "note": "dup"})
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["status"] == "cancelled" and c["reservations"][0]["released"] == 10
    # the token's user did it, on behalf of whom the body says
    assert c["timeline"][-1]["cause"] == {"kind": "user", "id": "erp (for ops)"}
    assert (await client.post(f"/api/orders/{o['id']}/cancel")).status_code == 409
    again = (await client.post("/api/orders", json=body((ITEM_A, 10)))).json()
    assert again["status"] == "allocated"
    assert again["reservations"][0]["lot"] == "EARLY"  # given back, and still first to expire


async def test_the_openapi_document_describes_the_order_routes(client):
    doc = (await client.get("/openapi.json")).json()
    for path in ["/api/orders", "/api/orders/{order_id}", "/api/orders/route-stats"]:
        assert path in doc["paths"], path
    assert "409" in doc["paths"]["/api/orders"]["post"]["responses"]


async def test_a_ship_scan_at_the_door_is_the_same_door_check_as_a_passage(client, site):
    o = (await client.post("/api/orders", json=body((ITEM_B, 10)))).json()
    (task,) = o["pick_tasks"]
    url = client.app.state.cloud.settings.database_url
    async with await connect(url) as conn, conn.transaction():
        await order_flow.weigh_pallet(
            conn,
            site=site,
            sscc=task["pallet"],
            weight_kg=125.0,
            scale="scale-1",
            zone="packing",
            time=later(10),
            now=later(10),
            cause=Cause(CauseKind.WEIGHT, "1"),
            floor=FLOOR,
            tolerance=Tolerance(),
        )
    assert (await client.get(f"/api/orders/{o['id']}")).json()["status"] == "loading"
    operator = await as_user(client, OP)
    wrong = await client.post(
        "/api/scans",
        json={"barcode": f"(00){task['pallet']}", "action": "ship", "location": "door-4"},
        headers=operator,
    )
    assert wrong.status_code == 201, wrong.text
    check = wrong.json()["door_check"]
    assert (check["verdict"], check["reason"], check["order"], check["held"]) == (
        "mis_shipment",
        "wrong_door",
        o["id"],
        [o["id"]],
    )
    assert check["alert"] is not None
    held = (await client.get(f"/api/orders/{o['id']}")).json()
    assert held["status"] == "on_hold" and held["timeline"][-1]["cause"]["kind"] == "scan"
    right = await client.post(
        "/api/scans",
        json={"barcode": f"(00){task['pallet']}", "action": "ship", "location": "door-1"},
        headers=operator,
    )
    assert right.status_code == 201, right.text
    assert right.json()["door_check"]["verdict"] == "ship"
    assert [(e["kind"], e["qty"]) for e in right.json()["entries"]] == [
        ("pick", -10),
        ("pick", 10),
        ("ship", -10),
    ]
    bad = await client.post(
        "/api/scans",
        json={"barcode": f"(00){task['pallet']}", "action": "ship", "location": "zone-a"},
        headers=operator,
    )
    assert bad.status_code == 422 and "a ship scan is taken at a door" in bad.json()["detail"]
