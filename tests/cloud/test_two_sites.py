"""One cloud serving two sites (``RFIDWMS_SITES``), through the real broker and
database: the ingester subscribes to both sites and stores their reads, each edge held
to its own site's layout (a site it does not serve is a dead letter: see
test_ingest_changes); lists filter by ``site=`` and cover every site by default; a
request that needs one site and names none is a 422 naming the sites."""

from __future__ import annotations

from pathlib import Path

from cloudkit import (
    SPOOL_1,
    api,
    batch,
    eventually,
    obs_topic,
    observation,
    publish,
    rows,
)

from cloud.db.migrate import apply_migrations
from cloud.settings import CloudSettings
from protocols.layout import load_layout

DC2 = Path(__file__).parents[2] / "protocols" / "layouts" / "dc-2.yaml"


def two_sites(database_url: str, mqtt_url: str, site: str) -> CloudSettings:
    return CloudSettings(
        database_url=database_url,
        mqtt_url=mqtt_url,
        sites=f"{site}-1,{site}-2={DC2}",
        ingest_client_id=f"test-ingest-{site}",
        ingest_retry_max_s=0.5,
    )


async def test_one_cloud_ingests_two_sites_each_against_its_layout(database_url, mqtt_url, site):
    await apply_migrations(database_url)
    one, two = f"{site}-1", f"{site}-2"
    async with api(two_sites(database_url, mqtt_url, site)) as client:
        assert client.app.state.cloud.ingester.topic_filters == [  # type: ignore[attr-defined]
            f"rfidwms/v1/{one}/+/+",
            f"rfidwms/v1/{two}/+/+",
        ]
        at_two = observation(
            "3074257BF7194E4000002222", read_point="door-5/outside", reader_id="reader-door-5"
        )
        await publish(
            mqtt_url,
            (obs_topic(one, "edge-1"), batch("edge-1", 1, observation())),
            (obs_topic(two, "edge-2"), batch("edge-2", 1, at_two, spool=SPOOL_1)),
        )
        stored = await eventually(
            lambda: _edges_stored(database_url), what="both sites' reads stored"
        )
        assert stored == {"edge-1", "edge-2"}
        # the edge of the second site may not speak for the first's readers
        await publish(mqtt_url, (obs_topic(two, "edge-2"), batch("edge-2", 3, observation())))
        refused = await eventually(
            lambda: rows(
                database_url,
                "SELECT reason FROM dead_letters WHERE topic LIKE %s",
                f"rfidwms/v1/{two}/%",
            ),
            what="the second site's edge refused a reader of the first",
        )
        assert (
            f"reader 'reader-door-1' is not a reader in the layout of site {two!r}"
            in (refused[0][0])
        )


async def _edges_stored(database_url: str) -> set[str] | None:
    found = {
        r[0]
        for r in await rows(
            database_url,
            "SELECT DISTINCT edge_id FROM observations WHERE epc IN (%s, %s)",
            "3074257BF7194E4000001A85",
            "3074257BF7194E4000002222",
        )
    }
    return found if len(found) == 2 else None


async def test_lists_filter_by_site_and_one_site_requests_must_name_theirs(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    one, two = f"{site}-1", f"{site}-2"
    dc2 = load_layout(DC2)
    async with api(two_sites(database_url, mqtt_url, site), ingest=False) as client:
        sites = (await client.get("/api/sites")).json()["items"]
        assert [(s["id"], s["warehouse"]) for s in sites] == [(one, "dc-1"), (two, "dc-2")]
        assert sites[1]["doors"] == ["door-5", "door-6"]
        health = (await client.get("/api/health")).json()
        assert health["site"] == one and health["sites"] == [one, two]
        layout = (await client.get(f"/api/sites/{two}/layout")).json()
        assert [z["id"] for z in layout["zones"]] == [z.id for z in dc2.zones]

        readers = (await client.get("/api/readers", params={"site": two})).json()["items"]
        assert [r["reader_id"] for r in readers] == [r.id for r in dc2.readers]
        every = (await client.get("/api/readers", params={"limit": 100})).json()["items"]
        assert {r["reader_id"] for r in every} >= {"reader-door-1", "reader-door-5"}
        zones = (await client.get("/api/variances/zones", params={"site": two})).json()
        assert [(z["site"], z["zone"]) for z in zones] == [(two, "zone-d"), (two, "zone-e")]

        unknown = await client.get("/api/readers", params={"site": "nowhere"})
        assert unknown.status_code == 422
        assert unknown.json()["detail"] == (
            f"site 'nowhere' is not served by this cloud (it serves {one!r}, {two!r})"
        )
        ambiguous = f"site: this cloud serves several sites ({one!r}, {two!r}); name one"
        tasks = await client.get("/api/tasks")
        assert tasks.status_code == 422 and tasks.json()["detail"] == ambiguous
        assert (await client.get("/api/tasks", params={"site": two})).status_code == 200
        order = {"customer": "acme", "lines": [{"sku": "04012345000016", "qty": 1}]}
        erp = {"Authorization": client.headers["Authorization"]}
        r = await client.post("/api/orders", json=order, headers=erp)
        assert r.status_code == 422 and r.json()["detail"] == ambiguous
        wrong_door = {**order, "site": two, "ship_door": "door-1"}
        r = await client.post("/api/orders", json=wrong_door)
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith(f"ship_door: 'door-1' is not a door of site {two!r}")
        for path in ("/api/orders", "/api/asns", "/api/returns"):
            r = await client.get(path, params={"site": two})
            assert r.status_code == 200 and r.json()["items"] == [], (path, r.text)
            assert (await client.get(path)).status_code == 200, path
