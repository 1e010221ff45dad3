"""The orders page and the customer portal in a real browser (Debian's chromium through
Playwright) on a running cloud and a real database: an order's and a transfer's
changes arrive live, and a customer sees its own orders only, and no staff page in
its navigation."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from authkit import bearer, issue_token
from cloudkit import running_app, settings_for
from feedkit import connect
from orderkit import FLOOR, ITEM_A, add_pallet
from test_map_page import serving_dashboards
from test_pages import chromium
from test_transfers_api import DC2, tagged_pallet

from cloud.db import order_flow
from cloud.settings import CloudSettings
from cloud.warehouse.ledger import Cause, CauseKind
from cloud.warehouse.packing import Tolerance

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1024, "height": 768}
NOT_FOUND = "the server responded with a status of 404"


async def weigh(database_url: str, site: str, sscc: str) -> None:
    """The packing scale weighs the pallet right: 10 cases of 10 kg on a 25 kg pallet."""
    now = datetime.now(UTC)
    async with await connect(database_url) as conn, conn.transaction():
        await order_flow.weigh_pallet(
            conn,
            site=site,
            sscc=sscc,
            weight_kg=125.0,
            scale="scale-1",
            zone="packing",
            time=now,
            now=now,
            cause=Cause(CauseKind.WEIGHT, "1"),
            floor=FLOOR,
            tolerance=Tolerance(),
        )


@pytest.mark.browser
async def test_the_orders_page_follows_an_order_live_from_reserved_to_shipped(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base, chromium() as (page, errors):
        async with await connect(database_url) as conn:
            pallet = await add_pallet(conn, 1, site=site)
        erp = bearer(await issue_token(database_url, "erp"))
        operator = await issue_token(database_url, "operator")
        async with httpx.AsyncClient(base_url=base, headers=erp) as api:
            line = [{"sku": ITEM_A, "qty": 10}]
            made = await api.post("/api/orders", json={"customer": "acme", "lines": line})
            assert made.status_code == 201, made.text
            o = made.json()
            await page.goto(f"{base}orders#token={operator}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            await expect(page.locator('nav a[aria-current="page"]')).to_have_text("Orders")
            row = page.locator(f'#orders-body tr[data-order="{o["id"]}"]')
            await expect(row).to_have_attribute("data-status", "allocated")
            await row.focus()  # keyboard: a row opens with Enter
            await page.keyboard.press("Enter")
            detail = page.get_by_test_id("order-detail")
            await expect(detail.get_by_test_id("detail-id")).to_have_text(o["id"])
            events = detail.locator('[data-testid="timeline"] li')
            await expect(events).to_have_count(2)  # received, allocated
            stops = detail.locator('[data-testid="pick-route"] li')
            await expect(stops).to_have_count(3)  # packing, the pallet's zone, packing
            await expect(stops.nth(1)).to_contain_text(f"zone-a take pallet {pallet.sscc}")
            # the same walk over the floor plan: packing (4,40 30x8) to zone-a (4,14 20x22)
            # and back, along the aisles between the areas' centres
            route = detail.get_by_test_id("route-map")
            await expect(route.locator("svg.floorplan .zone")).to_have_count(5)
            marks = route.get_by_test_id("route-stop")
            await expect(marks).to_have_count(3)
            assert [await m.get_attribute("data-place") for m in await marks.all()] == [
                "packing",
                "zone-a",
                "packing",
            ]
            await expect(marks.nth(1)).to_have_attribute("data-picks", "1")
            await expect(route.get_by_test_id("route-path")).to_have_attribute(
                "d", "M 19 44 H 14 V 25 H 19 V 44"
            )
            await expect(marks.nth(1)).not_to_have_class("stop done")
            assert await route.evaluate("f => f.childNodes.length") == 1  # the drawing only
            await expect(detail.get_by_test_id("weights")).to_contain_text("No pallet")

            await weigh(database_url, site, pallet.sscc)  # packed: loading at its door
            await expect(row).to_have_attribute("data-status", "loading", timeout=15_000)
            await expect(detail.locator('[data-verdict="ok"]')).to_contain_text("125.0 kg")
            await expect(stops.nth(1)).to_contain_text("at packing")
            await expect(marks.nth(1)).to_have_class("stop done")  # its pallet reached packing

            now = (await api.get(f"/api/orders/{o['id']}")).json()
            door = next(e["detail"]["door"] for e in now["timeline"] if e["status"] == "loading")
            shipped = await api.post(
                "/api/scans",
                json={
                    "barcode": f"(00){pallet.sscc}",
                    "action": "ship",
                    "location": door,
                },
                headers=bearer(operator),
            )
            assert shipped.status_code == 201, shipped.text
            await expect(row).to_have_attribute("data-status", "shipped", timeout=15_000)
            await expect(detail.get_by_test_id("shipped-by")).to_contain_text(
                f"pallet {pallet.sscc} out through {door}"
            )

            assert await fits(page)  # 1024x768
            await page.select_option("#status", "cancelled")
            await expect(page.locator("#orders-empty")).to_have_text(
                "No orders or transfers match."
            )
            await page.select_option("#kind", "orders")  # the status kept, its kind's
            await expect(page.locator("#orders-empty")).to_have_text("No orders match.")
        assert errors == []


@pytest.mark.browser
async def test_a_customer_follows_its_own_order_live_and_cannot_open_another_customers(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base, chromium() as (page, errors):
        async with await connect(database_url) as conn:
            for n in (1, 2):  # a pallet serves one order: one each
                await add_pallet(conn, n, site=site)
        erp = bearer(await issue_token(database_url, "erp"))
        acme = await issue_token(database_url, "customer", customer="acme")
        line = [{"sku": ITEM_A, "qty": 4}]
        async with httpx.AsyncClient(base_url=base, headers=erp) as api:
            theirs = await api.post("/api/orders", json={"customer": "globex", "lines": line})
            ours = await api.post(
                "/api/orders",
                json={"customer": "acme", "lines": line, "order": "PO-7"},
            )
            their_id, our_id = theirs.json()["id"], ours.json()["id"]

            await page.set_viewport_size(PHONE)
            await page.goto(f"{base}portal#token={acme}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            cards = page.get_by_test_id("order-card")
            await expect(cards).to_have_count(1)  # its own only
            # the navigation of a customer's token: the portal, nothing of the staff's
            nav = page.locator("nav a")
            await expect(nav).to_have_count(1)
            await expect(nav).to_have_text("Customer portal")
            assert await page.locator("nav a[href='/orders'], nav a[href='/map']").count() == 0
            card = page.locator(f'[data-testid="order-card"][data-order="{our_id}"]')
            await card.get_by_role("link").click()
            detail = page.get_by_test_id("order-detail")
            await expect(detail.get_by_test_id("detail-id")).to_have_text(f"PO-7 ({our_id})")
            await expect(detail.get_by_test_id("detail-status")).to_have_text("allocated")
            await expect(detail.get_by_test_id("promised")).to_contain_text("in stock")
            assert await fits(page)

            cancelled = await api.post(f"/api/orders/{our_id}/cancel")  # the ERP cancels it
            assert cancelled.status_code == 200, cancelled.text
            await expect(card).to_have_attribute("data-status", "cancelled", timeout=15_000)
            await expect(detail.get_by_test_id("detail-status")).to_have_text("cancelled")
            await expect(detail.locator('[data-event="cancelled"]')).to_have_count(1)

            # another customer's order: not found, by its address and by the API
            await page.goto(f"{base}portal#order={their_id}")
            await expect(page.get_by_test_id("detail-error")).to_have_text(
                f"Order {their_id} not found."
            )
            await expect(cards).to_have_count(1)
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            own = bearer(acme)
            r = await api.get(f"/api/orders/{their_id}", headers=own)
            assert (
                r.status_code == 404 and r.json()["detail"] == f"order: {their_id!r} does not exist"
            )

            await page.set_viewport_size(DESKTOP)
            await page.goto(f"{base}portal#order={our_id}")
            await expect(page.get_by_test_id("detail-status")).to_have_text("cancelled")
            await page.fill("#avail-sku", ITEM_A)
            await page.fill("#avail-qty", "3")
            await page.press("#avail-qty", "Enter")
            sku = {"sku": ITEM_A, "qty": 3}
            known = (await api.get("/api/availability", params=sku, headers=own)).json()
            await expect(page.get_by_test_id("availability")).to_contain_text(
                f"{known['available_now']} cases available now; 3 can be had on "
            )
            assert await fits(page)
        # the one error the page logs is the browser's own line for the 404 it was given
        assert [e for e in errors if NOT_FOUND not in e] == []


WALK_CASES = """
async () => {
  const F = await import('/common/floorplan.js');
  const points = new Map([['packing', {x: 19, y: 44}], ['zone-a', {x: 14, y: 25}],
                          ['zone-b', {x: 38, y: 25}], ['door-1', {x: 10, y: 1}]]);
  const walk = (places) => {
    const {stops, unknown} = F.walkStops(places, points);
    return [stops.map((s) => [s.id, s.visits]), unknown, F.walkPath(stops)];
  };
  return {
    oneStop: walk(['packing', 'zone-a', 'packing']),
    sameZoneTwice: walk(['packing', 'zone-a', 'zone-a', 'zone-b', 'packing']),
    straight: walk(['zone-a', 'zone-b']),
    notOnPlan: walk(['packing', 'zone-q', 'door-1', 'zone-q', 'packing']),
    nothing: walk([]),
    placePoints: [...F.placePoints({
      zones: [{id: 'z', area: {x: 4, y: 14, w: 20, h: 22}}],
      doors: [{id: 'd', area: {x: 6, y: 0, w: 8, h: 2}}],
    })],
  };
}
"""


@pytest.mark.browser
async def test_a_walk_over_the_floor_plan_stops_once_per_place_along_the_aisles():
    with serving_dashboards() as base:
        async with chromium() as (page, errors):
            await page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
            await page.goto(f"{base}common/floorplan.js")
            got = await page.evaluate(WALK_CASES)
    assert got["oneStop"] == [
        [["packing", [1]], ["zone-a", [2]], ["packing", [3]]],
        [],
        "M 19 44 H 14 V 25 H 19 V 44",
    ]
    # two picks in one zone, one after the other: one stop standing for both
    assert got["sameZoneTwice"] == [
        [["packing", [1]], ["zone-a", [2, 3]], ["zone-b", [4]], ["packing", [5]]],
        [],
        "M 19 44 H 14 V 25 H 38 H 19 V 44",
    ]
    assert got["straight"] == [[["zone-a", [1]], ["zone-b", [2]]], [], "M 14 25 H 38"]
    # a place the plan does not have: left out of the drawing, named once
    assert got["notOnPlan"] == [
        [["packing", [1]], ["door-1", [3]], ["packing", [5]]],
        ["zone-q"],
        "M 19 44 H 10 V 1 H 19 V 44",
    ]
    assert got["nothing"] == [[], [], ""]
    assert got["placePoints"] == [["z", {"x": 14, "y": 25}], ["d", {"x": 10, "y": 1}]]
    assert errors == []


WIDER_THAN_VIEWPORT = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 0.5)
    .slice(0, 8)
    .map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className} ` +
      `right=${Math.round(el.getBoundingClientRect().right)} ` +
      `text=${JSON.stringify((el.textContent || "").slice(0, 60))}`);
}"""


async def fits(page: Any) -> bool:
    """Nothing wider than the viewport (no sideways scrolling), once the page settles;
    when something is, the elements that stick out are named."""
    try:
        await page.wait_for_function(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth",
            timeout=10_000,
        )
    except Exception:
        wide = await page.evaluate(WIDER_THAN_VIEWPORT)
        raise AssertionError(f"wider than the viewport: {wide}") from None
    return True


async def inbound_passage(database_url: str, edge: str, door: str, epc: str, cases) -> None:
    """A pallet's inbound passage through ``door`` as ingest stores it; the running
    app's warehouse feed applies it."""
    now = datetime.now(UTC)
    side = {"reads": 4, "peak_rssi_dbm": -45.0, "first_seen": now.isoformat()}
    side["last_seen"] = now.isoformat()
    async with await connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO passages (door, direction, epc, cases, confidence, evidence, time,"
            " edge_id, spool, seq, idx, stored_at)"
            " VALUES (%s, 'inbound', %s, %s, 0.9, %s, %s, %s, %s, 1, 0, %s)",
            [door, epc, list(cases), json.dumps({"inside": side, "outside": side}), now, edge,
             uuid.uuid4().hex, now],
        )  # fmt: skip


@pytest.mark.browser
async def test_the_orders_page_follows_a_transfer_live_from_open_to_received_short(
    database_url, mqtt_url, site
):
    from playwright.async_api import expect

    one, two = f"{site}-1", f"{site}-2"
    settings = CloudSettings(
        database_url=database_url,
        mqtt_url=mqtt_url,
        sites=f"{one},{two}={DC2}",
        ingest_client_id=f"test-ingest-{site}",
        ingest_retry_max_s=0.5,
    )
    async with running_app(settings) as base, chromium() as (page, errors):
        async with await connect(database_url) as conn:
            pallet, cases = await tagged_pallet(conn, 1, one, "zone-a", "L1")
        erp = bearer(await issue_token(database_url, "erp"))
        operator = await issue_token(database_url, "operator")
        async with httpx.AsyncClient(base_url=base, headers=erp) as api:
            body = {"from_site": one, "to_site": two, "lines": [{"sku": ITEM_A, "qty": 5}]}
            made = await api.post("/api/transfers", json={**body, "transit_min": 90})
            assert made.status_code == 201, made.text
            tr = made.json()
            await page.goto(f"{base}orders#token={operator}")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            # staff's navigation: every page of the floor, not the customer portal
            await expect(page.locator('nav a[aria-current="page"]')).to_have_text("Orders")
            await expect(page.locator("nav a[href='/portal']")).to_have_count(0)
            row = page.locator(f'#orders-body tr[data-transfer="{tr["id"]}"]')
            await expect(row).to_have_attribute("data-status", "open")
            await expect(row).to_contain_text(f"{one} → {two}")
            await row.click()
            detail = page.get_by_test_id("order-detail")
            await expect(detail.get_by_test_id("detail-id")).to_have_text(tr["id"])
            await expect(detail.get_by_test_id("order-status")).to_have_text("allocated")
            timeline = detail.get_by_test_id("timeline")
            await expect(timeline.locator('[data-event="open"]')).to_have_count(1)
            marks = detail.get_by_test_id("route-map").get_by_test_id("route-stop")
            await expect(marks).to_have_count(3)  # packing, zone-a, packing: its order's walk
            await expect(detail.get_by_test_id("outcomes")).to_contain_text("nothing short")

            # only transfers, of the destination: it stays; only orders: it goes
            await page.select_option("#kind", "transfers")
            await page.select_option("#site-filter", two)
            await expect(page.get_by_test_id("order-row")).to_have_count(0)
            await expect(row).to_have_count(1)
            await page.select_option("#kind", "orders")
            await expect(row).to_have_count(0)
            await page.select_option("#kind", "both")
            await page.select_option("#site-filter", "")
            await expect(row).to_have_count(1)

            # weighed right at the source's packing (5 x 10 kg + 25 kg): loading, live
            now = datetime.now(UTC)
            async with await connect(database_url) as conn, conn.transaction():
                await order_flow.weigh_pallet(
                    conn, site=one, sscc=pallet.sscc, weight_kg=75.0, scale="scale-1",
                    zone="packing", time=now, now=now, cause=Cause(CauseKind.WEIGHT, "1"),
                    floor=FLOOR, tolerance=Tolerance(),
                )  # fmt: skip
            await expect(detail.get_by_test_id("order-status")).to_have_text(
                "loading", timeout=15_000
            )
            await expect(detail.locator('[data-verdict="ok"]')).to_contain_text("75.0 kg")

            # shipped through its door: in transit, expected 90 min later
            order = (await api.get(f"/api/orders/{tr['order_id']}")).json()
            shipped = await api.post(
                "/api/scans",
                json={"barcode": f"(00){pallet.sscc}", "action": "ship",
                      "location": order["ship_door"], "site": one},
                headers=bearer(operator),
            )  # fmt: skip
            assert shipped.status_code == 201, shipped.text
            await expect(row).to_have_attribute("data-status", "in_transit", timeout=15_000)
            await expect(timeline.locator('[data-event="in_transit"]')).to_contain_text(
                "in transit, 90 min on the road, expected at"
            )
            await expect(timeline.locator('[data-event="expected"]')).to_have_count(1)
            await expect(detail.get_by_test_id("shipped-by")).to_contain_text(
                f"pallet {pallet.sscc} out through {order['ship_door']}"
            )
            await expect(detail.get_by_test_id("received-by")).to_contain_text("not come yet")

            # in through door-5 of the destination with 4 of its 5 cases: received, short
            await inbound_passage(database_url, "edge-2", "door-5", pallet.epc, cases[:4])
            await expect(row).to_have_attribute("data-status", "received", timeout=15_000)
            await expect(row.get_by_test_id("outcome")).to_have_text("short")
            await expect(timeline.locator('[data-event="pallet_arrived"]')).to_contain_text(
                "4 of 5 cases, 1 short"
            )
            await expect(timeline.locator('[data-event="expected"]')).to_have_count(0)
            await expect(detail.get_by_test_id("received-by")).to_contain_text(
                f"pallet {pallet.sscc} in through door-5 at {two} (passage "
            )
            await expect(detail.locator('[data-outcome="short"]')).to_have_count(1)
            lines = detail.locator("table").last.locator("tbody td")
            assert [await c.text_content() for c in await lines.all()][-3:] == ["5", "4", "1"]
            assert await fits(page)  # 1024x768
        assert errors == []


PAGED_LIST_CASES = """
async () => {
  const L = await import('/common/orderlist.js');
  const list = new L.PagedList(3);
  await list.load('/api/orders', {limit: 2});
  const loaded = [...list.items.keys()];
  for (const id of ['n1', 'n2']) list.update({id});  // the feed: new ones at the top
  const afterFeed = {ids: [...list.items.keys()], gap: list.gap, next: list.next};
  await list.load('/api/orders', {limit: 2}, {more: true});
  return {loaded, afterFeed, reloaded: [...list.items.keys()], gap: list.gap, next: list.next};
}
"""


@pytest.mark.browser
async def test_a_list_left_open_keeps_its_newest_and_loads_on_from_the_first_page_again():
    """A list of at most 3: two new ones from the feed drop the oldest; "load more"
    then asks for the first page again, that many longer, instead of the next page
    after the dropped ones (which would leave a hole)."""
    asked: list[str] = []
    pages = {
        "limit=2": {"items": [{"id": "o9"}, {"id": "o8"}], "next": "c1"},
        "limit=5": {"items": [{"id": x} for x in ("n2", "n1", "o9", "o8", "o7")], "next": "c2"},
    }

    async def answer(route: Any) -> None:
        q = route.request.url.split("?", 1)[1]
        asked.append(q)
        await route.fulfill(json=pages[q], status=200)

    with serving_dashboards() as base:
        async with chromium() as (page, errors):
            await page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
            await page.route("**/api/orders?*", answer)
            await page.goto(f"{base}common/orderlist.js")
            got = await page.evaluate(PAGED_LIST_CASES)
    assert got["loaded"] == ["o9", "o8"]
    assert got["afterFeed"]["ids"] == ["n2", "n1", "o9"]
    assert got["afterFeed"]["gap"] is True and got["afterFeed"]["next"]
    assert asked == ["limit=2", "limit=5"]
    assert got["reloaded"] == ["n2", "n1", "o9", "o8", "o7"]
    assert (got["gap"], got["next"]) == (False, "c2")
    assert errors == []
