"""Counts as EPCIS 2.0 events on real PostgreSQL: count variances approved through the
API (a pallet missing, a pallet in the wrong zone, the missing pallet found again) and
a handheld count, read back from ``GET /api/epcis/events`` as ``cycle_counting``
ObjectEvents that GS1's JSON schema accepts, found by each filter."""

from __future__ import annotations

import psycopg
from cloudkit import api
from epciskit import schema_errors
from feedkit import GTIN, T0, add_item, announce, announced, app_settings, pallet_epc

from cloud.db import variances as variances_db
from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role
from cloud.warehouse.variances import Discrepancy, VarianceKind
from protocols.epc import decode_hex

CYCLE_COUNTING = "https://ref.gs1.org/cbv/BizStep-cycle_counting"


def event_list(doc) -> list[dict]:
    return doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


async def _open(database_url: str, site: str, d: Discrepancy) -> int:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        vid = await variances_db.open_variance(conn, site, d, at=T0)
    assert vid is not None
    return vid


async def test_approved_variances_and_a_handheld_count_are_cycle_counting_events(
    database_url, site
):
    """Pallets 1 and 2 (3 cases each) received into zone-a by scan. Variances approved:
    pallet 1 missing from zone-a (written off), pallet 2 heard in zone-b (moved), pallet 1
    heard again in zone-c (booked in). Then pallet 2 counted by hand in zone-c, 2 cases
    (moved there, 1 case short)."""
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await add_item(conn)
        await announce(conn, site, "ASN-1", announced(1, 3), announced(2, 3))
    (e1, s1), (e2, s2) = pallet_epc(1), pallet_epc(2)
    p1, p2 = decode_hex(e1).uri, decode_hex(e2).uri
    M, U, W = VarianceKind.MISSING, VarianceKind.UNEXPECTED, VarianceKind.WRONG_ZONE
    async with api(app_settings(database_url, site), ingest=False, role=Role.OPERATOR) as client:
        for sscc in (s1, s2):
            r = await client.post(
                "/api/scans",
                json={"barcode": f"00{sscc}", "action": "receive", "location": "zone-a"},
            )
            assert r.status_code == 201, r.text

        async def approve(d: Discrepancy) -> list[int]:
            vid = await _open(database_url, site, d)
            r = await client.post(f"/api/variances/{vid}/approve")
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "approved" and r.json()["postings"], r.json()
            return list(r.json()["postings"])

        await approve(Discrepancy(e1, M, "zone-a", s1, "zone-a", None))
        await approve(Discrepancy(e2, W, "zone-b", s2, "zone-a", "zone-b"))
        await approve(Discrepancy(e1, U, "zone-c", s1, None, "zone-c"))
        r = await client.post(
            "/api/scans",
            json={"barcode": f"00{s2}", "action": "count", "location": "zone-c", "qty": 2},
        )
        assert r.status_code == 201, r.text
        assert [e["kind"] for e in r.json()["entries"]] == ["move", "move", "adjust"]

        async def events(**params) -> list[dict]:
            r = await client.get("/api/epcis/events", params=params)
            assert r.status_code == 200, r.text
            assert schema_errors(r.json()) == []
            return event_list(r.json())

        counted = await events(EQ_bizStep=CYCLE_COUNTING)
        place = f"urn:rfidwms:site:{site}:loc:"
        lot_class = f"https://id.gs1.org/01/{GTIN}/10/L1"
        got = [
            (
                e["type"],
                e["action"],
                e["bizStep"],
                e["disposition"],
                e["readPoint"]["id"].removeprefix(place),
                e["bizLocation"]["id"],
                e.get("epcList") or [(q["epcClass"], q["quantity"]) for q in e["quantityList"]],
            )
            for e in counted
        ]
        at = f"urn:rfidwms:site:{site}"
        assert got == [
            # pallet 1 not found where the book had it: its condition unknown
            ("ObjectEvent", "OBSERVE", "cycle_counting", "unknown", "zone-a", at, [p1]),
            # pallet 2 heard in zone-b: moved there, still sellable
            ("ObjectEvent", "OBSERVE", "cycle_counting", "sellable_accessible", "zone-b", at,
             [p2]),
            # pallet 1 heard again in zone-c: booked in there
            ("ObjectEvent", "OBSERVE", "cycle_counting", "sellable_accessible", "zone-c", at,
             [p1]),
            # the handheld count: pallet 2 moved where it was counted, 1 case short
            ("ObjectEvent", "OBSERVE", "cycle_counting", "sellable_accessible", "zone-c", at,
             [p2]),
            ("ObjectEvent", "OBSERVE", "cycle_counting", "unknown", "zone-c", at,
             [(lot_class, 1)]),
        ]  # fmt: skip
        assert all("bizTransactionList" not in e for e in counted)
        ids = [e["eventID"] for e in counted]
        assert len(set(ids)) == 5

        # the whole stream holds them beside the receipts, and they are nothing else
        everything = await events()
        assert [e["bizStep"] for e in everything] == ["receiving"] * 2 + ["cycle_counting"] * 5
        assert [e["eventID"] for e in everything[2:]] == ids
        assert await events(EQ_bizStep="storing") == []
        assert [e["bizStep"] for e in await events(EQ_bizStep="receiving")] == ["receiving"] * 2
        both = await events(EQ_bizStep=["receiving", "cycle_counting"])
        assert [e["eventID"] for e in both] == [e["eventID"] for e in everything]
        assert await events(EQ_bizStep="cycle_counting", eventType="AggregationEvent") == []

        # by EPC, site and time
        mine = await events(EQ_bizStep="cycle_counting", MATCH_epc=p1)
        assert [e["eventID"] for e in mine] == [ids[0], ids[2]]
        assert [e["eventID"] for e in await events(MATCH_epc=p2)][1:] == [ids[1], ids[3]]
        assert [e["eventID"] for e in await events(EQ_bizStep="cycle_counting", site=site)] == ids
        assert await events(EQ_bizStep="cycle_counting", site="elsewhere") == []
        first, by_hand = counted[0]["eventTime"], counted[3]["eventTime"]
        assert await events(EQ_bizStep="cycle_counting", LT_eventTime=first) == []
        later = await events(EQ_bizStep="cycle_counting", GE_eventTime=by_hand)
        assert [e["eventID"] for e in later] == ids[3:]
