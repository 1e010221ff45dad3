"""The live page in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import asyncio

import pytest
from authkit import issue_token
from browser import CHROMIUM_ARGS
from cloudkit import (
    EPC_1,
    EPC_2,
    batch,
    obs_topic,
    observation,
    publish,
    running_app,
    settings_for,
)
from conftest import require_system_tool

from protocols.layout import load_layout


@pytest.mark.browser
async def test_the_live_page_shows_a_read_as_soon_as_it_is_published(database_url, mqtt_url, site):
    executable = require_system_tool("chromium", "chromium")
    from playwright.async_api import async_playwright, expect

    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            token = await issue_token(database_url, "operator")
            await page.goto(f"{base}#token={token}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            assert "token" not in page.url  # out of the address bar, history and bookmarks
            await expect(page.locator("#site")).to_have_text(site)
            readers = len(load_layout(None).readers)
            await expect(page.locator("#readers-body tr")).to_have_count(readers)  # the demo

            await publish(
                mqtt_url,
                (
                    obs_topic(site),
                    batch(
                        "edge-1",
                        1,
                        observation(EPC_1, read_point="door-1/inside", antenna=3, rssi_dbm=-48.0),
                    ),
                ),
            )
            row = page.locator(f'#reads-body tr[data-epc="{EPC_1}"]')
            await expect(row).to_have_count(1)
            await expect(row).to_contain_text("door-1/inside")
            await expect(row).to_contain_text("-48.0")
            await expect(page.locator("#read-count")).to_have_text("1")
            await expect(page.locator("#moves li")).to_contain_text("arrived at door-1/inside")
            await expect(page.locator("#seq")).to_have_text("#1")
            assert errors == []
        finally:
            await browser.close()


@pytest.mark.browser
async def test_the_live_page_without_a_token_asks_for_one_and_loads_nothing_until_given(
    database_url, mqtt_url, site
):
    executable = require_system_tool("chromium", "chromium")
    from playwright.async_api import async_playwright, expect

    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 800})
            asked: list[str] = []
            page.on("request", lambda r: asked.append(r.url))
            page.on("websocket", lambda ws: asked.append(ws.url))
            await page.goto(base)
            await expect(page.locator("#signin")).to_be_visible()
            await expect(page.locator("#signin-why")).to_contain_text("needs an API token")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "signed-out")
            await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation(EPC_1))))
            await asyncio.sleep(1.5)  # time enough to show a read, if it were fetching any
            assert [u for u in asked if "/api/" in u or "/ws/" in u] == []
            await expect(page.locator("#reads-body tr")).to_have_count(0)

            await page.fill("#token-input", await issue_token(database_url, "operator"))
            await page.click("#signin-form button[type=submit]")
            await expect(page.locator("#signin")).to_be_hidden()
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            await expect(page.locator(f'#reads-body tr[data-epc="{EPC_1}"]')).to_have_count(1)
            ws_urls = [u for u in asked if "/ws/live" in u]
            assert ws_urls and all("token=" in u for u in ws_urls)

            await page.reload()  # kept in the browser (localStorage)
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            await page.click("#signout")
            await expect(page.locator("#signin")).to_be_visible()
            await expect(page.locator("#reads-body tr")).to_have_count(0)
        finally:
            await browser.close()


@pytest.mark.browser
async def test_the_live_page_forgets_a_refused_token_and_asks_again(database_url, mqtt_url, site):
    executable = require_system_tool("chromium", "chromium")
    from playwright.async_api import async_playwright, expect

    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{base}#token=not-a-token")
            await expect(page.locator("#signin-why")).to_contain_text("The token was refused")
            assert await page.evaluate("localStorage.getItem('rfidwms.token')") is None

            customer = await issue_token(database_url, "customer", customer="acme")
            await page.fill("#token-input", customer)
            await page.click("#signin-form button[type=submit]")
            await expect(page.locator("#signin-why")).to_contain_text(
                "may not open the live feed (role 'customer' may not GET /api/readers)"
            )
            await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation(EPC_2))))
            await asyncio.sleep(1)
            await expect(page.locator("#reads-body tr")).to_have_count(0)
        finally:
            await browser.close()
