"""Tokens and roles on the running app: 401, 403, user management, the WebSocket, and
tokens stored only hashed (real PostgreSQL)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from authkit import bearer, issue_token
from cloudkit import api, rows, running_app, settings_for
from fastapi.routing import APIRoute, iter_route_contexts

from cloud.db import users
from cloud.db.migrate import apply_migrations
from cloud.warehouse.roles import Role, is_public

SIM_START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def sim_clock() -> str:
    """An RFIDWMS_CLOCK that reads 2025-03-01 08:00 now: times then come from it."""
    return f"sim:2025-03-01T08:00:00Z@{datetime.now(UTC).timestamp():.6f}x1"


def refused_401(r: httpx.Response, detail: str, *, invalid: bool) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"detail": detail}
    error = ', error="invalid_token"' if invalid else ""
    assert r.headers["www-authenticate"] == f'Bearer realm="rfidwms"{error}'


async def test_no_token_a_wrong_one_or_a_malformed_header_is_401_with_www_authenticate(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    settings = settings_for(database_url, mqtt_url, site)
    async with api(settings, ingest=False, role=None) as client:
        refused_401(
            await client.get("/api/readers"),
            "a token is needed: send Authorization: Bearer <token>",
            invalid=False,
        )
        wrong = "x" * 43
        refused_401(
            await client.get("/api/readers", headers=bearer(wrong)),
            "the token is not valid (unknown or revoked)",
            invalid=True,
        )
        for header in ("Basic dXNlcjpwdw==", "Bearer", "Bearer a b", "token-alone"):
            refused_401(
                await client.get("/api/readers", headers={"Authorization": header}),
                "the Authorization header is not 'Bearer <token>'",
                invalid=True,
            )
        refused_401(  # not one of ours, and not hashed to find out
            await client.get("/api/readers", headers=bearer("y" * 5000)),
            "the token is not valid (unknown or revoked)",
            invalid=True,
        )
        good = await issue_token(database_url, "operator")
        assert (await client.get("/api/readers", headers=bearer(good))).status_code == 200
        lower = {"authorization": f"bearer {good}"}  # the scheme is case-insensitive
        assert (await client.get("/api/readers", headers=lower)).status_code == 200
        assert (await client.get("/api/readers", params={"token": good})).status_code == 401
        assert (await client.get("/api/health")).status_code == 200  # needs none


async def test_every_protected_route_of_the_app_refuses_a_request_without_a_token(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    settings = settings_for(database_url, mqtt_url, site)
    async with api(settings, ingest=False, role=None) as client:
        app = client.app  # type: ignore[attr-defined]
        checked = []
        for rc in iter_route_contexts(app.routes):
            route = rc.original_route
            if not isinstance(route, APIRoute):
                continue  # the WebSocket: below; mounts and docs hold no data
            for method in route.methods:
                if is_public(method, route.path):
                    continue
                path = re.sub(r"\{[^}]*\}", "1", route.path)
                r = await client.request(method, path)
                assert r.status_code == 401, (method, route.path, r.status_code, r.text)
                assert r.headers["www-authenticate"].startswith("Bearer")
                checked.append((method, route.path))
        assert ("GET", "/api/readers") in checked and (
            "DELETE",
            "/api/tokens/{token_id}",
        ) in checked


REPRESENTATIVE: list[tuple[str, str, set[str]]] = [
    ("GET", "/api/readers", {"admin", "operator"}),
    ("GET", "/api/tags/3074257BF7194E4000001A85", {"admin", "operator"}),
    ("GET", "/api/passages", {"admin", "operator"}),
    ("GET", "/api/zones/zone-a/tags", {"admin", "operator"}),
    ("GET", "/api/dead-letters", {"admin", "operator"}),
    ("GET", "/api/users", {"admin"}),
    ("POST", "/api/users/1/tokens", {"admin"}),
    ("DELETE", "/api/tokens/999", {"admin"}),
    # the warehouse routes, through the routers that serve them
    ("POST", "/api/items", {"admin", "operator", "erp"}),
    ("POST", "/api/asns", {"admin", "operator", "erp"}),
    ("GET", "/api/ledger", {"admin", "operator"}),
    ("GET", "/api/availability", {"admin", "operator", "erp", "customer"}),
    ("POST", "/api/scans", {"admin", "operator"}),
    ("POST", "/api/orders", {"admin", "operator", "erp"}),
    ("GET", "/api/orders", {"admin", "operator", "erp", "customer"}),
    ("GET", "/api/orders/SO-000001", {"admin", "operator", "erp", "customer"}),
    ("POST", "/api/orders/SO-000001/cancel", {"admin", "operator", "erp"}),
    ("POST", "/api/orders/SO-000001/release", {"admin", "operator"}),
    ("GET", "/api/orders/route-stats", {"admin", "operator"}),
    ("POST", "/api/tasks/pick-1/done", {"admin", "operator"}),
    ("PUT", "/api/stock-rules/00614141123452", {"admin", "operator"}),
    ("GET", "/api/alerts", {"admin", "operator"}),
    ("POST", "/api/alerts/1/ack", {"admin", "operator"}),
]


async def test_each_role_is_refused_403_naming_the_role_and_the_action(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    settings = settings_for(database_url, mqtt_url, site)
    tokens = {
        "admin": await issue_token(database_url, "admin"),
        "operator": await issue_token(database_url, "operator"),
        "erp": await issue_token(database_url, "erp"),
        "customer": await issue_token(database_url, "customer", customer="acme"),
    }
    async with api(settings, ingest=False, role=None) as client:
        for method, path, allowed in REPRESENTATIVE:
            template = re.sub(r"/3074\w+$", "/{epc}", path)
            template = {
                "/api/zones/zone-a/tags": "/api/zones/{zone}/tags",
                "/api/users/1/tokens": "/api/users/{user_id}/tokens",
                "/api/tokens/999": "/api/tokens/{token_id}",
                "/api/orders/SO-000001": "/api/orders/{order_id}",
                "/api/orders/SO-000001/cancel": "/api/orders/{order_id}/cancel",
                "/api/orders/SO-000001/release": "/api/orders/{order_id}/release",
                "/api/tasks/pick-1/done": "/api/tasks/{task_id}/done",
                "/api/stock-rules/00614141123452": "/api/stock-rules/{sku}",
                "/api/alerts/1/ack": "/api/alerts/{alert_id}/ack",
            }.get(template, template)
            for role, token in tokens.items():
                r = await client.request(method, path, headers=bearer(token))
                if role in allowed:
                    assert r.status_code not in (401, 403), (role, method, path, r.text)
                else:
                    assert r.status_code == 403, (role, method, path, r.text)
                    assert r.json() == {"detail": f"role {role!r} may not {method} {template}"}


async def test_an_admin_manages_users_and_tokens_and_a_revoked_token_is_refused(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    settings = settings_for(database_url, mqtt_url, site, clock=sim_clock())
    async with api(settings, ingest=False, role=Role.ADMIN) as admin:
        r = await admin.post("/api/users", json={"name": "alice", "role": "operator"})
        assert r.status_code == 201, r.text
        alice = r.json()
        assert (alice["name"], alice["role"], alice["customer"], alice["tokens"]) == (
            "alice",
            "operator",
            None,
            [],
        )
        created = datetime.fromisoformat(alice["created_at"])
        assert SIM_START <= created < SIM_START + timedelta(minutes=1)  # the settings' clock

        again = await admin.post("/api/users", json={"name": "alice", "role": "erp"})
        assert again.status_code == 409 and again.json()["detail"] == "user 'alice' exists already"
        for body, field in [
            ({"name": "bob", "role": "boss"}, "role"),
            ({"name": "bob bob", "role": "erp"}, "name"),
            ({"name": "bob", "role": "erp", "admin": True}, "admin"),
            ({"name": "bob", "role": "erp", "customer": "acme"}, "customer"),
            ({"name": "bob", "role": "customer"}, "customer"),
        ]:
            bad = await admin.post("/api/users", json=body)
            assert bad.status_code == 422, body
            assert field in json.dumps(bad.json()["detail"]), (body, bad.json())
        users_now = (await rows(database_url, "SELECT name FROM users ORDER BY id"))[1:]
        assert users_now == [("alice",)]  # nothing of the bad ones was stored

        r = await admin.post(f"/api/users/{alice['id']}/tokens")
        assert r.status_code == 201, r.text
        issued = r.json()
        assert set(issued) == {"id", "user_id", "user", "role", "customer", "token", "created_at"}
        assert (issued["user"], issued["role"]) == ("alice", "operator")
        token = issued["token"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes
        as_alice = bearer(token)
        assert (await admin.get("/api/readers", headers=as_alice)).status_code == 200
        assert (await admin.get("/api/users", headers=as_alice)).status_code == 403

        listed = (await admin.get("/api/users")).json()
        assert token not in json.dumps(listed)
        (entry,) = [u for u in listed["items"] if u["name"] == "alice"]
        (t,) = entry["tokens"]
        assert (t["id"], t["revoked_at"]) == (issued["id"], None)
        assert t["last_used_at"] is not None  # it was used just now

        assert (await admin.post("/api/users/424242/tokens")).status_code == 404
        assert (await admin.post("/api/users/x/tokens")).status_code == 422
        assert (await admin.delete(f"/api/tokens/{issued['id']}")).status_code == 204
        refused_401(
            await admin.get("/api/readers", headers=as_alice),
            "the token is not valid (unknown or revoked)",
            invalid=True,
        )
        first = await rows(database_url, "SELECT revoked_at FROM api_tokens WHERE id = %s", t["id"])
        assert (await admin.delete(f"/api/tokens/{issued['id']}")).status_code == 204
        later = await rows(database_url, "SELECT revoked_at FROM api_tokens WHERE id = %s", t["id"])
        assert first == later  # revoked once, when it was
        missing = await admin.delete("/api/tokens/424242")
        assert missing.status_code == 404 and missing.json()["detail"] == "no token has id 424242"


async def test_users_come_in_pages(database_url, mqtt_url, site):
    await apply_migrations(database_url)
    for i in range(5):
        await issue_token(database_url, "erp", name=f"erp-{i}")
    settings = settings_for(database_url, mqtt_url, site)
    async with api(settings, ingest=False, role=Role.ADMIN) as admin:
        names, cursor = [], None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await admin.get("/api/users", params=params)).json()
            names += [u["name"] for u in page["items"]]
            cursor = page["next"]
            if cursor is None:
                break
    assert names[:5] == [f"erp-{i}" for i in range(5)] and len(names) == 6  # + the admin


async def test_the_database_holds_only_the_sha256_of_a_token_never_the_token(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    settings = settings_for(database_url, mqtt_url, site)
    async with api(settings, ingest=False, role=Role.ADMIN) as admin:
        made = (await admin.post("/api/users", json={"name": "erp-1", "role": "erp"})).json()
        token = (await admin.post(f"/api/users/{made['id']}/tokens")).json()["token"]
        assert (await admin.get("/api/readers", headers=bearer(token))).status_code == 403
    (stored,) = await rows(
        database_url, "SELECT token_sha256 FROM api_tokens WHERE user_id = %s", made["id"]
    )
    assert bytes(stored[0]) == hashlib.sha256(token.encode()).digest()
    tables = await rows(database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert ("api_tokens",) in tables
    for (table,) in tables:
        for (text,) in await rows(database_url, f'SELECT t::text FROM "{table}" t'):
            assert token not in text, table
            assert token.encode().hex() not in text, table


async def test_a_token_s_last_use_is_recorded_at_most_once_a_minute(database_url, mqtt_url, site):
    await apply_migrations(database_url)
    token = await issue_token(database_url, "operator")
    settings = settings_for(database_url, mqtt_url, site, clock=sim_clock())
    async with api(settings, ingest=False, role=None) as client:
        assert (await client.get("/api/readers", headers=bearer(token))).status_code == 200
        (first,) = await rows(database_url, "SELECT last_used_at FROM api_tokens")
        assert SIM_START <= first[0] < SIM_START + timedelta(minutes=1)
        assert (await client.get("/api/readers", headers=bearer(token))).status_code == 200
        assert await rows(database_url, "SELECT last_used_at FROM api_tokens") == [first]


async def test_the_demo_s_users_get_a_fresh_token_and_their_older_ones_are_revoked(database_url):
    await apply_migrations(database_url)
    import psycopg

    at = datetime.now(UTC)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        first = await users.fresh_token_for(conn, "demo-acme", Role.CUSTOMER, "acme", at=at)
        second = await users.fresh_token_for(conn, "demo-acme", Role.CUSTOMER, "acme", at=at)
        assert second.user.id == first.user.id and second.token != first.token
        assert await users.token_owner(conn, first.token) is None
        owner = await users.token_owner(conn, second.token)
        assert owner is not None and (owner.user.role, owner.user.customer) == (
            Role.CUSTOMER,
            "acme",
        )
        with pytest.raises(users.UserExistsError, match="exists with role 'customer'"):
            await users.fresh_token_for(conn, "demo-acme", Role.ADMIN, None, at=at)
        assert await users.token_owner(conn, second.token) is not None  # left alone


async def test_the_openapi_document_says_which_routes_need_a_token_and_which_roles(
    database_url, mqtt_url, site
):
    await apply_migrations(database_url)
    settings = settings_for(database_url, mqtt_url, site)
    async with api(settings, ingest=False, role=None) as client:
        spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    readers = spec["paths"]["/api/readers"]["get"]
    assert readers["security"] == [{"bearer": []}]
    assert readers["description"].endswith("Roles: admin, operator.")
    assert {"401", "403"} <= set(readers["responses"])
    users_op = spec["paths"]["/api/users"]["post"]
    assert users_op["description"].endswith("Roles: admin.")
    health = spec["paths"]["/api/health"]["get"]
    assert "security" not in health and "401" not in health["responses"]


# ------------------------------------------------------------------ WebSocket


async def first_message(url: str, **kw: Any) -> dict[str, Any]:
    async with websockets.connect(url, **kw) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def closed_before_any_message(url: str, **kw: Any) -> tuple[int, str]:
    async with websockets.connect(url, **kw) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_the_live_feed_takes_a_bearer_header_or_a_token_query_and_refuses_without(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base:
        ws_url = base.replace("http://", "ws://") + "ws/live"
        operator = await issue_token(database_url, "operator")
        header = await first_message(ws_url, additional_headers=bearer(operator))
        query = await first_message(f"{ws_url}?token={operator}&since=0")
        assert header["type"] == query["type"] == "snapshot"

        code, reason = await closed_before_any_message(ws_url)
        assert code == 1008
        assert reason == (
            "unauthorized: a token is needed: send Authorization: Bearer <token> or ?token=<token>"
        )
        code, reason = await closed_before_any_message(f"{ws_url}?token=not-a-token")
        assert (code, reason) == (1008, "unauthorized: the token is not valid (unknown or revoked)")
        erp = await issue_token(database_url, "erp")  # an integration has no live feed
        code, reason = await closed_before_any_message(f"{ws_url}?token={erp}")
        assert (code, reason) == (1008, "forbidden: role 'erp' may not WS /ws/live")
        code, _ = await closed_before_any_message(
            f"{ws_url}?token={operator}", additional_headers=bearer("wrong")
        )  # the header wins
        assert code == 1008

        async with httpx.AsyncClient(base_url=base) as http:
            (tid,) = await rows(database_url, "SELECT id FROM api_tokens ORDER BY id LIMIT 1")
            admin = bearer(await issue_token(database_url, "admin"))
            assert (await http.delete(f"api/tokens/{tid[0]}", headers=admin)).status_code == 204
        code, reason = await closed_before_any_message(f"{ws_url}?token={operator}")
        assert (code, reason) == (1008, "unauthorized: the token is not valid (unknown or revoked)")


def test_a_new_token_never_begins_with_a_dash_a_command_line_would_take_for_an_option(
    monkeypatch,
):
    drawn = iter(["-Che0Nrcqv4BgDt9v9axNg36Mjh_uRZsAq4bNzJXv3g", "Che0Nrcqv4BgDt9v9ax"])
    monkeypatch.setattr(users.secrets, "token_urlsafe", lambda n: next(drawn))
    assert users.new_token() == "Che0Nrcqv4BgDt9v9ax"
