"""The live warehouse map (/map) in a real browser (Debian's chromium through
Playwright) at 1024x768, on a running cloud and a real database and broker; and its
pure model (dashboards/map/model.js: places from events, the replay, slots) run in
the same browser."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from authkit import issue_token
from cloudkit import event_batch, events_topic, health, passage, publish, running_app, zone_event
from cloudkit import settings_for as cloud_settings
from orderkit import add_pallet
from test_pages import chromium

from cloud.api.app import DASHBOARDS_DIR
from protocols.layout import load_layout
from protocols.mqtt import TopicKind, topic


def count(page, zone: str):
    return page.locator(f'#plan [data-testid="zone-count"][data-zone="{zone}"]')


@pytest.mark.browser
async def test_the_map_draws_the_layout_and_moves_pallets_live_and_replays_the_hour(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    settings = cloud_settings(database_url, mqtt_url, site)
    layout = load_layout(None)
    async with running_app(settings) as base, chromium() as (page, errors):
        long_ago = datetime.now(UTC) - timedelta(days=2)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
            one = await add_pallet(c, 1, zone="zone-a", site=site, received_at=long_ago)
            two = await add_pallet(c, 2, zone="zone-b", site=site, received_at=long_ago)
        token = await issue_token(database_url, "operator")
        await page.goto(f"{base}map#token={token}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(page.locator('nav a[aria-current="page"]')).to_have_text("Map")
        await expect(page.get_by_test_id("site-select")).to_have_value(site)

        # the layout: every zone, door and reader (with its antennas)
        await expect(page.get_by_test_id("zone")).to_have_count(len(layout.zones))
        await expect(page.get_by_test_id("door")).to_have_count(len(layout.doors))
        await expect(page.get_by_test_id("reader")).to_have_count(len(layout.readers))
        antennas = sum(len(r.antennas) for r in layout.readers)
        await expect(page.locator("#plan circle.antenna")).to_have_count(antennas)
        await expect(page.locator("#plan .scale")).to_have_count(len(layout.scales))
        # the pallets where the ledger books them
        await expect(count(page, "zone-a")).to_have_text("1")
        await expect(count(page, "zone-b")).to_have_text("1")
        await expect(page.get_by_test_id("pallet-count")).to_have_text("2")

        # a reader's health colours it
        now = datetime.now(UTC)
        up = health("edge-1", ("reader-zone-c", "inventorying", {"1": 3.0}), at=now)
        await publish(mqtt_url, (topic(site, "edge-1", TopicKind.HEALTH), up))
        reader = page.locator('#plan [data-reader="reader-zone-c"]')
        await expect(reader).to_have_attribute("data-state", "inventorying", timeout=15_000)

        # a zone event moves pallet 1 to zone-c, no reload
        moved = zone_event("moved", one.epc, zone="zone-c", from_zone="zone-a", at=now)
        await publish(mqtt_url, (events_topic(site), event_batch("edge-1", 1, moved)))
        await expect(count(page, "zone-c")).to_have_text("1", timeout=15_000)
        await expect(count(page, "zone-a")).to_have_text("0")

        # a passage out of door-2 lights the door with its direction and the pallet
        out = passage(two.epc, door="door-2", direction="outbound", at=now + timedelta(seconds=1))
        await publish(mqtt_url, (events_topic(site), event_batch("edge-1", 2, out)))
        flash = page.locator('[data-testid="door-flash"][data-door="door-2"]')
        await expect(flash).to_have_attribute("data-direction", "outbound", timeout=15_000)
        await expect(flash).to_contain_text(two.sscc)
        await expect(flash.locator("path")).to_have_count(1)  # the arrow
        row = page.locator('[data-testid="passage"][data-door="door-2"]')
        await expect(row).to_have_attribute("data-direction", "outbound")
        await expect(count(page, "zone-b")).to_have_text("0")  # shipped: off the floor
        await expect(flash).to_have_count(0, timeout=15_000)  # the light goes out

        # click the pallet on the map: its item, lot, expiry, orders, history
        at = await page.evaluate(f"window.rfidwmsMap.screenOf({one.epc!r})")
        await page.mouse.click(at["x"], at["y"])
        await expect(page.get_by_test_id("pallet-sscc")).to_have_text(one.sscc)
        detail = page.locator("#detail-body")
        await expect(detail).to_contain_text(one.sku)
        await expect(detail).to_contain_text(one.lot)
        await expect(detail).to_contain_text("2025-09-01")
        await expect(page.get_by_test_id("pallet-moves").locator("li")).to_have_count(1)
        await expect(page.get_by_test_id("pallet-moves")).to_contain_text("moved zone-c")

        # the keyboard: a zone, then a pallet of it
        await page.locator('#plan .zone[data-zone="zone-c"]').focus()
        await page.keyboard.press("Enter")
        button = page.get_by_test_id("zone-pallets").get_by_role("button")
        await expect(button).to_have_count(1)
        await expect(button).to_contain_text(one.sscc)
        await button.focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("pallet-sscc")).to_have_text(one.sscc)

        # replay: at the start of the hour pallet 1 was in zone-a and pallet 2 in zone-b
        await page.get_by_test_id("replay-toggle").click()
        slider = page.get_by_test_id("replay-slider")
        await expect(slider).to_be_visible()
        await expect(count(page, "zone-a")).to_have_text("1")
        await expect(count(page, "zone-b")).to_have_text("1")
        await expect(count(page, "zone-c")).to_have_text("0")
        await slider.focus()
        await page.keyboard.press("End")  # now
        await expect(count(page, "zone-c")).to_have_text("1")
        await expect(count(page, "zone-b")).to_have_text("0")
        await page.get_by_test_id("replay-toggle").click()  # back to live
        await expect(slider).to_be_hidden()
        await expect(count(page, "zone-c")).to_have_text("1")
        assert errors == []


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving_dashboards() -> Iterator[str]:
    """The dashboards' files on a plain static server (the model needs no API)."""
    handler = functools.partial(_QuietFiles, directory=str(DASHBOARDS_DIR))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


P1 = "3" + "1" * 23
P2 = "3" + "1" * 22 + "2"
CASE = "30" + "0" * 22
T = "2025-03-01T08:00:00+00:00"

MODEL_CASES = (
    (Path(__file__).parent / "map_model_cases.js")
    .read_text()
    .replace("P1", repr(P1))
    .replace("P2", repr(P2))
    .replace("CASE", repr(CASE))
)


@pytest.mark.browser
async def test_the_map_model_places_pallets_from_events_and_replays_them():
    with serving_dashboards() as base:
        async with chromium() as (page, errors):
            await page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
            await page.goto(f"{base}map/model.js")
            got = await page.evaluate(MODEL_CASES)
    assert got["isPallet"] == [True, False, False]
    assert got["arrived"] == ["present", "zone-a"]
    assert got["oldNews"] is True
    assert got["departed"] == ["departed", None, "zone-a"]
    assert got["shipped"] == ["shipped", "door-2", "zone-a"]
    assert got["before"] == ["zone-a", None, "zone-b", "unknown", None, "door-1", "zone-b"]
    assert got["replay"] == [
        ["zone-a", "zone-b"],  # before its first event: where that event says it came from
        ["zone-c", "zone-b"],
        ["zone-c", "zone-b"],
        ["door-2", "zone-b"],  # shipped through door-2
    ]
    assert got["hinted"] == "zone-b"  # before it shipped: where the ledger booked it
    assert got["replayEvents"] == 2 and got["passagesIn"] == 1
    assert got["newer"] == [True, True, False, False, True]
    assert got["spots"] == [
        {"kind": "zone", "id": "zone-a", "style": "present"},
        None,
        {"kind": "door", "id": "door-1", "style": "booked"},
        None,
    ]
    assert got["slots"] == [[0, 1, 2], [1, 0, 3, 4], True, True]
    assert got["inward"] == [{"x": 0, "y": 1}, {"x": -1, "y": 0}]
    assert got["orders"] == ["O-1", "O-2"]
    assert errors == []
