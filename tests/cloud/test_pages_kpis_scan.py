"""The KPI and handheld pages in a real browser (Debian's chromium through Playwright),
on a running cloud and a real database: the KPI page at 1024x768, the handheld page on
a phone's viewport, driven the way a keyboard-wedge scanner drives it (the barcode typed
into the focused field, then Enter)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg
import pytest
from authkit import bearer, issue_token
from browser import CHROMIUM_ARGS
from cloudkit import running_app, settings_for
from conftest import require_system_tool
from feedkit import GTIN, add_item, announce, announced, pallet_epc
from test_pages import stock_in_two_lots

DESK = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}  # a phone held upright
GLN = "0614141000005"


@asynccontextmanager
async def chromium(viewport: dict[str, int]) -> AsyncIterator[tuple[Any, list[str]]]:
    """A page of ``viewport``, and the errors it logs (console errors, uncaught ones)."""
    executable = require_system_tool("chromium", "chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport=viewport, has_touch=viewport == PHONE)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            yield page, errors
        finally:
            await browser.close()


@pytest.mark.browser
async def test_the_kpi_page_charts_each_kpi_of_the_site_from_the_database(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base, chromium(DESK) as (page, errors):
        sscc = await stock_in_two_lots(database_url, site)  # 6 cases on hand, 4 on pallet 1
        token = await issue_token(database_url, "operator")
        async with httpx.AsyncClient(base_url=base, headers=bearer(token)) as client:
            for qty in (4, 3):  # a right count, then one a case short: 50 % accurate
                r = await client.post(
                    "/api/scans", json={"barcode": f"00{sscc}", "action": "count", "qty": qty}
                )
                assert r.status_code == 201, r.text
        await page.goto(f"{base}kpis#token={token}")
        await expect(page.locator('nav a[aria-current="page"]')).to_have_text("KPIs")
        await expect(page.locator("#site-select")).to_have_value(site)
        charts = page.get_by_test_id("kpi-chart")
        await expect(charts).to_have_count(10)
        accuracy = page.locator('[data-testid="kpi-chart"][data-kpi="inventory_record_accuracy"]')
        await expect(accuracy.locator("circle.point")).to_have_count(1)  # today only
        await expect(accuracy.locator("circle.point.last")).to_have_attribute("data-value", "50")
        await expect(accuracy.locator(".latest .value")).to_have_text("50.0")
        await expect(accuracy.locator(".definition")).to_contain_text("Handheld counts")
        await expect(accuracy.locator("path.line")).to_have_count(1)
        # stock on hand since an hour ago, nothing shipped: turnover 0 today, undefined
        # (nothing on hand to divide by) on the 29 days before
        turnover = page.locator('[data-testid="kpi-chart"][data-kpi="inventory_turnover"]')
        await expect(turnover.locator("circle.point")).to_have_count(1)
        await expect(turnover.locator("circle.point.last")).to_have_attribute("data-value", "0")
        await expect(accuracy.locator("svg")).to_have_attribute(
            "aria-label", "Inventory record accuracy by day"
        )

        await page.select_option("#range", "hour:48")
        await expect(accuracy.locator("svg")).to_have_attribute(
            "aria-label", "Inventory record accuracy by hour"
        )
        await expect(accuracy.locator("circle.point.last")).to_have_attribute("data-value", "50")
        await page.select_option("#site-select", "")  # all sites: this one alone here
        await expect(accuracy.locator("circle.point.last")).to_have_attribute("data-value", "50")
        assert errors == []


async def phone_scan(page: Any, barcode: str) -> None:
    """What a keyboard-wedge scanner does: type into the focused field, then Enter."""
    await page.keyboard.type(barcode)
    await page.keyboard.press("Enter")


@pytest.mark.browser
async def test_the_handheld_page_receives_a_pallet_by_a_typed_gs1_barcode_on_a_phone(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    settings = settings_for(database_url, mqtt_url, site)
    epc, sscc = pallet_epc(1)
    async with running_app(settings) as base, chromium(PHONE) as (page, errors):
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await add_item(conn)
            await announce(conn, site, "ASN-1", announced(1, 10))
        token = await issue_token(database_url, "operator")
        await page.goto(f"{base}scan#token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(page.locator("#scan")).to_be_focused()
        result = page.get_by_test_id("scan-result")

        await phone_scan(page, f"(00){sscc}")  # Receive is the action chosen
        await expect(result).to_have_attribute("data-state", "ok")
        await expect(result.locator(".headline")).to_have_text(
            f"Received pallet {sscc}: 10 cases at door-1"
        )
        await expect(result.locator('dd[data-element="sscc"]')).to_have_text(sscc)
        await expect(page.locator("#scan")).to_be_focused()  # ready for the next scan
        async with httpx.AsyncClient(base_url=base, headers=bearer(token)) as client:
            pallet = (await client.get(f"/api/pallets/{sscc}")).json()
        assert (pallet["status"], pallet["zone"], pallet["cases"]) == ("received", "door-1", 10)
        assert pallet["received_by"].startswith("scan:")
        assert errors == []

        # the same pallet again: refused, saying why
        await phone_scan(page, f"(00){sscc}")
        await expect(result).to_have_attribute("data-state", "error")
        await expect(result.locator(".detail")).to_contain_text("was received already")

        # a location label sets the place; the pallet's EPC moves it there
        await page.get_by_role("button", name="Move").click()
        await expect(page.locator("#scan")).to_be_focused()
        await phone_scan(page, f"(414){GLN}(254)zone-b")
        await expect(result.locator(".headline")).to_have_text("Location: zone-b")
        await expect(page.locator("#location")).to_have_value("zone-b")
        await phone_scan(page, epc)
        await expect(result).to_have_attribute("data-state", "ok")
        await expect(result.locator(".headline")).to_have_text(f"Moved pallet {sscc} to zone-b")
        await expect(result.locator('dd[data-element="epc"]')).to_have_text(epc)

        # a count with the cases typed in: the book was right
        await page.get_by_role("button", name="Count").click()
        await page.fill("#qty", "10")
        await page.press("#qty", "Enter")
        await expect(page.locator("#scan")).to_be_focused()
        await phone_scan(page, f"00{sscc}")
        await expect(result.locator(".headline")).to_have_text(
            f"Counted 10 cases of pallet {sscc} at zone-b"
        )
        await expect(result.locator(".detail")).to_have_text("The book was right: nothing posted.")

        # a bad check digit is named
        await phone_scan(page, f"(01){GTIN[:-1]}3(10)L1")
        await expect(result).to_have_attribute("data-state", "error")
        await expect(result.locator(".headline")).to_have_text("Barcode not understood")
        await expect(result.locator(".detail")).to_contain_text("has check digit 3, expected 2")
        await expect(page.locator("#recent li")).to_have_count(6)

        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide on a phone"
        # chromium logs the API's two refusals (the pallet received already, the bad
        # check digit) as failed loads; nothing else went wrong
        refused = "Failed to load resource: the server responded with a status of"
        assert errors == [f"{refused} 409 (Conflict)", f"{refused} 422 (Unprocessable Entity)"]
