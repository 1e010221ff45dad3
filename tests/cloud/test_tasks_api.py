"""``/api/tasks`` over HTTP: pick, ship and put-away tasks listed and paged for the
workers, reported done (once), cancelled ones refused."""

from __future__ import annotations

import pytest
from cloudkit import all_pages, api, as_user
from feedkit import connect, settings_for
from orderkit import FLOOR, ITEM_A, ITEM_B, T0, add_pallet, later

from cloud.db import order_flow, tasks
from cloud.db.migrate import apply_migrations
from cloud.warehouse.ledger import Cause, CauseKind
from cloud.warehouse.packing import Tolerance
from cloud.warehouse.roles import Role


@pytest.fixture
async def client(database_url, site):
    await apply_migrations(database_url)
    async with await connect(database_url) as conn:
        for n, zone in enumerate(["zone-c", "zone-a", "zone-b"], start=1):
            await add_pallet(conn, n, lot=f"L{n}", zone=zone, site=site)
        await add_pallet(conn, 9, sku=ITEM_B, lot="B", zone="zone-b", site=site)
    async with api(settings_for(database_url, site), ingest=False, role=Role.OPERATOR) as c:
        c.site = site  # type: ignore[attr-defined]
        c.url = database_url  # type: ignore[attr-defined]
        yield c


def order(qty: int, sku: str = ITEM_A):
    return {"customer": "acme", "lines": [{"sku": sku, "qty": qty}]}


async def place(client, qty: int, sku: str = ITEM_A) -> dict:
    """An order placed by the ERP (the client is an operator's, who works its tasks)."""
    erp = await as_user(client, Role.ERP)
    r = await client.post("/api/orders", json=order(qty, sku), headers=erp)
    assert r.status_code == 201, r.text
    return r.json()


async def test_pick_tasks_are_listed_in_route_order_and_reported_done(client):
    o = await place(client, 30)
    r = await client.get("/api/tasks", params={"kind": "pick", "status": "open"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [t["id"] for t in items] == [t["id"] for t in o["pick_tasks"]]
    assert [t["seq"] for t in items] == [1, 2, 3]
    first = items[0]
    assert (first["kind"], first["order"], first["to_location"], first["qty"]) == (
        "pick",
        o["id"],
        "packing",
        10,
    )
    assert first["pallet_epc"].startswith("31") and first["confirmed_at"] is None

    done = await client.post(f"/api/tasks/{first['id']}/done")
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["confirmed_at"]) == ("done", None)
    assert done.json()["reported_at"] is not None
    again = await client.post(f"/api/tasks/{first['id']}/done")
    assert again.status_code == 200 and again.json()["reported_at"] == done.json()["reported_at"]
    still_open = (await client.get("/api/tasks", params={"status": "open"})).json()["items"]
    assert [t["id"] for t in still_open] == [t["id"] for t in items[1:]]
    # the worker's word moves no stock: the order is not picking yet
    assert (await client.get(f"/api/orders/{o['id']}")).json()["status"] == "allocated"


async def test_tasks_are_paged_oldest_first(client):
    for qty in (10, 10, 10):
        await place(client, qty)
    pages = await all_pages(client, "/api/tasks?kind=pick", limit=2)
    assert [len(p) for p in pages] == [2, 1]
    ids = [t["id"] for p in pages for t in p]
    assert len(set(ids)) == 3


async def test_a_cancelled_orders_tasks_cannot_be_done(client):
    o = await place(client, 10)
    await client.post(f"/api/orders/{o['id']}/cancel")
    task = o["pick_tasks"][0]["id"]
    r = await client.post(f"/api/tasks/{task}/done")
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]
    listed = (await client.get("/api/tasks", params={"status": "cancelled"})).json()["items"]
    assert [t["id"] for t in listed] == [task]


@pytest.mark.parametrize("task_id", ["pick-999", "ship-1", "putaway-3", "order-1", "pick-x"])
async def test_unknown_tasks_are_404(client, task_id):
    r = await client.post(f"/api/tasks/{task_id}/done")
    assert r.status_code == 404 and task_id in r.json()["detail"]


async def test_bad_filters_are_a_422(client):
    assert (await client.get("/api/tasks", params={"kind": "count"})).status_code == 422
    assert (await client.get("/api/tasks", params={"status": "late"})).status_code == 422
    assert (await client.get("/api/tasks", params={"cursor": "nope"})).status_code == 422


async def test_a_packed_order_has_a_ship_task_and_a_received_pallet_a_put_away_task(client):
    o = await place(client, 4, ITEM_B)
    (pick,) = o["pick_tasks"]
    async with await connect(client.url) as conn, conn.transaction():
        await order_flow.weigh_pallet(
            conn,
            site=client.site,
            sscc=pick["pallet"],
            weight_kg=10 * 10 + 25,  # the whole pallet: the order took 4 of its 10 cases
            scale="scale-1",
            zone="packing",
            time=later(30),
            now=later(30),
            cause=Cause(CauseKind.WEIGHT, "1"),
            floor=FLOOR,
            tolerance=Tolerance(),
        )
        received = await add_pallet(conn, 20, lot="L20", zone="door-3", site=client.site)
        await tasks.create_putaway_task(
            conn, site=client.site, sscc=received.sscc, from_location="door-3", floor=FLOOR, now=T0
        )
    (ship,) = (await client.get("/api/tasks", params={"kind": "ship"})).json()["items"]
    assert (ship["order"], ship["from_location"], ship["to_location"], ship["status"]) == (
        o["id"],
        "packing",
        "door-1",
        "open",
    )
    assert ship["pallets"] == [
        {"sscc": pick["pallet"], "epc": pick["pallet_epc"], "shipped": False}
    ]
    assert (await client.get(f"/api/orders/{o['id']}")).json()["status"] == "loading"
    (put,) = (await client.get("/api/tasks", params={"kind": "putaway"})).json()["items"]
    # ITEM_A is in zones a, b and c with 10 cases each: the emptiest of them, zone-a
    assert (put["pallet"], put["from_location"], put["to_location"], put["rule"]) == (
        received.sscc,
        "door-3",
        "zone-a",
        "same_item",
    )
    one = await client.get(f"/api/tasks/{put['id']}")
    assert one.status_code == 200 and one.json() == put
