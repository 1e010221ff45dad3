"""GET /api/epcis/events on real PostgreSQL: goods received through a door, put away,
picked, weighed and shipped through the existing flows (the warehouse feed), read back
as an EPCIS 2.0 document that GS1's JSON schema accepts; filters, paging, roles."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from cloudkit import api, as_user
from epciskit import schema_errors
from feedkit import (
    GTIN,
    T0,
    announce,
    announced,
    app_settings,
    case_epc,
    connect,
    feed_rig,
    insert_passage,
    insert_weight,
    insert_zone_event,
)
from feedkit import add_item as add_goods_item
from orderkit import FLOOR

from cloud.db import orders as orders_db
from cloud.warehouse.roles import Role
from protocols.epc import Sgtin96, Sscc96, decode_hex


def t(seconds: float):
    return T0 + timedelta(seconds=seconds)


async def received_and_shipped(database_url: str, site: str) -> tuple[str, list[str]]:
    """A pallet of 3 cases announced, received at door-1, put away in zone-a, ordered,
    picked to packing, weighed and shipped through door-1; (pallet EPC, case EPCs)."""
    cases = [case_epc(n) for n in (1, 2, 3)]
    async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
        await add_goods_item(conn)  # 6 kg a case, 25 kg tare
        pallet = announced(1, tuple(cases))
        await announce(conn, site, "ASN-1", pallet)
        await insert_passage(conn, pallet.epc, cases, door="door-1", at=t(60))
        await insert_zone_event(conn, pallet.epc, "zone-a", at=t(120))
        await rig.drain()
        created = await orders_db.create_order(
            conn,
            site=site,
            floor=FLOOR,
            new=orders_db.NewOrder("acme", (orders_db.NewLine(GTIN, 3),)),
            now=t(130),
        )
        assert created.detail.order.status == "allocated"
        await insert_zone_event(conn, pallet.epc, "packing", at=t(200))
        await insert_weight(conn, pallet.epc, 43.0, at=t(210))  # 3 x 6 kg + 25 kg
        await rig.drain()
        door = (await orders_db.get_order(conn, created.detail.order.id)).order.ship_door
        assert door == "door-1"
        await insert_passage(conn, pallet.epc, door=door, direction="outbound", at=t(300))
        await rig.drain()
        d = await orders_db.get_order(conn, created.detail.order.id)
        assert d.order.status == "shipped"
    assert pallet.epc is not None
    return pallet.epc, cases


def event_list(doc) -> list[dict]:
    return doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


async def test_received_and_shipped_goods_are_epcis_events_the_gs1_schema_accepts(
    database_url, site
):
    pallet_hex, cases = await received_and_shipped(database_url, site)
    sscc_uri = decode_hex(pallet_hex).uri
    assert isinstance(decode_hex(pallet_hex), Sscc96)
    case_uris = sorted(Sgtin96.from_hex(c).uri for c in cases)
    async with api(app_settings(database_url, site), ingest=False, role=Role.ERP) as client:
        r = await client.get("/api/epcis/events")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/ld+json"
        assert r.headers["gs1-epcis-version"] == "2.0.0" and "link" not in r.headers
        doc = r.json()
        assert schema_errors(doc) == []
        assert doc["type"] == "EPCISQueryDocument"
        got = [
            (
                e["type"],
                e.get("action"),
                e["bizStep"],
                e.get("disposition"),
                e["readPoint"]["id"],
                e["eventTime"],
            )
            for e in event_list(doc)
        ]
        place = f"urn:rfidwms:site:{site}:loc:"
        assert got == [
            ("ObjectEvent", "OBSERVE", "receiving", "in_progress", place + "door-1",
             "2025-03-03T08:01:00.000Z"),
            ("AggregationEvent", "ADD", "receiving", "in_progress", place + "door-1",
             "2025-03-03T08:01:00.000Z"),
            ("ObjectEvent", "OBSERVE", "storing", "sellable_accessible", place + "zone-a",
             "2025-03-03T08:02:00.000Z"),
            ("ObjectEvent", "OBSERVE", "picking", "in_progress", place + "packing",
             "2025-03-03T08:03:20.000Z"),
            # the door check moves what the books hold to the door it passed, then ships
            ("ObjectEvent", "OBSERVE", "staging_outbound", "in_progress", place + "door-1",
             "2025-03-03T08:05:00.000Z"),
            ("ObjectEvent", "OBSERVE", "shipping", "in_transit", place + "door-1",
             "2025-03-03T08:05:00.000Z"),
        ]  # fmt: skip
        events = event_list(doc)
        assert all(e.get("epcList", [sscc_uri]) == [sscc_uri] for e in events)
        aggregation = events[1]
        assert (aggregation["parentID"], aggregation["childEPCs"]) == (sscc_uri, case_uris)
        assert events[0]["bizTransactionList"] == [
            {"bizTransaction": "urn:rfidwms:asn:ASN-1", "type": "desadv"}
        ]
        assert {e["bizLocation"]["id"] for e in events} == {f"urn:rfidwms:site:{site}"}
        assert len({e["eventID"] for e in events}) == 6
        # the same events, the same ids
        again = event_list((await client.get("/api/epcis/events")).json())
        assert [e["eventID"] for e in again] == [e["eventID"] for e in events]

        async def steps(**params) -> list[tuple[str, str]]:
            r = await client.get("/api/epcis/events", params=params)
            assert r.status_code == 200, r.text
            assert schema_errors(r.json()) == []
            return [(e["type"], e["bizStep"]) for e in event_list(r.json())]

        ship = [("ObjectEvent", "shipping")]
        assert await steps(EQ_bizStep="shipping") == ship
        assert await steps(EQ_bizStep="https://ref.gs1.org/cbv/BizStep-shipping") == ship
        assert await steps(EQ_bizStep=["storing", "picking"]) == [
            ("ObjectEvent", "storing"),
            ("ObjectEvent", "picking"),
        ]
        assert await steps(EQ_bizStep="staging_outbound") == [("ObjectEvent", "staging_outbound")]
        assert await steps(EQ_bizStep="void_shipping") == []
        assert await steps(
            GE_eventTime="2025-03-03T08:02:00Z", LT_eventTime="2025-03-03T08:05:00Z"
        ) == [
            ("ObjectEvent", "storing"),
            ("ObjectEvent", "picking"),
        ]
        assert await steps(MATCH_epc=case_uris[1]) == [("AggregationEvent", "receiving")]
        assert len(await steps(MATCH_epc=sscc_uri)) == 6
        sscc = decode_hex(pallet_hex).sscc  # type: ignore[union-attr]
        assert len(await steps(MATCH_epc=f"https://id.gs1.org/00/{sscc}")) == 6
        other = Sscc96(company_prefix="0614141", serial_reference="1999999999").uri
        assert await steps(MATCH_epc=other) == []
        assert await steps(eventType="AggregationEvent") == [("AggregationEvent", "receiving")]
        assert len(await steps(site=site)) == 6
        assert await steps(site="elsewhere") == []

        # pages of at most perPage events, whole postings, linked by rel="next"
        seen: list[str] = []
        url, pages = "/api/epcis/events?perPage=2", 0
        while url:
            r = await client.get(url)
            assert r.status_code == 200 and schema_errors(r.json()) == []
            page = event_list(r.json())
            assert 1 <= len(page) <= 2
            seen += [e["eventID"] for e in page]
            pages += 1
            link = r.headers.get("link")
            if link is None:
                break
            assert link.endswith('>; rel="next"')
            target = urlsplit(link[1 : link.index(">")])
            assert parse_qs(target.query)["nextPageToken"] == [r.headers["gs1-next-page-token"]]
            url = f"{target.path}?{target.query}"
        assert seen == [e["eventID"] for e in events] and pages == 3

        # wrong input is named; a customer may not read the events
        for params, field in [
            ({"EQ_bizStep": "moving"}, "EQ_bizStep"),
            ({"GE_eventTime": "2025-03-03T08:00:00"}, "GE_eventTime"),
            ({"GE_eventTime": "soon"}, "GE_eventTime"),
            ({"MATCH_epc": "urn:epc:id:grai:0614141.12345.400"}, "MATCH_epc"),
            ({"MATCH_epc": "pallet-1"}, "MATCH_epc"),
            ({"eventType": "TransactionEvent"}, "eventType"),
            ({"nextPageToken": "nope"}, "cursor"),
        ]:
            r = await client.get("/api/epcis/events", params=params)
            assert r.status_code == 422 and field in r.text, (params, r.text)
        r = await client.get("/api/epcis/events", headers=await as_user(client, Role.CUSTOMER))
        assert r.status_code == 403
        for role in (Role.OPERATOR, Role.ADMIN):
            r = await client.get("/api/epcis/events", headers=await as_user(client, role))
            assert r.status_code == 200


async def test_a_returns_receipt_inspection_and_write_off_are_cbv_events_of_their_steps(
    database_url, site
):
    """The shipped pallet's 3 cases are asked back, come back through door-2 into
    quarantine, 1 is written off and 2 restocked (one by one): receiving/returned,
    inspecting/sellable_accessible, destroying/destroyed, each naming the RMA."""
    pallet_hex, cases = await received_and_shipped(database_url, site)
    settings = app_settings(database_url, site)
    async with api(settings, ingest=False, role=Role.ERP) as client:
        async with await connect(database_url) as conn:
            ((order,),) = await (await conn.execute("SELECT id FROM orders")).fetchall()
        r = await client.post("/api/returns", json={"order_id": order, "epcs": cases})
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        async with feed_rig(database_url, site) as rig, await connect(database_url) as conn:
            await insert_passage(conn, pallet_hex, cases, door="door-2", at=t(3600))
            await rig.drain()
        op = await as_user(client, Role.OPERATOR)
        r = await client.post(
            f"/api/returns/{rid}/inspect",
            headers=op,
            json={
                "decisions": [
                    {"epc": cases[0], "decision": "write_off"},
                    {"epc": cases[1], "decision": "restock"},
                    {"epc": cases[2], "decision": "restock"},
                ]
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "closed"

        async def returned(**params) -> list[dict]:
            r = await client.get("/api/epcis/events", params=params)
            assert r.status_code == 200, r.text
            assert schema_errors(r.json()) == []
            return [
                e
                for e in event_list(r.json())
                if {"bizTransaction": f"urn:rfidwms:rma:{rid}", "type": "rma"}
                in e.get("bizTransactionList", [])
            ]

        place = f"urn:rfidwms:site:{site}:loc:"
        lot_class = f"https://id.gs1.org/01/{GTIN}/10/"
        got = [
            (
                e["bizStep"],
                e["disposition"],
                e["readPoint"]["id"],
                e.get("epcList") or [(q["epcClass"].startswith(lot_class), q["quantity"])
                                     for q in e["quantityList"]],
            )
            for e in await returned()
        ]  # fmt: skip
        sscc_uri = decode_hex(pallet_hex).uri
        assert got == [
            ("receiving", "returned", place + "door-2", [sscc_uri]),
            ("destroying", "destroyed", place + "door-2", [(True, 1)]),
            ("inspecting", "sellable_accessible", place + "door-2", [(True, 1)]),
            ("inspecting", "sellable_accessible", place + "door-2", [(True, 1)]),
        ]
        # each is found by its business step, the return's receipt among the receipts
        assert [e["bizStep"] for e in await returned(EQ_bizStep="inspecting")] == [
            "inspecting",
            "inspecting",
        ]
        assert [e["bizStep"] for e in await returned(EQ_bizStep="destroying")] == ["destroying"]
        receiving = await returned(EQ_bizStep="receiving")
        assert [(e["bizStep"], e["disposition"]) for e in receiving] == [("receiving", "returned")]
        # the pallet's own events include them
        mine = await returned(MATCH_epc=sscc_uri)
        assert [e["bizStep"] for e in mine] == ["receiving"]
