"""The warehouse feed in the running cloud: events published by an edge over MQTT are
ingested, then received and put away by the feed the app starts, within a second."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from cloudkit import (
    T0,
    api,
    event_batch,
    events_topic,
    ingest,
    passage,
    rows,
    settings_for,
    zone_event,
)
from feedkit import GTIN, case_epc, pallet_epc

from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role


async def test_an_edge_passage_is_received_and_an_unannounced_one_alerted_within_a_second(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    settings = settings_for(database_url, mqtt_url, site)
    epc1, sscc1 = pallet_epc(1)
    epc2, sscc2 = pallet_epc(2)
    cases = [case_epc(i) for i in range(1, 4)]
    async with api(settings, role=Role.ERP) as client:
        r = await client.post(
            "/api/items", json={"sku": GTIN, "name": "Tea", "case_weight_kg": 6.0}
        )
        assert r.status_code == 201
        r = await client.post(
            "/api/asns",
            json={
                "asn": "ASN-LIVE",
                "supplier": "Acme",
                "expected_at": (T0 + timedelta(hours=1)).isoformat(),
                "pallets": [{"epc": epc1, "sku": GTIN, "lot": "L1", "cases": cases}],
            },
        )
        assert r.status_code == 201, r.text
        await ingest(
            client,
            mqtt_url,
            (
                events_topic(site),
                event_batch(
                    "edge-1",
                    1,
                    passage(epc1, cases=tuple(cases), door="door-2", at=T0),
                    passage(epc2, cases=(case_epc(9),), door="door-3", at=T0),
                    zone_event("arrived", epc1, zone="zone-b", at=T0 + timedelta(seconds=30)),
                ),
            ),
        )
        stored = time.monotonic()
        sql = "SELECT kind, subject FROM alerts WHERE kind = 'unexpected_receipt'"
        while not await rows(database_url, sql):
            assert time.monotonic() - stored < 1.0, "no unexpected_receipt within 1 s"
            await asyncio.sleep(0.02)
        assert await rows(database_url, sql) == [("unexpected_receipt", sscc2)]
        for _ in range(100):
            pallets = (await client.get("/api/pallets")).json()["items"]
            if any(p["zone"] == "zone-b" for p in pallets):
                break
            await asyncio.sleep(0.02)
        assert [(p["sscc"], p["zone"], p["state"], p["cases"]) for p in pallets] == [
            (sscc1, "zone-b", "available", 3),
            (sscc2, "door-3", "quarantine", 1),
        ]
