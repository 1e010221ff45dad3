"""Webhooks end to end: subscriptions over HTTP, order changes told to real HTTP
receivers on 127.0.0.1 that verify the Standard Webhooks signature; retries to a
receiver that fails and recovers; a receiver that keeps failing is disabled with an
alert while the others still get theirs; a slow one delays nobody; the delivery log,
replay, re-enabling; a customer's subscriptions and events are its own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from cloudkit import api, as_user, eventually, rows, until
from feedkit import connect, settings_for
from orderkit import ITEM_A, ITEM_B, add_pallet
from webhookkit import receiver

from cloud.db import orders as orders_db
from cloud.db import webhooks as hooks_db
from cloud.db.migrate import apply_migrations
from cloud.db.users import create_user
from cloud.warehouse.orders import OrderStatus, TimelineEntry
from cloud.warehouse.roles import Role
from cloud.warehouse.webhooks import (
    DisableRule,
    Event,
    EventType,
    RetryPolicy,
    SubjectKind,
)

FAST = {
    "webhooks_poll_s": 0.05,
    "webhooks_timeout_s": 1.0,
    "webhooks_retry_first_s": 0.1,
    "webhooks_retry_factor": 2.0,
    "webhooks_retry_longest_s": 0.4,
    "webhooks_max_attempts": 20,
    "webhooks_disable_after_failures": 4,
    "webhooks_disable_after_s": 0.0,
}


@pytest.fixture
async def stocked(database_url, site):
    await apply_migrations(database_url)
    async with await connect(database_url) as conn:
        await add_pallet(conn, 1, site=site)
        await add_pallet(conn, 2, sku=ITEM_B, lot="B1", zone="zone-b", site=site)
    return database_url


def order(customer: str = "acme", sku: str = ITEM_A, qty: int = 2) -> dict:
    return {"customer": customer, "lines": [{"sku": sku, "qty": qty}]}


async def subscribe(client, rec, headers=None, **body) -> int:
    r = await client.post("/api/webhooks", json={"url": rec.url, **body}, headers=headers)
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["secret"].startswith("whsec_")
    rec.secret = got["secret"]
    return int(got["id"])


async def deliveries(client, hook: int, headers=None) -> list[dict]:
    r = await client.get(f"/api/webhooks/{hook}/deliveries", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def all_delivered(client, hook: int) -> list[dict] | None:
    """The delivery log once every delivery in it is delivered (the sender records a
    try just after the receiver answered it)."""
    log = await deliveries(client, hook)
    return log if log and all(d["status"] == "delivered" for d in log) else None


async def test_an_order_change_reaches_a_receiver_that_verifies_its_signature(stocked, site):
    with receiver() as rec:
        async with api(settings_for(stocked, site, **FAST), ingest=False, role=Role.ERP) as c:
            hook = await subscribe(c, rec, events=["order.reserved", "order.cancelled"])
            o = (await c.post("/api/orders", json=order())).json()
            await c.post(f"/api/orders/{o['id']}/cancel", json={})
            await until(lambda: len(rec.received) == 2, what="two messages")
            assert rec.bad_signatures == 0
            # sent at once, so in any order (docs/integration.md)
            assert sorted(rec.types()) == ["order.cancelled", "order.reserved"]
            first = next(m for m in rec.received if m["body"]["type"] == "order.reserved")
            assert first["body"]["data"]["order_id"] == o["id"]
            assert first["body"]["data"]["customer"] == "acme"
            assert first["headers"]["webhook-id"].startswith("msg_")
            assert first["headers"]["webhook-signature"].startswith("v1,")
            log = await eventually(lambda: all_delivered(c, hook), what="both logged")
            assert [(d["type"], d["status"], d["attempts"]) for d in log] == [
                ("order.cancelled", "delivered", 1),
                ("order.reserved", "delivered", 1),
            ]
            assert log[1]["log"][0]["status_code"] == 200


async def test_a_receiver_that_fails_and_recovers_gets_the_event_by_retries(stocked, site):
    with receiver(fail_first=3) as rec:
        async with api(settings_for(stocked, site, **FAST), ingest=False, role=Role.ERP) as c:
            hook = await subscribe(c, rec)
            await c.post("/api/orders", json=order())

            async def delivered():
                log = await deliveries(c, hook)
                return log if log and log[0]["status"] == "delivered" else None

            log = await eventually(delivered, what="the delivery after its retries")
            assert rec.types() == ["order.reserved"]
            assert rec.answered == [500, 500, 500, 200]
            assert [a["status_code"] for a in log[0]["log"]] == [500, 500, 500, 200]
            assert log[0]["attempts"] == 4
            assert "HTTP 500" in (log[0]["log"][0]["error"] or "")
            # the waits grew (0.1, 0.2, 0.4 s at least)
            times = [a["at"] for a in log[0]["log"]]
            assert times == sorted(times)
            hooks = (await c.get("/api/webhooks")).json()["items"]
            assert hooks[0]["enabled"] and hooks[0]["consecutive_failures"] == 0


async def test_a_receiver_that_keeps_failing_is_disabled_with_an_alert_others_unharmed(
    stocked, site
):
    settings = settings_for(stocked, site, **FAST)
    with receiver(always_fail=True) as bad, receiver() as good:
        async with api(settings, ingest=False, role=Role.ERP) as c:
            bad_hook = await subscribe(c, bad)
            good_hook = await subscribe(c, good)
            for _ in range(3):
                assert (await c.post("/api/orders", json=order(qty=1))).status_code == 201

            async def disabled():
                r = (await c.get(f"/api/webhooks/{bad_hook}")).json()
                return r if not r["enabled"] else None

            await until(lambda: len(good.received) == 3, what="the good receiver's")
            got = await eventually(disabled, what="the failing webhook disabled")
            assert "failed attempts in a row" in got["disabled_reason"]
            alerts = await rows(
                stocked, "SELECT kind, subject, status FROM alerts WHERE kind = 'webhook_disabled'"
            )
            assert alerts == [("webhook_disabled", f"webhook-{bad_hook}", "open")]

            async def settled():  # every try the receiver answered is in the log
                log = await deliveries(c, bad_hook)
                logged = sum(d["attempts"] for d in log)
                return logged if logged == len(bad.answered) else None

            tries = await eventually(settled, what="the failing webhook's tries logged")
            assert tries >= 4
            # disabled: no more tries while it stays so
            assert (await c.post("/api/orders", json=order(qty=1))).status_code == 201
            await until(lambda: len(good.received) == 4, what="the fourth")
            assert len(bad.answered) == tries
            assert len(await eventually(lambda: all_delivered(c, good_hook), what="good")) == 4
            # the receiver mended, enabled again: what waited is delivered
            bad.always_fail = False
            r = await c.post(f"/api/webhooks/{bad_hook}/enable")
            assert r.status_code == 200 and r.json()["enabled"]
            await until(lambda: len(bad.received) == 4, what="the backlog")
            assert await rows(
                stocked, "SELECT status FROM alerts WHERE kind = 'webhook_disabled'"
            ) == [("resolved",)]


async def test_a_hanging_receiver_delays_nobody_and_gets_its_events_once_it_answers(stocked, site):
    settings = settings_for(stocked, site, **{**FAST, "webhooks_disable_after_failures": 100})
    with receiver(gate=threading.Event()) as slow, receiver() as good:
        async with api(settings, ingest=False, role=Role.ERP) as c:
            slow_hook = await subscribe(c, slow)
            await subscribe(c, good)
            for _ in range(3):
                assert (await c.post("/api/orders", json=order(qty=1))).status_code == 201
            # all three reach the good receiver while the slow one holds its first ones
            await until(lambda: len(good.received) == 3, what="the good receiver's")
            assert slow.received == []
            await until(lambda: slow.hung >= 3, what="the slow one's tries (4 at once)")

            async def timed_out():
                log = await deliveries(c, slow_hook)
                return len(log) == 3 and all(d["attempts"] >= 1 for d in log)

            await eventually(timed_out, what="the slow one's first tries timing out")
            assert slow.gate is not None
            slow.gate.set()
            await until(lambda: len(slow.received) == 3, what="the slow receiver's, retried")

            log = await eventually(lambda: all_delivered(c, slow_hook), what="slow logged")
            first_tries = [d["log"][0] for d in log]
            assert all(a["status_code"] is None and "timeout" in a["error"] for a in first_tries)


async def test_a_delivery_is_replayed_by_hand_with_the_same_message_id(stocked, site):
    with receiver() as rec:
        async with api(settings_for(stocked, site, **FAST), ingest=False, role=Role.ERP) as c:
            hook = await subscribe(c, rec)
            await c.post("/api/orders", json=order())
            await until(lambda: len(rec.received) == 1, what="the first")
            first = (await deliveries(c, hook))[0]
            r = await c.post(f"/api/webhooks/{hook}/deliveries/{first['id']}/replay")
            assert r.status_code == 202, r.text
            assert r.json()["replay_of"] == first["id"] and r.json()["status"] == "pending"
            await until(lambda: len(rec.received) == 2, what="the replay")
            assert rec.received[0]["id"] == rec.received[1]["id"] == first["msg_id"]
            missing = await c.post(f"/api/webhooks/{hook}/deliveries/999999/replay")
            assert missing.status_code == 404


async def test_a_customer_hears_of_its_own_orders_and_manages_its_own_webhooks(stocked, site):
    with receiver() as mine, receiver() as erp_rec:
        async with api(settings_for(stocked, site, **FAST), ingest=False, role=Role.ERP) as c:
            acme = await as_user(c, Role.CUSTOMER, customer="acme")
            globex = await as_user(c, Role.CUSTOMER, customer="globex")
            hook = await subscribe(c, mine, headers=acme)
            await subscribe(c, erp_rec)
            await c.post("/api/orders", json=order("globex", qty=1))
            await c.post("/api/orders", json=order("acme", qty=1))
            await until(lambda: len(erp_rec.received) == 2, what="the erp's")
            await until(lambda: len(mine.received) == 1, what="acme's")
            assert mine.received[0]["body"]["data"]["customer"] == "acme"
            listed = (await c.get("/api/webhooks", headers=acme)).json()
            assert [h["id"] for h in listed["items"]] == [hook] and listed["next"] is None
            assert listed["items"][0]["customer"] == "acme"
            assert len((await c.get("/api/webhooks")).json()["items"]) == 2
            for path in (f"/api/webhooks/{hook}", f"/api/webhooks/{hook}/deliveries"):
                assert (await c.get(path, headers=globex)).status_code == 404
            assert (await c.delete(f"/api/webhooks/{hook}", headers=globex)).status_code == 404
            assert (await c.delete(f"/api/webhooks/{hook}", headers=acme)).status_code == 204
            assert (await c.get(f"/api/webhooks/{hook}", headers=acme)).status_code == 404
            operator = await as_user(c, Role.OPERATOR)  # customer service sees them all
            assert len((await c.get("/api/webhooks", headers=operator)).json()["items"]) == 1


async def test_a_bad_subscription_is_refused_naming_the_field(stocked, site):
    async with api(settings_for(stocked, site, **FAST), ingest=False, role=Role.ERP) as c:
        r = await c.post("/api/webhooks", json={"url": "http://x.test/h", "events": ["order.lost"]})
        assert r.status_code == 422 and "events[0]: 'order.lost'" in r.text
        r = await c.post("/api/webhooks", json={"url": "ftp://x.test/h"})
        assert r.status_code == 422 and "url" in r.text
        r = await c.post("/api/webhooks", json={"events": ["order.shipped"]})
        assert r.status_code == 422 and "url" in r.text
        assert (await c.get("/api/webhooks")).json()["items"] == []


async def test_the_outbox_is_written_with_the_order_change_or_not_at_all(stocked, site):
    async with api(settings_for(stocked, site, webhooks_enabled=False), ingest=False) as c:
        erp = await as_user(c, Role.ERP)
        o = (await c.post("/api/orders", json=order(), headers=erp)).json()
    async with await connect(stocked) as conn:
        before = await rows(stocked, "SELECT type FROM webhook_events ORDER BY id")
        assert before == [("order.reserved",)]
        try:
            async with conn.transaction():
                at = datetime.fromisoformat(o["created_at"])
                entry = TimelineEntry(at, OrderStatus.ON_HOLD, "on_hold", None, {"reason": "x"})
                await orders_db.record(conn, site, o["id"], [entry], now=entry.time)
                assert len(await rows_in(conn)) == 2  # inside: written with the change
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert await rows(stocked, "SELECT type FROM webhook_events ORDER BY id") == before


async def rows_in(conn) -> list[tuple]:
    cur = await conn.execute("SELECT id FROM webhook_events")
    return await cur.fetchall()


async def test_old_events_are_forgotten_with_their_log_once_nothing_waits(stocked, site):
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    async with await connect(stocked) as conn:
        user = await create_user(conn, "hooks-admin", Role.ADMIN, None, at=t0)
        sub, _ = await hooks_db.create_subscription(
            conn, url="http://127.0.0.1:9/h", events=None, customer=None, created_by=user.id, now=t0
        )
        for n in range(3):
            event = Event(EventType.ORDER_SHIPPED, SubjectKind.ORDER, f"SO-{n}", site, "acme", t0)
            await hooks_db.publish(conn, event, now=t0 + timedelta(days=n))
        assert await hooks_db.fan_out(conn, now=t0) == 3
        due = await hooks_db.claim_due(
            conn, now=t0, lease=timedelta(minutes=1), limit=10, per_endpoint=10, busy={}
        )
        outcome = hooks_db.Outcome(200, None, 1.0)
        for d in due[:2]:  # SO-0 and SO-1 delivered; SO-2 still to send
            await hooks_db.record_attempt(
                conn, d, outcome, now=t0, policy=RetryPolicy(), rule=DisableRule(), site=site
            )
        await conn.execute(  # the one still pending is old too: it must stay
            "UPDATE webhook_events SET recorded_at = %s", [t0]
        )
        assert await hooks_db.prune(conn, before=t0 + timedelta(days=1)) == 2
        left = await rows(stocked, "SELECT subject_id FROM webhook_events")
        assert left == [("SO-2",)]
        assert await rows(stocked, "SELECT count(*) FROM webhook_attempts") == [(0,)]
        log = await hooks_db.list_deliveries(conn, sub.id, before=None, limit=9)
        assert [d.status for d in log] == ["pending"]
