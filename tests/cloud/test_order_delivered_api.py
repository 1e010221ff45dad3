"""``POST /api/orders/{id}/delivered`` on real PostgreSQL: an order shipped through its
door by the warehouse feed is confirmed delivered by the ERP, once; its timeline and
``order.delivered`` webhook event; what is refused and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloudkit import api, as_user
from feedkit import connect, feed_rig, fetch, insert_passage, insert_weight, insert_zone_event
from orderkit import FLOOR, ITEM_A, T0, add_pallet

from cloud.db import orders as orders_db
from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_a_shipped_order_is_confirmed_delivered_once_and_told(database_url, site) -> None:
    await apply_migrations(database_url)
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        p1 = await add_pallet(conn, 1, zone="zone-a", site=site)
        new = orders_db.NewOrder("acme", (orders_db.NewLine(ITEM_A, 10),))
        created = await orders_db.create_order(conn, site=site, floor=FLOOR, new=new, now=T0)
        oid = created.detail.order.id
        other = await orders_db.create_order(
            conn,
            site=site,
            floor=FLOOR,
            new=orders_db.NewOrder("acme", (orders_db.NewLine(ITEM_A, 1),)),
            now=T0,
        )
        await insert_zone_event(conn, p1.epc, "packing", at=t(60))
        await insert_weight(conn, p1.epc, 125.0, at=t(100))  # 10 x 10 kg + 25 kg tare
        await rig.drain()
        await insert_passage(conn, p1.epc, door="door-1", direction="outbound", at=t(200))
        await rig.drain()
        assert await fetch(conn, "SELECT status FROM orders WHERE id = %s", oid) == [("shipped",)]

        async with api(rig.settings, ingest=False, role=Role.ERP) as client:
            # a customer may not say so
            customer = await as_user(client, Role.CUSTOMER, customer="acme")
            r = await client.post(f"/api/orders/{oid}/delivered", headers=customer)
            assert r.status_code == 403
            # not before it shipped, not in the future
            r = await client.post(f"/api/orders/{oid}/delivered", json={"at": t(100).isoformat()})
            assert r.status_code == 422 and "before the order shipped" in r.json()["detail"]
            future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
            r = await client.post(f"/api/orders/{oid}/delivered", json={"at": future})
            assert r.status_code == 422 and "in the future" in r.json()["detail"]
            # an order that is not shipped: 409 naming its status
            r = await client.post(f"/api/orders/{other.detail.order.id}/delivered")
            assert r.status_code == 409 and "is backordered" in r.json()["detail"], r.text
            r = await client.post("/api/orders/SO-NOPE/delivered")
            assert r.status_code == 404

            at = t(3600)
            r = await client.post(
                f"/api/orders/{oid}/delivered",
                json={"at": at.isoformat(), "by": "carrier", "note": "signed by J. Doe"},
            )
            assert r.status_code == 200, r.text
            order = r.json()
            assert order["status"] == "shipped"
            assert datetime.fromisoformat(order["delivered_at"]) == at
            last = order["timeline"][-1]
            assert (last["event"], last["status"]) == ("delivered", "shipped")
            assert datetime.fromisoformat(order["shipped_at"]) == t(200)  # kept

            # once only
            r = await client.post(f"/api/orders/{oid}/delivered")
            assert r.status_code == 409 and "delivered already" in r.json()["detail"]

        told = await fetch(
            conn,
            "SELECT payload->'data' FROM webhook_events WHERE subject_id = %s"
            " AND type = 'order.delivered'",
            oid,
        )
        assert len(told) == 1
        data = told[0][0]
        assert datetime.fromisoformat(data["delivered_at"]) == at
        assert data["note"] == "signed by J. Doe" and "for carrier" in data["by"]
