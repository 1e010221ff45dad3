"""The integration API: Idempotency-Key on every POST (a retry never makes a second
order; the same key answers with the first answer; another body under the same key
is refused naming the header; two identical requests at once make one order), rate
limits per token (429 with Retry-After, health exempt), GET /api/sites, and the
OpenAPI document telling all of it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from cloudkit import api, as_user, rows
from feedkit import connect, settings_for
from orderkit import ITEM_A, add_pallet

from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role


@pytest.fixture
async def client(database_url, site):
    await apply_migrations(database_url)
    async with await connect(database_url) as conn:
        await add_pallet(conn, 1, site=site)
        await add_pallet(conn, 2, zone="zone-b", site=site)
    settings = settings_for(database_url, site, webhooks_enabled=False)
    async with api(settings, ingest=False, role=Role.ERP) as c:
        yield c


def order(qty: int = 2) -> dict:
    return {"customer": "acme", "lines": [{"sku": ITEM_A, "qty": qty}]}


async def count_orders(client) -> int:
    url = client.app.state.cloud.settings.database_url
    return (await rows(url, "SELECT count(*) FROM orders"))[0][0]


async def test_a_retried_order_post_answers_the_first_answer_and_makes_no_second_order(client):
    key = {"Idempotency-Key": "PO-4711-a"}
    first = await client.post("/api/orders", json=order(), headers=key)
    assert first.status_code == 201, first.text
    again = await client.post("/api/orders", json=order(), headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_orders(client) == 1
    # another key: another order
    other = await client.post("/api/orders", json=order(), headers={"Idempotency-Key": "b"})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert await count_orders(client) == 2


async def test_the_same_key_with_another_body_is_refused_naming_the_header(client):
    key = {"Idempotency-Key": "k-1"}
    assert (await client.post("/api/orders", json=order(2), headers=key)).status_code == 201
    r = await client.post("/api/orders", json=order(3), headers=key)
    assert r.status_code == 422
    assert "Idempotency-Key" in r.json()["detail"]
    r = await client.post("/api/orders/SO-000001/cancel", json={}, headers=key)
    assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
    assert await count_orders(client) == 1
    bad = await client.post("/api/orders", json=order(), headers={"Idempotency-Key": "a b"})
    assert bad.status_code == 422 and "Idempotency-Key" in bad.json()["detail"]
    assert await count_orders(client) == 1


async def test_keys_are_per_token_and_kept_a_day(client):
    key = {"Idempotency-Key": "shared"}
    mine = await client.post("/api/orders", json=order(1), headers=key)
    other_erp = await as_user(client, Role.ERP)
    theirs = await client.post("/api/orders", json=order(1), headers={**other_erp, **key})
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    url = client.app.state.cloud.settings.database_url
    kept = await rows(url, "SELECT status, expires_at - created_at FROM idempotency_keys")
    assert kept == [(201, timedelta(hours=24))] * 2


async def test_another_post_is_idempotent_too_a_webhook_subscription(client):
    key = {"Idempotency-Key": "hook-1"}
    body = {"url": "https://erp.example.com/hook", "events": ["order.shipped"]}
    first = await client.post("/api/webhooks", json=body, headers=key)
    again = await client.post("/api/webhooks", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the same id, and the same secret
    assert len((await client.get("/api/webhooks")).json()["items"]) == 1


async def test_two_identical_requests_at_once_make_one_order(client):
    key = {"Idempotency-Key": "at-once"}
    a, b = await asyncio.gather(
        client.post("/api/orders", json=order(), headers=key),
        client.post("/api/orders", json=order(), headers=key),
    )
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    assert a.json() == b.json()
    assert await count_orders(client) == 1


async def test_a_post_without_a_key_or_without_a_token_is_untouched(client):
    assert (await client.post("/api/orders", json=order(1))).status_code == 201
    assert (await client.post("/api/orders", json=order(1))).status_code == 201
    r = await client.post(
        "/api/orders", json=order(1), headers={"Authorization": "", "Idempotency-Key": "x"}
    )
    assert r.status_code == 401
    assert await count_orders(client) == 2
    url = client.app.state.cloud.settings.database_url
    assert await rows(url, "SELECT count(*) FROM idempotency_keys") == [(0,)]


async def test_a_token_past_its_rate_limit_is_told_when_to_retry(database_url, site):
    await apply_migrations(database_url)
    settings = settings_for(
        database_url, site, webhooks_enabled=False, rate_limit_per_s=0.5, rate_limit_burst=3
    )
    async with api(settings, ingest=False, role=Role.ERP) as c:
        codes = [(await c.get("/api/items")).status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        r = await c.get("/api/items")
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) in (1, 2)
        assert "rate limit" in r.json()["detail"]
        # another token has its own bucket; the health check has none
        other = await as_user(c, Role.ERP)
        assert (await c.get("/api/items", headers=other)).status_code == 200
        assert all([(await c.get("/api/health")).status_code == 200 for _ in range(10)])


async def test_the_sites_are_listed(client):
    r = await client.get("/api/sites")
    assert r.status_code == 200
    page = r.json()
    assert page["next"] is None and len(page["items"]) == 1
    site = page["items"][0]
    settings = client.app.state.cloud.settings
    assert site["id"] == settings.site
    assert site["name"] and "zone-a" in site["zones"] and site["doors"]


async def test_the_openapi_document_tells_the_key_the_limit_and_examples(client):
    doc = (await client.get("/openapi.json")).json()
    post = doc["paths"]["/api/orders"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    assert "429" in post["responses"]
    assert "429" in doc["paths"]["/api/items"]["get"]["responses"]
    assert "429" not in doc["paths"]["/api/health"]["get"]["responses"]
    hook = doc["paths"]["/api/webhooks"]["post"]["requestBody"]["content"]["application/json"]
    assert set(hook["examples"]) == {"shipping", "all"}
    orders = doc["paths"]["/api/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert orders.get("examples")


async def test_a_new_token_is_never_kept_for_a_replay(client):
    admin = await as_user(client, Role.ADMIN)
    user_id = (await client.get("/api/users", headers=admin)).json()["items"][0]["id"]
    key = {**admin, "Idempotency-Key": "token-1"}
    a = await client.post(f"/api/users/{user_id}/tokens", headers=key)
    b = await client.post(f"/api/users/{user_id}/tokens", headers=key)
    assert a.status_code == b.status_code == 201, a.text
    assert a.json()["token"] != b.json()["token"]
    url = client.app.state.cloud.settings.database_url
    assert await rows(url, "SELECT count(*) FROM idempotency_keys") == [(0,)]
    doc = (await client.get("/openapi.json")).json()
    post = doc["paths"]["/api/users/{user_id}/tokens"]["post"]
    assert not any(p["name"] == "Idempotency-Key" for p in post.get("parameters", []))
