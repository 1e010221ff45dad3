"""Events from the edges through the real broker into the database, the API and the
live hub: passages, zone events, weights, where a tag is and what a zone holds."""

from __future__ import annotations

import json
from datetime import timedelta

from cloudkit import (
    CASE_1,
    CASE_2,
    PALLET_1,
    T0,
    all_pages,
    api,
    batch,
    event_batch,
    events_topic,
    ingest,
    obs_topic,
    observation,
    passage,
    rows,
    settings_for,
    zone_event,
)

from cloud.db.migrate import apply_migrations


async def test_a_pallet_received_put_away_and_shipped_is_where_its_events_say(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    async with api(settings) as client:
        await ingest(
            client,
            mqtt_url,
            # the tag was read (a tag the API knows)
            (obs_topic(site), batch("edge-1", 1, observation(PALLET_1), observation(CASE_1))),
            (
                events_topic(site),
                event_batch(
                    "edge-1",
                    2,
                    passage(PALLET_1, at=T0, cases=(CASE_1, CASE_2)),
                    zone_event("arrived", PALLET_1, zone="zone-b", at=T0 + timedelta(seconds=40)),
                    {
                        "type": "weight",
                        "scale": "scale-1",
                        "weight_kg": 412.5,
                        "epc": PALLET_1,
                        "time": (T0 + timedelta(seconds=50)).isoformat(),
                    },
                ),
            ),
        )
        r = await client.get("/api/passages", params={"since": T0.isoformat()})
        assert r.status_code == 200, r.text
        (p,) = r.json()["items"]
        assert r.json()["next"] is None
        assert (p["time"], p["door"], p["direction"], p["epc"], p["cases"]) == (
            "2025-03-01T08:00:00Z",
            "door-1",
            "inbound",
            PALLET_1,
            [CASE_1, CASE_2],
        )
        assert p["confidence"] == 0.9 and p["evidence"]["outside"]["reads"] == 4
        assert (await client.get("/api/health")).json()["ingest"]["events"] == 3
        assert p["stored_at"] and p["edge_id"] == "edge-1"

        tag = (await client.get(f"/api/tags/{PALLET_1}")).json()
        assert (tag["zone"], tag["state"], tag["pallet"]) == ("zone-b", "present", None)
        case = (await client.get(f"/api/tags/{CASE_1}")).json()
        assert (case["zone"], case["state"], case["pallet"]) == ("zone-b", "present", PALLET_1)

        in_b = (await client.get("/api/zones/zone-b/tags")).json()
        assert [(i["epc"], i["kind"], i["pallet"]) for i in in_b["items"]] == [
            (CASE_1, "case", PALLET_1),
            (CASE_2, "case", PALLET_1),
            (PALLET_1, "pallet", None),
        ]
        # a page at a time: the pallet's own place and its cases' interleave by EPC
        paged, cursor = [], None
        for _ in range(5):
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/zones/zone-b/tags", params=params)).json()
            paged += [i["epc"] for i in page["items"]]
            cursor = page["next"]
            if cursor is None:
                break
        assert paged == [CASE_1, CASE_2, PALLET_1]
        assert (await client.get("/api/zones/zone-a/tags")).json()["items"] == []
        assert (await client.get("/api/zones/zone-q/tags")).status_code == 404

        (w,) = (await client.get("/api/weights", params={"since": T0.isoformat()})).json()["items"]
        assert (w["scale"], w["weight_kg"], w["epc"]) == ("scale-1", 412.5, PALLET_1)

        (z,) = (await client.get("/api/zone-events", params={"epc": PALLET_1})).json()["items"]
        assert (z["kind"], z["zone"], z["time"]) == ("arrived", "zone-b", "2025-03-01T08:00:40Z")

        # it leaves on a truck: out of the zone, and so are its cases
        await ingest(
            client,
            mqtt_url,
            (
                events_topic(site),
                event_batch(
                    "edge-1",
                    3,
                    passage(
                        PALLET_1,
                        door="door-4",
                        direction="outbound",
                        at=T0 + timedelta(minutes=5),
                        cases=(CASE_1, CASE_2),
                    ),
                ),
            ),
        )
        tag = (await client.get(f"/api/tags/{PALLET_1}")).json()
        assert (tag["zone"], tag["state"], tag["door"]) == (None, "shipped", "door-4")
        case = (await client.get(f"/api/tags/{CASE_2}")).status_code
        assert case == 404, "a case never read has no read history"
        assert (await client.get("/api/zones/zone-b/tags")).json()["items"] == []
        hub = client.app.state.cloud.hub  # type: ignore[attr-defined]
        snapshot = json.loads(hub.snapshot_message()[1])
        assert [p["door"] for p in snapshot["passages"]] == ["door-4", "door-1"]


async def test_passages_page_in_time_order_and_filter_by_door(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    doors = ["door-1", "door-2", "door-3", "door-4"]
    events = [
        passage(f"3174257BF7194E40000{i:05X}", door=doors[i % 4], at=T0 + timedelta(seconds=i))
        for i in range(25)
    ]
    async with api(settings) as client:
        await ingest(client, mqtt_url, (events_topic(site), event_batch("edge-1", 1, *events)))
        pages = await all_pages(client, "/api/passages", 7)
        assert [len(p) for p in pages] == [7, 7, 7, 4]
        times = [i["time"] for p in pages for i in p]
        assert times == sorted(times) and len(set(times)) == 25
        door_2 = (await client.get("/api/passages", params={"door": "door-2"})).json()["items"]
        assert len(door_2) == 6 and {i["door"] for i in door_2} == {"door-2"}
        late = await client.get("/api/passages", params={"since": "2025-03-01T08:00:20Z"})
        assert len(late.json()["items"]) == 5
        naive = await client.get("/api/passages", params={"since": "2025-03-01T08:00:20"})
        assert naive.status_code == 422 and "time zone" in naive.text
        bad = await client.get("/api/passages", params={"cursor": "nonsense"})
        assert bad.status_code == 422


async def test_passages_of_an_epc_are_its_own_and_those_it_crossed_as_a_case_in_time_order(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    other = "3174257BF7194E4000001234"
    events = [
        passage(PALLET_1, at=T0, cases=(CASE_1,)),
        passage(other, door="door-2", at=T0 + timedelta(seconds=10), cases=(CASE_2,)),
        passage(other, door="door-3", at=T0 + timedelta(seconds=20), cases=(CASE_1, CASE_2)),
        passage(PALLET_1, door="door-3", direction="outbound", at=T0 + timedelta(seconds=30)),
        passage(CASE_1, door="door-4", at=T0 + timedelta(seconds=40)),  # read as a pallet
    ]
    async with api(settings) as client:
        await ingest(client, mqtt_url, (events_topic(site), event_batch("edge-1", 1, *events)))

        async def seen(epc: str, **params: str) -> list[tuple[str, str]]:
            r = await client.get("/api/passages", params={"epc": epc, **params})
            assert r.status_code == 200, r.text
            return [(i["epc"], i["door"]) for i in r.json()["items"]]

        assert await seen(CASE_1) == [
            (PALLET_1, "door-1"),
            (other, "door-3"),
            (CASE_1, "door-4"),
        ], "each passage once, by time, whether the EPC crossed as the pallet or a case"
        assert await seen(PALLET_1) == [(PALLET_1, "door-1"), (PALLET_1, "door-3")]
        assert await seen(CASE_1.lower(), door="door-3") == [(other, "door-3")]
        assert await seen(CASE_2, since=(T0 + timedelta(seconds=15)).isoformat()) == [
            (other, "door-3")
        ]
        first = (await client.get("/api/passages", params={"epc": CASE_1, "limit": 2})).json()
        assert [i["door"] for i in first["items"]] == ["door-1", "door-3"]
        rest = await client.get(
            "/api/passages", params={"epc": CASE_1, "limit": 2, "cursor": first["next"]}
        )
        assert [(i["epc"], i["door"]) for i in rest.json()["items"]] == [(CASE_1, "door-4")]
        assert rest.json()["next"] is None


async def test_an_event_batch_is_stored_once_and_an_edge_speaks_only_for_its_places(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    once = event_batch("edge-1", 1, passage())
    foreign_scale = event_batch(
        "edge-1",
        2,
        {"type": "weight", "scale": "scale-9", "weight_kg": 1.0, "time": T0.isoformat()},
    )
    async with api(settings) as client:
        await ingest(
            client,
            mqtt_url,
            (events_topic(site), once),
            (events_topic(site), once),
            (events_topic(site), foreign_scale),
            (events_topic(site), event_batch("edge-1", 3, zone_event("arrived", zone="zone-q"))),
        )
    assert await rows(database_url, "SELECT count(*) FROM passages") == [(1,)]
    assert await rows(database_url, "SELECT kind FROM ingested_batches") == [("events",)]
    reasons = [
        r for (r,) in await rows(database_url, "SELECT reason FROM dead_letters ORDER BY id")
    ]
    assert reasons == [
        f"EventBatch.events.0: scale 'scale-9' is not a scale in the layout of site {site!r}",
        "EventBatch.events.0: zone 'zone-q' has no reader of edge 'edge-1' in the layout",
    ]
