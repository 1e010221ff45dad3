"""Alerts live: numbered in the hub's sequence, held in the snapshot while unresolved,
heard by LISTEN on the database (caught up after a lost connection), and pushed to a
real WebSocket client as they are raised, acknowledged and resolved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import websockets
from authkit import bearer, issue_token
from browser import CHROMIUM_ARGS
from cloudkit import running_app, settings_for, until
from conftest import require_system_tool

from cloud.db import alerts as db
from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.live.alert_feed import APPLICATION_NAME, AlertFeed
from cloud.live.hub import LiveHub, Subscription
from cloud.warehouse.alerts import Alert, AlertEvent, AlertKind, AlertStatus

T = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def alert(n: int, status: AlertStatus = AlertStatus.OPEN, **kw: Any) -> Alert:
    at = T + timedelta(seconds=n)
    return Alert(n, "dc-1", "mis_shipment", "critical", f"P{n}", f"pallet P{n}", status, at, at,
                 **kw)  # fmt: skip


async def take(sub: Subscription, n: int) -> list[dict[str, Any]]:
    it: AsyncIterator[str] = sub.messages()
    return [json.loads(await asyncio.wait_for(anext(it), 1)) for _ in range(n)]


async def test_alert_messages_share_the_deltas_sequence_and_resume_like_them():
    hub = LiveHub()
    hub.publish_alert(AlertEvent.RAISED, alert(1))
    with hub.subscribe() as sub:
        hub.publish_alert(AlertEvent.ACKNOWLEDGED, alert(1, AlertStatus.ACKNOWLEDGED,
                                                         acknowledged_by="ann"))  # fmt: skip
        snap, acked = await take(sub, 2)
    assert snap["seq"] == 1 and [a["id"] for a in snap["alerts"]] == [1]
    assert acked["type"] == "alert" and acked["seq"] == 2 and acked["stream"] == snap["stream"]
    assert acked["event"] == "acknowledged"
    assert (acked["alert"]["id"], acked["alert"]["acknowledged_by"]) == (1, "ann")
    with hub.subscribe(since=1, stream=snap["stream"]) as again:
        resumed, missed = await take(again, 2)
    assert resumed["type"] == "resumed" and missed == acked


async def test_the_snapshot_holds_the_newest_unresolved_alerts_up_to_its_cap():
    hub = LiveHub(open_alerts=3)
    hub.seed(alerts=[alert(1), alert(2, AlertStatus.ACKNOWLEDGED)])
    hub.publish_alert(AlertEvent.RAISED, alert(5))
    snap = hub.snapshot()
    assert [(a["id"], a["status"]) for a in snap["alerts"]] == [
        (5, "open"), (2, "acknowledged"), (1, "open"),
    ]  # fmt: skip
    hub.publish_alert(AlertEvent.RAISED, alert(3))  # the oldest raised leaves the view
    assert [a["id"] for a in hub.snapshot()["alerts"]] == [5, 3, 2]
    hub.publish_alert(AlertEvent.RESOLVED, alert(2, AlertStatus.RESOLVED))
    hub.publish_alert(AlertEvent.RAISED_AGAIN, replace(alert(3), raised_count=2))
    snap = hub.snapshot()
    assert [(a["id"], a["raised_count"]) for a in snap["alerts"]] == [(5, 1), (3, 2)]


async def _raise(database_url: str, subject: str, site: str = "dc-1") -> int:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        raised = await db.raise_alert(
            conn, site=site, kind=AlertKind.MIS_SHIPMENT, subject=subject,
            message=f"pallet {subject} on no order", at=T,
        )  # fmt: skip
        return raised.id


async def _terminate_feed(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [APPLICATION_NAME],
        )


@asynccontextmanager
async def feeding(database_url: str, hub: LiveHub) -> AsyncIterator[AlertFeed]:
    async with (
        open_pool(database_url, timeout=5.0) as pool,
        AlertFeed(database_url, pool, hub, retry_min_s=1.0, ping_s=5.0) as feed,
    ):
        await asyncio.wait_for(feed.listening.wait(), 10)
        yield feed


async def test_the_feed_publishes_what_is_notified_and_catches_up_after_a_lost_connection(
    database_url,
):
    await apply_migrations(database_url)
    hub = LiveHub()
    async with feeding(database_url, hub) as feed:
        first = await _raise(database_url, "P1")
        await until(lambda: first in hub.alerts, what="the alert heard")
        assert feed.caught_up == 0 and hub.seq == 1

        await _terminate_feed(database_url)
        await until(lambda: not feed.listening.is_set(), what="the lost connection noticed")
        # while it is away (it waits 1 s before connecting again)
        second = await _raise(database_url, "P2")
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            async with conn.transaction():
                await db.resolve_by_key(conn, site="dc-1", dedupe_key="mis_shipment:P1",
                                        by="ann", at=T)  # fmt: skip
        await until(lambda: feed.connects == 2, what="listening again")
        assert feed.caught_up == 2
        assert set(hub.alerts) == {second}
        assert hub.seq == 3

        third = await _raise(database_url, "P3")  # heard live again
        await until(lambda: third in hub.alerts, what="the next alert heard")
        assert feed.caught_up == 2


async def recv(ws: Any, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_a_websocket_client_sees_alerts_raised_acknowledged_and_resolved(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    before = await _raise(database_url, "P0", site)
    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base:
        ann = bearer(await issue_token(database_url, "operator", name="ann"))
        bob = bearer(await issue_token(database_url, "operator", name="bob"))
        client = httpx.AsyncClient(base_url=base)
        ws_url = base.replace("http://", "ws://") + "ws/live"
        async with client, websockets.connect(ws_url, additional_headers=ann) as ws:
            snap = await recv(ws)
            assert [(a["id"], a["status"]) for a in snap["alerts"]] == [(before, "open")]

            raised = await _raise(database_url, "P1", site)
            new = await recv(ws)
            assert (new["type"], new["seq"], new["event"]) == ("alert", snap["seq"] + 1, "raised")
            assert new["alert"]["id"] == raised and new["alert"]["subject"] == "P1"

            await _raise(database_url, "P1", site)
            again = await recv(ws)
            assert (again["event"], again["alert"]["raised_count"]) == ("raised_again", 2)

            r = await client.post(f"api/alerts/{raised}/ack", headers=ann)
            assert r.status_code == 200
            acked = await recv(ws)
            assert acked["event"] == "acknowledged"
            assert acked["alert"] == r.json() and acked["alert"]["acknowledged_by"] == "ann"

            r = await client.post(
                f"api/alerts/{raised}/resolve", json={"note": "wrong tag"},
                headers=bob,
            )  # fmt: skip
            resolved = await recv(ws)
            assert (resolved["event"], resolved["alert"]["resolution"]) == ("resolved", "wrong tag")
            assert resolved["alert"]["resolved_by"] == "bob"
            assert resolved["seq"] == snap["seq"] + 4

        async with websockets.connect(ws_url, additional_headers=bob) as ws:
            fresh = await recv(ws)
        assert [a["id"] for a in fresh["alerts"]] == [before]


@pytest.mark.browser
async def test_the_live_page_lists_unresolved_alerts_as_they_come_and_go(
    database_url, mqtt_url, site
):
    executable = require_system_tool("chromium", "chromium")
    from playwright.async_api import async_playwright, expect

    await apply_migrations(database_url)
    before = await _raise(database_url, "P0", site)
    settings = settings_for(database_url, mqtt_url, site)
    async with (
        running_app(settings) as base,
        async_playwright() as pw,
        httpx.AsyncClient(base_url=base) as client,
    ):
        token = await issue_token(database_url, "operator", name="ann")
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            warnings: list[str] = []
            page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
            await page.goto(f"{base}#token={token}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            await expect(page.locator(f'#alerts li[data-alert="{before}"]')).to_contain_text(
                "pallet P0 on no order"
            )
            raised = await _raise(database_url, "P1", site)
            item = page.locator(f'#alerts li[data-alert="{raised}"]')
            await expect(item).to_contain_text("mis_shipment")
            await expect(page.locator("#alerts li").first).to_have_attribute(
                "data-alert", str(raised)
            )
            await expect(page.locator("#alert-count")).to_have_text("2")
            ack = await client.post(f"api/alerts/{raised}/ack", headers=bearer(token))
            assert ack.status_code == 200
            await expect(item).to_contain_text("ack · ann")
            done = await client.post(f"api/alerts/{raised}/resolve", headers=bearer(token))
            assert done.status_code == 200
            await expect(item).to_have_count(0)
            await expect(page.locator("#alert-count")).to_have_text("1")
            await expect(page.locator("#seq")).to_have_text("#3")
            assert errors == []
            assert not [w for w in warnings if "snapshot" in w], warnings  # no resync needed
        finally:
            await browser.close()
