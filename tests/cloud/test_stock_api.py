"""The stock API on real PostgreSQL: pallets where the ledger has them, balances,
availability with a promised date, and the ledger itself; paged, errors naming the
field."""

from __future__ import annotations

from datetime import timedelta

from cloudkit import all_pages, api
from feedkit import (
    GTIN,
    GTIN2,
    T0,
    add_item,
    announce,
    announced,
    app_settings,
    case_epc,
    connect,
    feed_rig,
    insert_passage,
    insert_zone_event,
    pallet_epc,
)

from cloud.db import stock
from cloud.warehouse.ledger import (
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    Position,
    StockState,
    transfer,
)
from cloud.warehouse.roles import Role


async def received_and_put_away(database_url: str, site: str) -> None:
    """Pallet 1 (4 cases, lot L1) in zone-a, pallet 2 (3 cases of GTIN2, lot L2) at
    door-2, pallet 3 announced for tomorrow (6 cases), 1 case of pallet 1 reserved."""
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_item(conn)
        await add_item(conn, GTIN2)
        await announce(conn, site, "ASN-1", announced(1, tuple(case_epc(i) for i in range(4))))
        await announce(conn, site, "ASN-2", announced(2, 3, sku=GTIN2, lot="L2"))
        await announce(conn, site, "ASN-3", announced(3, 6), expected_at=T0 + timedelta(days=1))
        await insert_passage(conn, pallet_epc(1)[0], [case_epc(i) for i in range(4)])
        await insert_passage(conn, pallet_epc(2)[0], [case_epc(i, GTIN2) for i in range(3)],
                             door="door-2")  # fmt: skip
        await insert_zone_event(conn, pallet_epc(1)[0], "zone-a", at=T0 + timedelta(seconds=30))
        await rig.drain()
        sscc = pallet_epc(1)[1]
        source = Position(Bucket(site, GTIN, "L1", "zone-a", StockState.AVAILABLE), sscc)
        target = Position(Bucket(site, GTIN, "L1", "zone-a", StockState.RESERVED), sscc)
        op = transfer(EntryKind.RESERVE, source, target, 1, cause=Cause(CauseKind.ORDER, "o-1"),
                      time=T0 + timedelta(minutes=1))  # fmt: skip
        await stock.post(conn, op)


async def test_pallets_are_listed_where_the_ledger_has_them(database_url, site):
    await received_and_put_away(database_url, site)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        r = await client.get("/api/pallets")
        assert r.status_code == 200, r.text
        assert r.json()["items"] == [
            {"epc": pallet_epc(1)[0], "sscc": pallet_epc(1)[1], "sku": GTIN, "lot": "L1",
             "expiry": "2025-09-30", "zone": "zone-a", "state": "available", "cases": 4},
            {"epc": pallet_epc(2)[0], "sscc": pallet_epc(2)[1], "sku": GTIN2, "lot": "L2",
             "expiry": "2025-09-30", "zone": "door-2", "state": "available", "cases": 3},
        ]  # fmt: skip
        assert [p["sscc"] for p in (await client.get("/api/pallets?zone=door-2")).json()[
            "items"]] == [pallet_epc(2)[1]]  # fmt: skip
        assert (await client.get(f"/api/pallets?sku={GTIN2}&zone=zone-a")).json()["items"] == []
        assert len((await client.get(f"/api/pallets?site={site}")).json()["items"]) == 2
        assert (await client.get("/api/pallets?site=elsewhere")).json()["items"] == []
        pages = await all_pages(client, "/api/pallets", limit=1)
        assert [[p["sscc"] for p in page] for page in pages] == [
            [pallet_epc(1)[1]],
            [pallet_epc(2)[1]],
        ]
        assert (await client.get("/api/pallets?sku=00614141123453")).status_code == 422


async def test_a_pallet_is_found_by_epc_or_sscc_with_its_cases_and_history(database_url, site):
    await received_and_put_away(database_url, site)
    epc, sscc = pallet_epc(1)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        by_epc = (await client.get(f"/api/pallets/{epc}")).json()
        assert (await client.get(f"/api/pallets/{sscc}")).json() == by_epc
        assert (await client.get(f"/api/pallets/{epc.lower()}")).json() == by_epc
        assert (by_epc["status"], by_epc["asn"], by_epc["zone"], by_epc["cases"]) == (
            "received", "ASN-1", "zone-a", 4)  # fmt: skip
        assert sorted((s["state"], s["qty"]) for s in by_epc["stock"]) == [
            ("available", 3),
            ("reserved", 1),
        ]
        assert [c["epc"] for c in by_epc["case_epcs"]] == sorted(case_epc(i) for i in range(4))
        assert [(h["kind"], h["location"], h["qty"], h["cause"]["kind"]) for h in
                by_epc["history"]] == [
            ("receipt", "door-1", 4, "passage"),
            ("putaway", "door-1", -4, "zone_event"), ("putaway", "zone-a", 4, "zone_event"),
            ("reserve", "zone-a", -1, "order"), ("reserve", "zone-a", 1, "order"),
        ]  # fmt: skip
        r = await client.get(f"/api/pallets/{case_epc(1)}")
        assert r.status_code == 422 and "not an SSCC-96" in r.text
        r = await client.get(f"/api/pallets/{sscc[:-1]}0")
        assert r.status_code == 422 and "check digit" in r.text
        r = await client.get(f"/api/pallets/{pallet_epc(9)[1]}")
        assert r.status_code == 404 and pallet_epc(9)[1] in r.text


async def test_stock_gives_balances_by_site_item_lot_zone_and_state(database_url, site):
    await received_and_put_away(database_url, site)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        body = (await client.get("/api/stock")).json()
        assert body == {
            "items": [
                {"site": site, "sku": GTIN, "lot": "L1", "expiry": "2025-09-30",
                 "zone": "zone-a", "state": "available", "qty": 3},
                {"site": site, "sku": GTIN, "lot": "L1", "expiry": "2025-09-30",
                 "zone": "zone-a", "state": "reserved", "qty": 1},
                {"site": site, "sku": GTIN2, "lot": "L2", "expiry": "2025-09-30",
                 "zone": "door-2", "state": "available", "qty": 3},
            ],
            "next": None,
        }  # fmt: skip
        assert [b["qty"] for b in (await client.get(f"/api/stock?sku={GTIN2}")).json()[
            "items"]] == [3]  # fmt: skip
        pages = await all_pages(client, "/api/stock", limit=2)
        assert [len(p) for p in pages] == [2, 1]
        assert [b for p in pages for b in p] == body["items"]
        r = await client.get("/api/stock?cursor=bm9wZQ")
        assert r.status_code == 422 and "cursor" in r.text


async def test_availability_promises_from_stock_then_announced_inbound(database_url, site):
    await received_and_put_away(database_url, site)
    async with api(app_settings(database_url, site), ingest=False, role=Role.CUSTOMER) as client:
        now = (await client.get(f"/api/availability?sku={GTIN}&qty=3")).json()
        assert now == {"sku": GTIN, "qty": 3, "available_now": 3, "promised_date": "2025-03-03",
                       "sources": [{"kind": "stock", "asn": None, "qty": 3,
                                    "date": "2025-03-03"}]}  # fmt: skip
        later = (await client.get(f"/api/availability?sku={GTIN}&qty=8")).json()
        assert later["promised_date"] == "2025-03-04"
        assert [(s["kind"], s["asn"], s["qty"]) for s in later["sources"]] == [
            ("stock", None, 3),
            ("asn", "ASN-3", 5),
        ]
        never = (await client.get(f"/api/availability?sku={GTIN}&qty=10")).json()
        assert never["promised_date"] is None and never["available_now"] == 3
        r = await client.get("/api/availability?sku=00614141123469&qty=1")
        assert r.status_code == 404 and "00614141123469" in r.text
        r = await client.get(f"/api/availability?sku={GTIN}&qty=0")
        assert r.status_code == 422 and "qty" in r.text
        r = await client.get("/api/availability?sku=0061414112345&qty=1")
        assert r.status_code == 422 and "sku" in r.text


async def test_the_ledger_is_listed_by_item_pallet_and_time_in_pages(database_url, site):
    await received_and_put_away(database_url, site)
    async with api(app_settings(database_url, site), ingest=False, role=Role.OPERATOR) as client:
        everything = [e for p in await all_pages(client, "/api/ledger", limit=2) for e in p]
        assert len(everything) == 6 and [e["id"] for e in everything] == sorted(
            e["id"] for e in everything
        )
        assert all(e["cause"]["id"] for e in everything)
        mine = (await client.get(f"/api/ledger?pallet={pallet_epc(2)[0]}")).json()["items"]
        assert [(e["kind"], e["sku"], e["qty"]) for e in mine] == [("receipt", GTIN2, 3)]
        by_sku = (await client.get(f"/api/ledger?sku={GTIN2}")).json()["items"]
        assert by_sku == mine
        since = (T0 + timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
        late = (await client.get("/api/ledger", params={"since": since})).json()["items"]
        assert [e["kind"] for e in late] == ["putaway", "putaway", "reserve", "reserve"]
        r = await client.get("/api/ledger", params={"since": "2025-03-03T08:00:00"})
        assert r.status_code == 422 and "time zone" in r.text


async def test_the_ledger_of_one_balance_sums_to_its_quantity(database_url, site):
    await received_and_put_away(database_url, site)
    async with api(app_settings(database_url, site), ingest=False, role=Role.OPERATOR) as client:
        balances = (await client.get("/api/stock")).json()["items"]
        assert balances
        for b in balances:
            params = {k: b[k] for k in ("site", "sku", "lot", "zone", "state")}
            entries = (await client.get("/api/ledger", params=params)).json()["items"]
            assert entries and sum(e["qty"] for e in entries) == b["qty"], b
            assert {(e["lot"], e["location"], e["state"]) for e in entries} == {
                (b["lot"], b["zone"], b["state"])
            }
        r = await client.get("/api/ledger", params={"state": "lost"})
        assert r.status_code == 422 and "state" in r.text
        r = await client.get("/api/ledger", params={"lot": ""})
        assert r.status_code == 422 and "lot" in r.text
