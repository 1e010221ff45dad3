"""The floor plan of a site, GET /api/sites/{site}/layout: the geometry the map page
draws, read from the layout the cloud runs with, without the devices' addresses; an
unknown site is a 404 naming it; only the floor's roles may read it."""

from __future__ import annotations

import pytest
import yaml
from bigsite import fifty_reader_site
from cloudkit import api, as_user
from feedkit import settings_for

from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role
from protocols.layout import load_layout


@pytest.fixture
async def client(database_url, site):
    await apply_migrations(database_url)
    async with api(settings_for(database_url, site), ingest=False) as c:
        yield c


async def test_the_layout_of_the_site_is_its_zones_doors_readers_and_scales(client, site):
    r = await client.get(f"/api/sites/{site}/layout")
    assert r.status_code == 200, r.text
    plan = r.json()
    demo = load_layout(None)
    assert plan["site"] == site
    assert plan["warehouse"] == {
        "id": "dc-1",
        "name": "Demo Distribution Centre",
        "width_m": 80.0,
        "depth_m": 50.0,
    }
    assert [z["id"] for z in plan["zones"]] == [z.id for z in demo.zones]
    packing = next(z for z in plan["zones"] if z["id"] == "packing")
    assert packing == {
        "id": "packing",
        "name": "Packing",
        "kind": "packing",
        "area": {"x": 4.0, "y": 40.0, "w": 30.0, "h": 8.0},
    }
    assert plan["doors"][0] == {
        "id": "door-1",
        "name": "Dock door 1",
        "area": {"x": 6.0, "y": 0.0, "w": 8.0, "h": 2.0},
    }
    door_reader = plan["readers"][0]
    assert door_reader == {
        "id": "reader-door-1",
        "edge": "edge-1",
        "door": "door-1",
        "zone": None,
        "antennas": [
            {"id": 1, "read_point": "door-1/outside"},
            {"id": 2, "read_point": "door-1/outside"},
            {"id": 3, "read_point": "door-1/inside"},
            {"id": 4, "read_point": "door-1/inside"},
        ],
    }
    assert [s["read_point"] for s in plan["scales"]] == ["packing/scale-1", "packing/scale-2"]


async def test_the_layout_leaves_out_where_the_devices_are_on_the_network(
    database_url, site, tmp_path
):
    data = fifty_reader_site()
    data["readers"][0]["host"] = "10.1.2.3"
    data["readers"][0]["port"] = 5084
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(data))
    await apply_migrations(database_url)
    async with api(settings_for(database_url, site, layout=path), ingest=False) as c:
        r = await c.get(f"/api/sites/{site}/layout")
    assert r.status_code == 200, r.text
    plan = r.json()
    assert len(plan["readers"]) == len(data["readers"]) == 50
    assert [z["id"] for z in plan["zones"]] == [z["id"] for z in data["zones"]]
    assert "10.1.2.3" not in r.text
    assert set(plan["readers"][0]) == {"id", "edge", "door", "zone", "antennas"}


async def test_a_site_this_cloud_does_not_serve_is_not_found(client, site):
    r = await client.get("/api/sites/elsewhere/layout")
    assert r.status_code == 404
    assert (
        r.json()["detail"] == f"site 'elsewhere' is not served by this cloud (it serves {site!r})"
    )
    assert (await client.get(f"/api/sites/{'x' * 64}/layout")).status_code == 422


async def test_the_layout_is_for_the_floor_roles_only(client, site):
    path = f"/api/sites/{site}/layout"
    assert (await client.get(path, headers=await as_user(client, Role.ADMIN))).status_code == 200
    assert (await client.get(path, headers=await as_user(client, Role.ERP))).status_code == 403
    customer = await as_user(client, Role.CUSTOMER, customer="acme")
    assert (await client.get(path, headers=customer)).status_code == 403
