"""The goods API on real PostgreSQL: the item master and advance ship notices, with
each pallet's status and the receipt's over/short figures as the feed receives them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cloudkit import all_pages, api
from feedkit import (
    GTIN,
    GTIN2,
    T0,
    app_settings,
    case_epc,
    connect,
    feed_rig,
    fetch,
    insert_passage,
    pallet_epc,
)

from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role

ITEM = {"sku": GTIN, "name": "Tea, 12 x 500 g", "case_weight_kg": 6.2, "shelf_life_days": 540}


async def test_items_are_created_updated_read_and_listed_by_page(database_url, site):
    await apply_migrations(database_url)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        r = await client.post("/api/items", json=ITEM)
        assert r.status_code == 201, r.text
        assert r.json()["pallet_tare_kg"] == 25.0 and r.json()["name"] == ITEM["name"]
        r = await client.post("/api/items", json={**ITEM, "name": "Tea", "pallet_tare_kg": 22})
        assert r.status_code == 200 and r.json()["name"] == "Tea"
        r = await client.get(f"/api/items/{GTIN}")
        assert r.status_code == 200 and r.json()["pallet_tare_kg"] == 22
        await client.post("/api/items", json={**ITEM, "sku": GTIN2})
        await client.post("/api/items", json={**ITEM, "sku": "20614141123456"})
        pages = await all_pages(client, "/api/items", limit=2)
        assert [[i["sku"] for i in p] for p in pages] == [[GTIN, GTIN2], ["20614141123456"]]
        assert (await client.get("/api/items/00614141123469")).status_code == 404


async def test_a_bad_item_is_refused_naming_the_field(database_url, site):
    await apply_migrations(database_url)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        r = await client.post("/api/items", json={**ITEM, "sku": "00614141123453"})
        assert r.status_code == 422 and "check digit" in r.text and "sku" in r.text
        r = await client.post("/api/items", json={**ITEM, "case_weight_kg": 0})
        assert r.status_code == 422 and "case_weight_kg" in r.text
        r = await client.post("/api/items", json={**ITEM, "colour": "green"})
        assert r.status_code == 422 and "colour" in r.text
        assert (await client.get("/api/items")).json()["items"] == []


def notice(asn: str = "ASN-100", **kw):
    sscc1 = pallet_epc(1)[1]
    epc2, _ = pallet_epc(2)
    return {
        "asn": asn,
        "supplier": "Acme Foods",
        "expected_at": (T0 + timedelta(hours=1)).isoformat(),
        "door": "door-2",
        "pallets": [
            {
                "sscc": sscc1,
                "sku": GTIN,
                "lot": "L7",
                "expiry": "2025-12-31",
                "cases": [case_epc(1), case_epc(2), case_epc(3)],
            },
            {"epc": epc2, "sku": GTIN, "lot": "L7", "expiry": "2025-12-31", "cases": 4},
        ],
        **kw,
    }


async def test_a_notice_is_stored_with_its_pallets_pending(database_url, site):
    await apply_migrations(database_url)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        await client.post("/api/items", json=ITEM)
        r = await client.post("/api/asns", json=notice())
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["asn"] == "ASN-100" and body["site"] == site and body["door"] == "door-2"
        assert [(p["sscc"], p["epc"], p["cases"], p["status"]) for p in body["pallets"]] == [
            (pallet_epc(1)[1], None, 3, "pending"),
            (pallet_epc(2)[1], pallet_epc(2)[0], 4, "pending"),
        ]
        assert body["pallets"][0]["case_epcs"] == [case_epc(1), case_epc(2), case_epc(3)]
        assert body["report"] == {
            "pallets_expected": 2, "pallets_received": 0, "pallets_short": 0,
            "pallets_pending": 2, "cases_expected": 7, "cases_received": 0, "cases_short": 0,
            "cases_over": 0, "complete": False,
        }  # fmt: skip
        assert (await client.get("/api/asns/ASN-100")).json() == body
        # a notice without an id gets one
        other = notice(asn=None, pallets=[{**notice()["pallets"][1], "epc": pallet_epc(3)[0]}])
        r = await client.post("/api/asns", json=other)
        assert r.status_code == 201 and r.json()["asn"].startswith("ASN-")
        pages = await all_pages(client, "/api/asns", limit=1)
        assert sorted(p[0]["asn"] for p in pages) == sorted(["ASN-100", r.json()["asn"]])
        assert all("pallets" not in p[0] or p[0]["pallets"] is None for p in pages)


async def test_a_notice_naming_an_unknown_item_is_refused_naming_it_and_nothing_is_stored(
    database_url, site
):
    await apply_migrations(database_url)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        r = await client.post("/api/asns", json=notice())
        assert r.status_code == 422
        assert GTIN in r.json()["detail"] and "pallets[0].sku" in r.json()["detail"]
        async with await connect(database_url) as conn:
            for table in ("asns", "pallets", "pallet_cases", "lots"):
                assert await fetch(conn, f"SELECT count(*) FROM {table}") == [(0,)]


async def test_bad_notices_are_refused_naming_the_field(database_url, site):
    await apply_migrations(database_url)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        await client.post("/api/items", json=ITEM)
        base = notice()
        p0, p1 = base["pallets"]
        cases = [
            ({"pallets": [{**p0, "cases": [case_epc(1, GTIN2)]}]}, "not " + GTIN),
            ({"pallets": [{**p0, "sscc": p0["sscc"][:-1] + "0"}]}, "check digit"),
            ({"pallets": [{**p1, "epc": case_epc(9)}]}, "not an SSCC-96"),
            ({"pallets": [{**p1, "sscc": pallet_epc(5)[1]}]}, "is not the SSCC of epc"),
            ({"pallets": [p0, {**p0, "cases": 2}]}, "announced twice"),
            ({"pallets": [p0, {**p1, "cases": [case_epc(1)]}]}, "is on pallets[0] too"),
            ({"door": "door-9"}, "door-9"),
            ({"expected_at": "2025-03-03T09:00:00"}, "expected_at"),
            ({"pallets": []}, "pallets"),
            ({"pallets": [{**p1, "cases": 0}]}, "cases"),
        ]
        for change, says in cases:
            r = await client.post("/api/asns", json={**base, **change})
            assert r.status_code == 422, (change, r.text)
            assert says in r.text, (says, r.text)
        r = await client.post("/api/asns", json=base)
        assert r.status_code == 201
        again = await client.post("/api/asns", json=base)
        assert again.status_code == 409 and "ASN-100" in again.text
        same_pallet = await client.post("/api/asns", json={**base, "asn": "ASN-101"})
        assert same_pallet.status_code == 409 and pallet_epc(1)[1] in same_pallet.text


async def test_the_notice_reports_each_pallet_as_the_feed_receives_it(database_url, site):
    async with feed_rig(database_url, site) as rig:
        async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
            await client.post("/api/items", json=ITEM)
            three = notice(pallets=[*notice()["pallets"],
                                    {"sscc": pallet_epc(3)[1], "sku": GTIN, "lot": "L7",
                                     "cases": 2}])  # fmt: skip
            assert (await client.post("/api/asns", json=three)).status_code == 201
        async with await connect(database_url) as conn:
            # pallet 1 comes without case 3 and with a stranger; pallet 2 with 5 of 4
            await insert_passage(conn, pallet_epc(1)[0], [case_epc(1), case_epc(2), case_epc(50)])
            await insert_passage(conn, pallet_epc(2)[0], [case_epc(i) for i in range(10, 15)],
                                 door="door-3")  # fmt: skip
        await rig.drain()
        async with api(
            app_settings(database_url, site, T0 + timedelta(hours=2)), ingest=False, role=Role.ERP
        ) as c:
            body = (await c.get("/api/asns/ASN-100")).json()
    p1, p2, p3 = body["pallets"]
    assert (p1["status"], p1["cases_received"], p1["cases_missing"], p1["cases_over"]) == (
        "missing_cases", 2, 1, 1)  # fmt: skip
    assert p1["missing"] == [case_epc(3)] and p1["received_by"].startswith("passage:")
    assert (p2["status"], p2["cases_received"], p2["cases_over"], p2["door"]) == (
        "received", 4, 1, "door-3")  # fmt: skip
    assert (p3["status"], p3["cases_missing"]) == ("short", 2)  # 2 h on: past 1 h + 30 min
    assert body["report"] == {
        "pallets_expected": 3, "pallets_received": 2, "pallets_short": 1, "pallets_pending": 0,
        "cases_expected": 9, "cases_received": 6, "cases_short": 3, "cases_over": 2,
        "complete": False,
    }  # fmt: skip


async def test_the_same_notice_posted_at_once_is_stored_once(database_url, site):
    await apply_migrations(database_url)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        await client.post("/api/items", json=ITEM)
        codes = sorted(
            r.status_code
            for r in await asyncio.gather(
                *(client.post("/api/asns", json=notice()) for _ in range(6))
            )
        )
        assert codes == [201, 409, 409, 409, 409, 409]
        async with await connect(database_url) as conn:
            assert await fetch(conn, "SELECT count(*) FROM pallets") == [(2,)]
