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

MODEL_CASES = """
async () => {
  const M = await import('/map/model.js');
  const t = (s) => new Date(`2025-03-01T08:${s}+00:00`).toISOString();
  const ev = (kind, epc, zone, s, extra = {}) => ({ kind, epc, zone, time: t(s), ...extra });
  const pass = (direction, epc, door, s) => ({ direction, epc, door, time: t(s), cases: [] });
  const out = {};
  out.isPallet = [M.isPalletEpc(P1), M.isPalletEpc(CASE), M.isPalletEpc('31AB')];
  // after an event: as cloud/ingest/places.py
  const present = M.afterEvent(null, ev('arrived', P1, 'zone-a', '00:00'));
  out.arrived = [present.state, present.zone];
  const gone = M.afterEvent(present, ev('departed', P1, 'zone-b', '00:10'));
  out.oldNews = gone === present; // departed from a zone it is not in
  const left = M.afterEvent(present, ev('departed', P1, 'zone-a', '00:10'));
  out.departed = [left.state, left.zone, left.last_zone];
  const shipped = M.afterEvent(present, pass('outbound', P1, 'door-2', '00:20'));
  out.shipped = [shipped.state, shipped.door, shipped.last_zone];
  // before the first event of the hour
  out.before = [
    M.beforeEvent(ev('moved', P1, 'zone-b', '00:00', { from_zone: 'zone-a' })).zone,
    M.beforeEvent(ev('arrived', P1, 'zone-b', '00:00')),
    M.beforeEvent(ev('departed', P1, 'zone-b', '00:00')).zone,
    M.beforeEvent(ev('present', P1, 'zone-b', '00:00')).state,
    M.beforeEvent(pass('inbound', P1, 'door-1', '00:00')),
    M.beforeEvent(pass('outbound', P1, 'door-1', '00:00')).door,
    M.beforeEvent(pass('outbound', P1, 'door-1', '00:00'), 'zone-b').zone,
  ];
  // the replay: P1 moves a -> c at 00:10 then ships through door-2 at 00:20;
  // P2 has no event (stays where it is now); a case's events are left out
  const now = new Map([[P1, { state: 'shipped', zone: null, last_zone: 'zone-c', door: 'door-2', at: 1 }],
                       [P2, M.bookedPlace('zone-b')]]);
  const r = new M.Replay([
    pass('outbound', P1, 'door-2', '00:20'),
    ev('moved', P1, 'zone-c', '00:10', { from_zone: 'zone-a' }),
    ev('arrived', CASE, 'zone-c', '00:05'),
  ], now);
  const at = (s) => { const m = r.at(new Date(t(s)).getTime()); return [m.get(P1) && (m.get(P1).zone || m.get(P1).door), m.get(P2).zone]; };
  out.replay = [at('00:00'), at('00:10'), at('00:19'), at('00:20')];
  out.replayEvents = r.events.length;
  const shippedOnly = new M.Replay([pass('outbound', P2, 'door-3', '00:30')],
    new Map([[P2, { state: 'shipped', zone: null, last_zone: null, door: 'door-3', at: 1 }]]), new Map([[P2, 'zone-b']]));
  out.hinted = shippedOnly.at(new Date(t('00:29')).getTime()).get(P2).zone;
  out.passagesIn = r.passagesIn(new Date(t('00:21')).getTime(), 5000).length;
  // newer: events beat the ledger, older never replaces newer
  const booked = M.bookedPlace('zone-a');
  out.newer = [M.newer(null, booked), M.newer(booked, present), M.newer(present, booked),
               M.newer(left, present), M.newer(present, left)];
  // spots
  const zones = new Set(['zone-a']); const doors = new Set(['door-1']);
  out.spots = [M.spotOf(present, zones, doors), M.spotOf(shipped, zones, doors),
               M.spotOf(M.bookedPlace('door-1'), zones, doors), M.spotOf(M.bookedPlace('in_transit'), zones, doors)];
  // slots: stable, lowest free first, inside the area, grown when full
  const s = new M.Slots({ x: 10, y: 10, w: 20, h: 10 }, 4);
  const taken = ['a', 'b', 'c'].map((k) => s.take(k));
  s.release('b');
  const again = [s.take('d'), s.take('a'), s.take('e'), s.take('f')];
  const inside = ['a', 'c', 'd', 'e', 'f'].every((k) => { const p = s.position(s.of.get(k));
    return p.x > 10 && p.x < 30 && p.y > 10 && p.y < 20; });
  out.slots = [taken, again, inside, s.capacity >= 5];
  out.inward = [M.inward({ area: { x: 6, y: 0, w: 8, h: 2 } }, { width_m: 80, depth_m: 50 }),
                M.inward({ area: { x: 78, y: 20, w: 2, h: 8 } }, { width_m: 80, depth_m: 50 })];
  out.orders = M.ordersOf([{ cause: { kind: 'asn', id: 'A1' } }, { cause: { kind: 'order', id: 'O-1' } },
                           { cause: { kind: 'order', id: 'O-1' } }, { cause: { kind: 'order', id: 'O-2' } }]);
  return out;
}
""".replace("P1", repr(P1)).replace("P2", repr(P2)).replace("CASE", repr(CASE))


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
