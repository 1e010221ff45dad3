"""The live page in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import pytest
from browser import CHROMIUM_ARGS
from cloudkit import EPC_1, batch, obs_topic, observation, publish, running_app, settings_for
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
            await page.goto(base)
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
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
