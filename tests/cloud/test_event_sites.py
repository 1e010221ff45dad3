"""Each door passage, zone event and weight carries its site (migration 0034): ingest
stamps the site its batch's topic named, through the real broker and database; the
lists ``/api/passages``, ``/api/zone-events`` and ``/api/weights`` keep one site's
with ``site=`` and every site's without, and name a site not served (422); events
stored before they had a site get their edge's site when the cloud starts; on
TimescaleDB as on plain PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from cloudkit import (
    PALLET_1,
    SPOOL_1,
    T0,
    api,
    event_batch,
    events_topic,
    ingest,
    passage,
    publish,
    rows,
    running_ingester,
    settings_for,
    until,
    zone_event,
)
from test_two_sites import two_sites

from cloud.db.migrate import apply_migrations, bundled_migrations

PALLET_2 = "3174257BF7194E4000002B22"
LISTS = ("passages", "zone-events", "weights")


def weight(scale: str, epc: str, at: object) -> dict[str, object]:
    return {"type": "weight", "scale": scale, "weight_kg": 400.0, "epc": epc, "time": str(at)}


PLACE = {"passages": "door", "zone-events": "zone", "weights": "scale"}
"""What tells the two sites' events apart in each list."""


async def test_ingest_stamps_each_event_with_its_sites_and_the_lists_filter_by_site(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    one, two = f"{site}-1", f"{site}-2"
    t1 = T0 + timedelta(seconds=40)
    async with api(two_sites(database_url, mqtt_url, site)) as client:
        await ingest(
            client,
            mqtt_url,
            (
                events_topic(one, "edge-1"),
                event_batch(
                    "edge-1",
                    1,
                    passage(PALLET_1, door="door-1", at=T0),
                    zone_event("arrived", PALLET_1, zone="zone-b", at=t1),
                    weight("scale-1", PALLET_1, t1.isoformat()),
                ),
            ),
            (
                events_topic(two, "edge-2"),
                event_batch(
                    "edge-2",
                    1,
                    passage(PALLET_2, door="door-5", at=T0),
                    zone_event("arrived", PALLET_2, zone="zone-d", at=t1),
                    weight("scale-3", PALLET_2, t1.isoformat()),
                    spool=SPOOL_1,
                ),
            ),
        )
        for table in ("passages", "zone_events", "weights"):
            stored = await rows(database_url, f"SELECT edge_id, site FROM {table} ORDER BY site")
            assert stored == [("edge-1", one), ("edge-2", two)], table

        for name in LISTS:
            every = await client.get(f"/api/{name}")
            assert every.status_code == 200, every.text
            assert {(i["site"], i["epc"]) for i in every.json()["items"]} == {
                (one, PALLET_1),
                (two, PALLET_2),
            }, name
            for at, epc, place in (
                (
                    one,
                    PALLET_1,
                    {"passages": "door-1", "zone-events": "zone-b", "weights": "scale-1"},
                ),
                (
                    two,
                    PALLET_2,
                    {"passages": "door-5", "zone-events": "zone-d", "weights": "scale-3"},
                ),
            ):
                r = await client.get(f"/api/{name}", params={"site": at, "since": T0.isoformat()})
                assert r.status_code == 200, r.text
                items = r.json()["items"]
                assert [(i["site"], i["epc"], i[PLACE[name]]) for i in items] == [
                    (at, epc, place[name])
                ], (name, at)
            unknown = await client.get(f"/api/{name}", params={"site": "nowhere"})
            assert unknown.status_code == 422, (name, unknown.text)
            assert unknown.json()["detail"] == (
                f"site 'nowhere' is not served by this cloud (it serves {one!r}, {two!r})"
            )
        # a filter by site goes with the others: dc-2's zone, asked of dc-1, is empty
        r = await client.get("/api/zone-events", params={"site": one, "zone": "zone-d"})
        assert r.json()["items"] == []


async def test_events_stored_before_they_had_a_site_get_their_edges_site_when_the_cloud_starts(
    database_url, mqtt_url, site
):
    before = {n: sql for n, sql in bundled_migrations().items() if n < "0034"}
    await apply_migrations(database_url, files=before)
    one, two = f"{site}-1", f"{site}-2"
    for seq, edge in enumerate(("edge-1", "edge-2", "edge-gone")):  # edge-gone: in no layout
        await rows(
            database_url,
            "INSERT INTO passages (time, door, direction, epc, cases, confidence, evidence,"
            " edge_id, spool, seq, idx, stored_at) VALUES (%s, 'door-1', 'inbound', %s, '{}',"
            " 0.9, '{}', %s, 'spool', %s, 0, %s) RETURNING id",
            T0,
            PALLET_1,
            edge,
            seq,
            T0,
        )
        await rows(
            database_url,
            "INSERT INTO zone_events (time, kind, epc, zone, edge_id, spool, seq, idx, stored_at)"
            " VALUES (%s, 'arrived', %s, 'zone-b', %s, 'spool', %s, 0, %s) RETURNING id",
            T0,
            PALLET_1,
            edge,
            seq,
            T0,
        )
        await rows(
            database_url,
            "INSERT INTO weights (time, scale, weight_kg, epc, edge_id, spool, seq, idx,"
            " stored_at) VALUES (%s, 'scale-1', 400, %s, %s, 'spool', %s, 0, %s) RETURNING id",
            T0,
            PALLET_1,
            edge,
            seq,
            T0,
        )
    applied = await apply_migrations(database_url)
    assert [m.filename for m in applied if m.version == 34] == ["0034_event_sites.sql"]
    for table in ("passages", "zone_events", "weights"):
        assert await rows(database_url, f"SELECT count(*) FROM {table} WHERE site IS NULL") == [
            (3,)
        ]
    async with api(two_sites(database_url, mqtt_url, site), ingest=False) as client:
        for table in ("passages", "zone_events", "weights"):
            filled = await rows(database_url, f"SELECT edge_id, site FROM {table} ORDER BY seq")
            assert filled == [("edge-1", one), ("edge-2", two), ("edge-gone", one)], table
        for name in LISTS:
            r = await client.get(f"/api/{name}", params={"site": two})
            assert [i["edge_id"] for i in r.json()["items"]] == ["edge-2"], name
    # once filled, a second start has nothing left to fill and changes nothing
    async with api(two_sites(database_url, mqtt_url, site), ingest=False):
        assert await rows(
            database_url, "SELECT count(*) FROM passages WHERE site IS DISTINCT FROM %s", one
        ) == [(1,)]


async def test_on_timescaledb_ingest_stamps_the_site_of_each_event(timescale_url, mqtt_url, site):
    applied = await apply_migrations(timescale_url)
    assert any(m.variant == "timescale" for m in applied)
    assert any(m.version == 34 for m in applied)
    settings = settings_for(timescale_url, mqtt_url, site)
    async with running_ingester(settings, migrate=False) as rig:
        await publish(
            mqtt_url,
            (
                events_topic(site),
                event_batch(
                    "edge-1",
                    1,
                    passage(at=T0),
                    zone_event("arrived", zone="zone-b", at=T0),
                    weight("scale-1", PALLET_1, T0.isoformat()),
                ),
            ),
        )
        await until(lambda: rig.ingester.stats.batches == 1, what="the events batch")
    for table in ("passages", "zone_events", "weights"):
        assert await rows(timescale_url, f"SELECT site FROM {table}") == [(site,)], table
