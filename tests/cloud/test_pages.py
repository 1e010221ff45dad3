"""The stock and alerts pages in a real browser (Debian's chromium through Playwright),
on a running cloud and a real database, at 1024x768."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from authkit import bearer, issue_token
from browser import CHROMIUM_ARGS
from cloudkit import (
    edge_status,
    event_batch,
    events_topic,
    health,
    passage,
    publish,
    running_app,
    settings_for,
)
from commandkit import answering_edge
from conftest import require_system_tool
from feedkit import GTIN, add_item, announce, announced, case_epc, pallet_epc

from cloud.db import alerts as alerts_db
from cloud.db import goods
from cloud.db import stock as stock_db
from cloud.warehouse.alerts import AlertKind
from cloud.warehouse.ledger import (
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    Position,
    StockState,
    receipt,
    transfer,
)
from protocols.layout import load_layout
from protocols.mqtt import TopicKind, topic

VIEWPORT = {"width": 1024, "height": 768}
SECONDS = re.compile(r"^\d+ s$")  # a response time, as the page writes it


@asynccontextmanager
async def chromium() -> AsyncIterator[tuple[Any, list[str]]]:
    """A page at 1024x768, and the errors it logs (console errors, uncaught ones)."""
    executable = require_system_tool("chromium", "chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport=VIEWPORT)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            yield page, errors
        finally:
            await browser.close()


async def stock_in_two_lots(database_url: str, site: str) -> str:
    """Lot SOON1 (expires in 10 days): pallet 1 received at door-1 (4 cases), put away
    to zone-a, 1 case reserved; lot OLD1 (expired) 2 loose cases in zone-b. The SSCC
    of pallet 1."""
    today = date.today()
    t = datetime.now(UTC) - timedelta(hours=1)
    sscc = pallet_epc(1)[1]
    cause = Cause(CauseKind.USER, "test")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await add_item(conn)
        await goods.ensure_lot(conn, GTIN, "SOON1", today + timedelta(days=10), now=t)
        await goods.ensure_lot(conn, GTIN, "OLD1", today - timedelta(days=3), now=t)
        door = Position(Bucket(site, GTIN, "SOON1", "door-1", StockState.AVAILABLE), sscc)
        zone = Position(Bucket(site, GTIN, "SOON1", "zone-a", StockState.AVAILABLE), sscc)
        held = Position(Bucket(site, GTIN, "SOON1", "zone-a", StockState.RESERVED), sscc)
        loose = Position(Bucket(site, GTIN, "OLD1", "zone-b", StockState.AVAILABLE), None)
        for op in (
            receipt(door, 4, cause=cause, time=t),
            transfer(EntryKind.PUTAWAY, door, zone, 4, cause=cause, time=t + timedelta(minutes=1)),
            transfer(EntryKind.RESERVE, zone, held, 1, cause=cause, time=t + timedelta(minutes=2)),
            receipt(loose, 2, cause=cause, time=t),
        ):
            await stock_db.post(conn, op)
    return sscc


@pytest.mark.browser
async def test_the_stock_page_shows_balances_by_expiry_their_ledger_and_a_pallet_found_by_sscc(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base, chromium() as (page, errors):
        sscc = await stock_in_two_lots(database_url, site)
        token = await issue_token(database_url, "operator")
        await page.goto(f"{base}stock#token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        assert "token" not in page.url
        await expect(page.locator('nav a[aria-current="page"]')).to_have_text("Stock")
        await expect(page.locator("#site")).to_have_text(site)

        row = page.locator(
            f'#balances-body tr[data-sku="{GTIN}"][data-lot="SOON1"][data-zone="zone-a"]'
            '[data-state="available"]'
        )
        await expect(row).to_contain_text("3")
        await expect(row.locator(".exp")).to_have_class("exp soon")
        old = page.locator('#balances-body tr[data-lot="OLD1"]')
        await expect(old.locator(".exp")).to_have_class("exp expired")
        await expect(page.locator("#balances-body tr")).to_have_count(3)  # + the reserved one
        await expect(page.locator("#expired-count")).to_have_text("1")
        await expect(page.locator("#soon-count")).to_have_text("2")

        await row.get_by_role("button", name="History").focus()  # a real button: keyboard
        await page.keyboard.press("Enter")
        history = page.locator("#ledger-body tr")
        await expect(history).to_have_count(2)  # put away +4, reserve -1
        await expect(history.nth(0)).to_have_attribute("data-kind", "putaway")
        await expect(history.nth(1)).to_have_attribute("data-kind", "reserve")
        await expect(page.locator("#detail-body .summary")).to_contain_text("sum to 3 cases")

        await page.fill("#search", sscc)
        await page.press("#search", "Enter")
        await expect(page.get_by_test_id("pallet-sscc")).to_have_text(sscc)
        await expect(page.locator("#ledger-body tr")).to_have_count(5)

        await page.fill("#search", "123")
        await page.press("#search", "Enter")
        await expect(page.locator("#search-error")).to_contain_text("is not a GTIN")

        # an announced pallet passes door-1: the feed receives it, the page shows it
        cases = tuple(case_epc(100 + i) for i in range(3))
        now = datetime.now(UTC)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
            await announce(c, site, "ASN-9", announced(2, cases, lot="NEW1"), expected_at=now)
        crossed = passage(pallet_epc(2)[0], cases=cases, at=now)
        await publish(mqtt_url, (events_topic(site), event_batch("edge-1", 1, crossed)))
        received = page.locator('#balances-body tr[data-lot="NEW1"][data-zone="door-1"]')
        await expect(received).to_contain_text("3", timeout=15_000)  # no reload
        await page.fill("#search", pallet_epc(2)[0])  # by its EPC
        await page.press("#search", "Enter")
        await expect(page.get_by_test_id("pallet-sscc")).to_have_text(pallet_epc(2)[1])
        assert errors == []


@pytest.mark.browser
async def test_an_alert_appears_live_on_the_alerts_page_and_is_acknowledged_from_it(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base, chromium() as (page, errors):
        token = await issue_token(database_url, "operator", name="olga")
        await page.goto(f"{base}alerts#token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(page.locator("#alerts-empty")).to_have_text("No alerts match.")
        await expect(page.locator("#kind option")).to_have_count(len(AlertKind) + 1)

        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            raised = await alerts_db.raise_alert(
                conn,
                site=site,
                kind=AlertKind.MIS_SHIPMENT,
                subject=pallet_epc(7)[1],
                message="pallet for order O-9 left through door-2 on another order's truck",
                at=datetime.now(UTC),
            )
        row = page.locator(f'#alerts-body tr[data-alert="{raised.id}"]')
        await expect(row).to_have_attribute("data-status", "open")  # no reload
        await expect(row).to_contain_text("mis shipment")
        await expect(page.get_by_test_id("open-count")).to_have_text("1")

        await page.fill("#note", "on it")
        await row.get_by_role("button", name="Acknowledge").click()
        await expect(row).to_have_attribute("data-status", "acknowledged")
        await expect(row.locator("td.by").first).to_contain_text("olga")
        await expect(row.locator("td.tta")).to_have_text(SECONDS)
        async with httpx.AsyncClient(base_url=base, headers=bearer(token)) as client:
            shown = (await client.get(f"/api/alerts/{raised.id}")).json()
        assert (shown["status"], shown["acknowledged_by"], shown["acknowledgement"]) == (
            "acknowledged",
            "olga",
            "on it",
        )
        await expect(page.get_by_test_id("open-count")).to_have_text("0")

        await row.get_by_role("button", name="Resolve").click()
        await expect(row).to_have_count(0)  # no longer unresolved
        await page.select_option("#status", "resolved")
        await expect(row).to_have_attribute("data-status", "resolved")
        await expect(row.locator("td.ttr")).to_have_text(SECONDS)

        await page.get_by_role("link", name="Live reads").click()  # one sign-in for all
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(page.locator('nav a[aria-current="page"]')).to_have_text("Live reads")
        assert errors == []


@pytest.mark.browser
async def test_the_fleet_page_shows_a_reader_going_down_without_a_reload(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base, chromium() as (page, errors):
        token = await issue_token(database_url, "operator")
        await page.goto(f"{base}fleet#token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        readers = len(load_layout(None).readers)
        await expect(page.get_by_test_id("reader-row")).to_have_count(readers)
        health_topic = topic(site, "edge-1", TopicKind.HEALTH)
        now = datetime.now(UTC)
        up = health(
            "edge-1",
            ("reader-door-1", "inventorying", {"1": 12.0, "3": 4.0}),
            at=now,
            clock_offsets={"reader-door-1": -2.5},
            spool={"batches": 7, "bytes": 3 * 1024, "max_bytes": 1 << 20, "full": False},
        )
        status = (topic(site, "edge-1", TopicKind.STATUS), edge_status("edge-1", "online"))
        await publish(mqtt_url, status, (health_topic, up))
        row = page.locator('[data-testid="reader-row"][data-reader="reader-door-1"]')
        await expect(row).to_have_attribute("data-state", "inventorying")
        await expect(row.locator("td.num")).to_have_text("16.0")
        await expect(row.locator(".antenna polyline")).to_have_count(2)  # antennas 1 and 3
        await expect(page.get_by_test_id("readers-up")).to_have_text("1")
        # the reader's clock offset (beyond 2 s: the edge corrects it), the edge's spool
        offset = row.get_by_test_id("clock-offset")
        await expect(offset).to_have_text("clock \u22122.50 s")  # a minus sign
        await expect(offset).to_have_class("clock off")
        spool = page.locator('[data-testid="edge-row"][data-edge="edge-1"]').get_by_test_id("spool")
        await expect(spool).to_have_attribute("data-batches", "7")
        await expect(spool.locator(".muted")).to_have_text("3 KB")

        later = now + timedelta(seconds=5)
        down = health(
            "edge-1",
            ("reader-door-1", "disconnected", {}),
            at=later,
            clock_offsets={"reader-door-1": 0.25},
            spool={
                "batches": 40,
                "bytes": 1 << 20,
                "max_bytes": 1 << 20,
                "full": True,
                "refused_batches": 3,
            },
        )
        await publish(mqtt_url, (health_topic, down))
        await expect(row).to_have_attribute("data-state", "disconnected", timeout=10_000)
        await expect(page.get_by_test_id("readers-up")).to_have_text("0")
        await expect(offset).to_have_text("clock +0.25 s")
        await expect(offset).to_have_class("clock")
        await expect(spool).to_have_attribute("data-full", "true")
        await expect(spool).to_have_attribute("data-batches", "40")
        await expect(spool.locator(".muted")).to_have_text("full · 3 refused")
        # and from the API, after a reload
        await page.reload()
        await expect(row.get_by_test_id("clock-offset")).to_have_text("clock +0.25 s")
        await expect(spool.locator(".muted")).to_have_text("full · 3 refused")
        assert errors == []


@pytest.mark.browser
async def test_an_admin_sets_a_readers_power_from_the_fleet_page_and_sees_the_edges_answer(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    settings = settings_for(database_url, mqtt_url, site)
    heard: list[dict[str, Any]] = []
    ready = asyncio.Event()
    edge = asyncio.create_task(answering_edge(mqtt_url, site, heard, ready))
    try:
        async with running_app(settings) as base, chromium() as (page, errors):
            await asyncio.wait_for(ready.wait(), 10)
            token = await issue_token(database_url, "admin")
            await page.goto(f"{base}fleet#token={token}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            await page.select_option("#command-reader", "reader-door-2")
            await page.select_option("#command-name", "set_power")
            await page.fill("#command-antenna", "3")
            await page.fill("#command-power", "20.5")
            await page.click("#command-send")
            row = page.get_by_test_id("command-row")
            await expect(row).to_have_count(1)
            await expect(row).to_have_attribute("data-status", "ok", timeout=20_000)
            await expect(row).to_contain_text("set_power done")
            await expect(row).to_contain_text("set power 3: 20.5 dBm")
            assert (heard[-1]["reader_id"], heard[-1]["antenna"]) == ("reader-door-2", 3)

            await page.select_option("#command-name", "set_power")
            await page.fill("#command-power", "31")
            await page.click("#command-send")
            refused = page.locator('[data-testid="command-row"][data-status="error"]')
            await expect(refused).to_contain_text("too much", timeout=20_000)
            assert errors == []
    finally:
        edge.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await edge
