"""Order changes on the live feed: staff hear every order, a customer ONLY its own.

At the hub (a customer's subscription: its own sequence, stream, snapshot, resume and
resync, nothing else of anyone) and through ``/ws/live`` on a running cloud, where an
order's change made through the API reaches its customer's connection and no other
customer's."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from authkit import bearer, issue_token
from cloudkit import batch, obs_topic, observation, publish, running_app, settings_for
from feedkit import connect
from orderkit import ITEM_A, add_item
from test_live_hub import change, take

from cloud.live.hub import LiveHub
from cloud.live.order_feed import parse_notification


def order(n: int, customer: str, status: str = "allocated") -> dict[str, Any]:
    return {"id": f"SO-{n:06d}", "customer": customer, "status": status, "event": status}


async def test_a_customer_subscription_gets_only_its_own_orders_in_its_own_sequence():
    hub = LiveHub()
    hub.publish_order(order(1, "acme"))
    hub.publish_order(order(2, "globex"))
    with hub.subscribe(customer="acme") as acme, hub.subscribe() as staff:
        hub.publish(change(1))  # reads, tags: the floor's, not a customer's
        hub.publish_order(order(3, "globex", "cancelled"))
        hub.publish_order(order(4, "acme", "picking"))
        (snap, mine) = await take(acme, 2)
        staff_seen = await take(staff, 4)
    assert snap["type"] == "snapshot" and snap["seq"] == 1  # acme's one order so far
    assert set(snap) == {"type", "seq", "stream", "at", "orders"}
    assert [o["id"] for o in snap["orders"]] == ["SO-000001"]
    assert snap["stream"] == hub.customer_stream("acme") != hub.stream
    assert mine["type"] == "order" and mine["seq"] == 2 and mine["stream"] == snap["stream"]
    assert mine["order"]["id"] == "SO-000004" and mine["order"]["status"] == "picking"
    assert acme._queue.empty()  # nothing else: no delta, no globex order
    assert [m["type"] for m in staff_seen] == ["snapshot", "delta", "order", "order"]
    assert [o["id"] for o in staff_seen[0]["orders"]] == ["SO-000002", "SO-000001"]
    assert [m["seq"] for m in staff_seen] == [2, 3, 4, 5]


async def test_a_customer_resumes_within_its_own_sequence_and_resyncs_to_its_own_snapshot():
    hub = LiveHub(client_queue=2)
    hub.publish_order(order(1, "acme"))
    stream = hub.customer_stream("acme")
    hub.publish_order(order(2, "globex"))
    hub.publish_order(order(3, "acme", "picked"))
    with hub.subscribe(1, stream, customer="acme") as sub:
        resumed, missed = await take(sub, 2)
    assert (resumed["type"], resumed["seq"], resumed["latest"]) == ("resumed", 1, 2)
    assert (missed["seq"], missed["order"]["id"]) == (2, "SO-000003")
    with hub.subscribe(1, hub.stream, customer="acme") as sub:  # the staff stream: no
        (snap,) = await take(sub, 1)
    assert snap["type"] == "snapshot" and snap["stream"] == stream
    with hub.subscribe(1, stream, customer="globex") as sub:  # acme's stream: no
        (snap,) = await take(sub, 1)
    assert snap["type"] == "snapshot" and [o["id"] for o in snap["orders"]] == ["SO-000002"]
    with hub.subscribe(customer="acme") as slow:
        for n in range(4, 9):
            hub.publish_order(order(n, "acme", "picking"))
        hub.publish_order(order(9, "globex"))
        (first, resync) = await take(slow, 2)
    assert first["type"] == "snapshot" and resync["type"] == "snapshot"
    assert resync["seq"] == 7 and {o["customer"] for o in resync["orders"]} == {"acme"}


def test_a_notification_names_an_order_or_is_ignored():
    assert parse_notification('{"order": "SO-000001"}') == "SO-000001"
    for bad in ("", "[]", '{"order": 1}', '{"order": ""}', '{"id": "SO-1"}', "nope"):
        assert parse_notification(bad) is None


async def recv(ws: Any, timeout: float = 20) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_over_the_websocket_a_customer_hears_its_own_order_change_and_nothing_else(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base:
        async with await connect(database_url) as conn:
            await add_item(conn, ITEM_A)
        ws_url = base.replace("http://", "ws://") + "ws/live"
        erp = bearer(await issue_token(database_url, "erp"))
        acme = bearer(await issue_token(database_url, "customer", customer="acme"))
        staff = bearer(await issue_token(database_url, "operator"))
        line = [{"sku": ITEM_A, "qty": 3}]
        async with (
            httpx.AsyncClient(base_url=base, headers=erp) as api,
            websockets.connect(ws_url, additional_headers=acme) as mine,
            websockets.connect(ws_url, additional_headers=staff) as everything,
        ):
            snap = await recv(mine)
            assert (snap["type"], snap["seq"], snap["orders"]) == ("snapshot", 0, [])
            await recv(everything)
            theirs = await api.post("/api/orders", json={"customer": "globex", "lines": line})
            assert theirs.status_code == 201, theirs.text
            their_id = theirs.json()["id"]
            assert (await api.post(f"/api/orders/{their_id}/cancel")).status_code == 200
            await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation())))
            ours = await api.post("/api/orders", json={"customer": "acme", "lines": line})
            our_id = ours.json()["id"]
            seen: list[dict[str, Any]] = []
            # the read's delta and our order come in either order (ingest and the order
            # feed are apart)
            while not (
                any(m.get("order", {}).get("id") == our_id for m in seen)
                and any(m["type"] == "delta" for m in seen)
            ):
                seen.append(await recv(everything))
            heard = {(m["type"], m.get("order", {}).get("id")) for m in seen}
            assert {("order", their_id), ("delta", None)} <= heard  # staff: everything
            first = await recv(mine)  # acme: its order, as the first thing after the snapshot
            assert first["type"] == "order" and first["order"]["id"] == our_id
            assert first["seq"] == 1 and first["stream"] == snap["stream"]
            assert first["order"]["status"] == "backordered"  # no stock: nothing reserved
            assert (await api.post(f"/api/orders/{our_id}/cancel")).status_code == 200
            cancelled = await recv(mine)
            assert (cancelled["seq"], cancelled["order"]["status"]) == (2, "cancelled")
            assert cancelled["order"]["customer"] == "acme"
