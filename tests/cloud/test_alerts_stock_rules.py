"""The stock rules API: set a rule per site and item, list them; bad rules are a 422
naming the field and change nothing."""

from __future__ import annotations

import pytest
from cloudkit import all_pages, api, settings_for

from cloud.db.migrate import apply_migrations

A, B, C = "00614141123452", "00614141999996", "00012345600012"


async def test_rules_are_set_replaced_and_listed_by_site_and_sku(database_url, mqtt_url, site):
    await apply_migrations(database_url)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        put = await client.put(
            f"/api/stock-rules/{A}",
            json={"reorder_point": 10, "max_on_hand": 200, "expiry_warning_days": 14},
        )
        assert put.status_code == 200, put.text
        body = put.json()
        assert {k: v for k, v in body.items() if k != "updated_at"} == {
            "site": site,
            "sku": A,
            "reorder_point": 10,
            "max_on_hand": 200,
            "expiry_warning_days": 14,
        }
        # a rule is replaced whole: what is left out has no rule any more
        again = await client.put(f"/api/stock-rules/{A}", json={"reorder_point": 5})
        assert (again.json()["reorder_point"], again.json()["max_on_hand"]) == (5, None)
        for sku in (C, B):
            assert (await client.put(f"/api/stock-rules/{sku}", json={})).status_code == 200
        other = await client.put(
            f"/api/stock-rules/{B}", json={"site": "dc-9", "expiry_warning_days": 0}
        )
        assert other.status_code == 200 and other.json()["site"] == "dc-9"

        pages = await all_pages(client, "/api/stock-rules", 2)
        listed = [(r["site"], r["sku"]) for p in pages for r in p]
        assert listed == sorted([(site, A), (site, B), (site, C), ("dc-9", B)])
        assert len(pages) == 2
        one = await client.get("/api/stock-rules", params={"site": site, "sku": A})
        assert [r["reorder_point"] for r in one.json()["items"]] == [5]


@pytest.mark.parametrize(
    ("sku", "body", "named"),
    [
        ("00614141123453", {"reorder_point": 1}, "sku: '00614141123453' has check digit 3"),
        ("0061414112345X", {"reorder_point": 1}, "sku: a GTIN-14 is 14 digits"),
        (A, {"reorder_point": 11, "max_on_hand": 10}, "max_on_hand: 10 is below the reorder"),
        (A, {"reorder_point": -1}, ["body", "reorder_point"]),
        (A, {"max_on_hand": 0}, ["body", "max_on_hand"]),
        (A, {"expiry_warning_days": 3651}, ["body", "expiry_warning_days"]),
        (A, {"expiry_warning_days": 1.5}, ["body", "expiry_warning_days"]),
        (A, {"site": "a site"}, ["body", "site"]),
        (A, {"reorder": 1}, ["body", "reorder"]),
        ("123", {"reorder_point": 1}, ["path", "sku"]),
    ],
)
async def test_a_bad_rule_is_a_422_naming_the_field_and_changes_nothing(
    database_url, mqtt_url, site, sku, body, named
):
    await apply_migrations(database_url)
    async with api(settings_for(database_url, mqtt_url, site), ingest=False) as client:
        before = await client.put(f"/api/stock-rules/{A}", json={"reorder_point": 3})
        assert before.status_code == 200
        r = await client.put(f"/api/stock-rules/{sku}", json=body)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        if isinstance(named, str):
            assert detail.startswith(named), detail
        else:
            assert detail[0]["loc"] == named, detail
        listed = (await client.get("/api/stock-rules")).json()["items"]
    assert [(x["sku"], x["reorder_point"], x["max_on_hand"]) for x in listed] == [(A, 3, None)]
