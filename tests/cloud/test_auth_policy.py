"""The role policy, pure: who may call what, and that every route of the app has an
entry (so a router added later cannot go unprotected, or open, by accident)."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount, WebSocketRoute

from cloud.api.app import create_app
from cloud.settings import CloudSettings
from cloud.warehouse.roles import (
    POLICY,
    PUBLIC,
    WS,
    Caller,
    CustomerRuleError,
    Role,
    access_to,
    check_customer,
    is_public,
    may,
    roles_allowed,
    route_key,
)

A, OP, E, C = Role.ADMIN, Role.OPERATOR, Role.ERP, Role.CUSTOMER

# What each role is meant to do, restated here route by route (one or more of each
# area), so a change of the table that changes these is a deliberate one.
INTENDED: list[tuple[str, str, set[Role]]] = [
    # the floor
    (WS, "/ws/live", {A, OP, C}),  # a customer: its own orders only
    ("GET", "/api/readers", {A, OP}),
    ("GET", "/api/edges", {A, OP}),
    ("GET", "/api/reader-events", {A, OP}),
    ("GET", "/api/tags/{epc}", {A, OP}),
    ("GET", "/api/passages", {A, OP}),
    ("GET", "/api/zones/{zone}/tags", {A, OP}),
    ("GET", "/api/dead-letters", {A, OP}),
    ("GET", "/api/feed-failures", {A, OP}),
    # goods and stock
    ("POST", "/api/items", {A, OP, E}),
    ("GET", "/api/items/{sku}", {A, OP, E}),
    ("GET", "/api/pallets", {A, OP, E}),
    ("GET", "/api/stock", {A, OP, E}),
    ("GET", "/api/ledger", {A, OP}),
    ("PUT", "/api/stock-rules/{sku}", {A, OP}),
    ("GET", "/api/availability", {A, OP, E, C}),
    # inbound
    ("POST", "/api/asns", {A, OP, E}),
    ("GET", "/api/asns/{asn_id}", {A, OP, E}),
    ("POST", "/api/scans", {A, OP}),
    ("POST", "/api/scans/decode", {A, OP}),
    # orders
    ("POST", "/api/orders", {A, OP, E}),
    ("GET", "/api/orders", {A, OP, E, C}),
    ("GET", "/api/orders/{order_id}", {A, OP, E, C}),
    ("POST", "/api/orders/{order_id}/cancel", {A, OP, E}),
    ("POST", "/api/orders/{order_id}/delivered", {A, OP, E}),
    ("POST", "/api/orders/{order_id}/release", {A, OP}),
    ("GET", "/api/orders/route-stats", {A, OP}),
    # automatic cycle counts
    ("GET", "/api/variances", {A, OP}),
    ("GET", "/api/variances/zones", {A, OP}),
    ("POST", "/api/variances/{variance_id}/approve", {A, OP}),
    ("POST", "/api/variances/{variance_id}/reject", {A, OP}),
    ("GET", "/api/tasks", {A, OP}),
    ("POST", "/api/tasks/{task_id}/done", {A, OP}),
    # alerts
    ("GET", "/api/alerts", {A, OP}),
    ("POST", "/api/alerts/{alert_id}/ack", {A, OP}),
    ("POST", "/api/alerts/{alert_id}/resolve", {A, OP}),
    # integration
    ("GET", "/api/epcis/events", {A, OP, E}),
    ("GET", "/api/kpis", {A, OP, E}),
    ("GET", "/api/kpis/series", {A, OP, E}),
    # webhooks (a customer's own only) and the sites
    ("POST", "/api/webhooks", {A, OP, E, C}),
    ("GET", "/api/webhooks", {A, OP, E, C}),
    ("DELETE", "/api/webhooks/{webhook_id}", {A, OP, E, C}),
    ("POST", "/api/webhooks/{webhook_id}/enable", {A, OP, E, C}),
    ("GET", "/api/webhooks/{webhook_id}/deliveries", {A, OP, E, C}),
    ("POST", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/replay", {A, OP, E, C}),
    ("GET", "/api/sites", {A, OP, E, C}),
    ("GET", "/api/me", {A, OP, E, C}),  # about itself: who, and the pages of its role
    # returns: a customer asks back its own shipped orders; operators inspect
    ("POST", "/api/returns", {A, OP, E, C}),
    ("GET", "/api/returns", {A, OP, E, C}),
    ("GET", "/api/returns/{return_id}", {A, OP, E, C}),
    ("POST", "/api/returns/{return_id}/inspect", {A, OP}),
    ("GET", "/api/sites/{site}/layout", {A, OP}),
    # users and tokens
    ("POST", "/api/users", {A}),
    ("GET", "/api/users", {A}),
    ("POST", "/api/users/{user_id}/tokens", {A}),
    ("DELETE", "/api/tokens/{token_id}", {A}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), INTENDED)
def test_each_role_may_call_what_it_is_meant_to_and_nothing_else(method, path, allowed):
    assert {r for r in Role if may(r, method, path)} == allowed
    assert set(roles_allowed(method, path)) == allowed


def test_a_customer_may_read_availability_orders_and_sites_and_manage_webhooks_and_returns_only():
    theirs = {k for k, access in POLICY.items() if access != PUBLIC and C in access}
    webhooks = {k for k in theirs if k[1].startswith("/api/webhooks")}
    assert theirs - webhooks == {
        ("GET", "/api/availability"),
        ("GET", "/api/orders"),
        ("GET", "/api/orders/{}"),
        ("GET", "/api/sites"),
        ("GET", "/api/me"),  # who it is and its pages: the portal only
        ("POST", "/api/returns"),
        ("GET", "/api/returns"),
        ("GET", "/api/returns/{}"),
        (WS, "/ws/live"),  # its own orders' changes only (tests/cloud/test_live_orders.py)
    }
    assert len(webhooks) == 7


def test_admin_may_do_everything_and_operator_everything_but_manage_users_and_edges():
    protected = {k for k, access in POLICY.items() if access != PUBLIC}
    assert all(may(A, m, p) for m, p in protected)
    users = {k for k in protected if k[1].startswith(("/api/users", "/api/tokens"))}
    assert users == {
        ("POST", "/api/users"),
        ("GET", "/api/users"),
        ("POST", "/api/users/{}/tokens"),
        ("DELETE", "/api/tokens/{}"),
    }
    edge_commands = {("POST", "/api/edges/{}/commands")}
    assert {k for k in protected if may(OP, *k)} == protected - users - edge_commands


@pytest.mark.parametrize("role", list(Role))
def test_a_route_without_an_entry_is_denied_to_every_role(role):
    assert access_to("GET", "/api/secrets") is None
    assert not may(role, "GET", "/api/secrets")
    assert not may(role, "DELETE", "/api/orders/{order_id}")  # a listed path, another method
    assert roles_allowed("GET", "/api/secrets") == []


def test_path_parameters_match_whatever_their_name():
    assert route_key("get", "/api/orders/{id}") == ("GET", "/api/orders/{}")
    assert route_key("GET", "/live/{path:path}") == ("GET", "/live/{}")
    assert may(C, "GET", "/api/orders/{id}") and may(C, "GET", "/api/orders/{order_id}")
    assert not may(C, "GET", "/api/orders/{id}/lines")


@pytest.mark.parametrize(
    "path",
    [
        *("/api/health", "/", "/live/{path}", "/common/{path}", "/stock", "/alerts/{path}"),
        *("/docs", "/redoc", "/openapi.json"),
    ],
)
def test_health_the_page_files_and_the_api_docs_are_public(path):
    assert is_public("GET", path)
    assert all(may(r, "GET", path) for r in Role)


def test_nothing_that_holds_data_is_public():
    public = sorted(p for (_, p), access in POLICY.items() if access == PUBLIC)
    assert public == [
        "/",
        "/alerts",
        "/alerts/{}",
        "/api/health",
        "/common/{}",
        "/docs",
        "/docs/oauth2-redirect",
        "/fleet",
        "/fleet/{}",
        "/kpis",
        "/kpis/{}",
        "/live/{}",
        "/map",
        "/map/{}",
        "/openapi.json",
        "/orders",
        "/orders/{}",
        "/portal",
        "/portal/{}",
        "/redoc",
        "/scan",
        "/scan/{}",
        "/static-offline-docs/{}",
        "/stock",
        "/stock/{}",
    ]


@pytest.mark.parametrize(
    ("role", "customer", "problem"),
    [
        (C, "acme", None),
        (OP, None, None),
        (C, None, "a user of role 'customer' needs a customer id (customer)"),
        (C, "", "a user of role 'customer' needs a customer id (customer)"),
        (E, "acme", "customer 'acme' is only for role 'customer', not for role 'erp'"),
    ],
)
def test_only_a_customer_user_names_a_customer(role, customer, problem):
    if problem is None:
        check_customer(role, customer)
    else:
        with pytest.raises(CustomerRuleError, match=re.escape(problem)):
            check_customer(role, customer)


def caller(role: Role, customer: str | None = None) -> Caller:
    return Caller(user_id=1, user="u", role=role, customer=customer, token_id=1)


@pytest.mark.parametrize(
    ("who", "order_of", "sees"),
    [
        (caller(C, "acme"), "acme", True),
        (caller(C, "acme"), "globex", False),  # the orders router answers 404
        (caller(OP), "globex", True),
        (caller(E), "acme", True),
        (caller(A), "acme", True),
    ],
)
def test_a_customer_sees_its_own_orders_only(who, order_of, sees):
    assert who.sees_customer(order_of) is sees


def test_a_customer_s_order_list_is_scoped_to_it_and_the_others_see_every_customer():
    assert caller(C, "acme").customer_scope == "acme"
    assert [caller(r).customer_scope for r in (A, OP, E)] == [None, None, None]


# ---------------------------------------------------------------- every route


def route_keys(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route of ``app``, mounts and WebSockets too."""
    keys: list[tuple[str, str]] = []
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if isinstance(route, Mount):
            keys.append(("GET", str(rc.path_format)))
        elif isinstance(route, APIWebSocketRoute | WebSocketRoute):
            keys.append((WS, str(rc.path)))
        else:
            methods = set(rc.methods or ()) - {"HEAD"} or {"GET"}
            keys += [(m, str(rc.path)) for m in sorted(methods)]
    return keys


def unlisted(app: FastAPI) -> list[tuple[str, str]]:
    return [k for k in route_keys(app) if access_to(*k) is None]


def an_app() -> FastAPI:
    return create_app(CloudSettings(database_url="postgresql://127.0.0.1:9/none"), ingest=False)


def test_every_route_of_the_app_has_an_entry_in_the_role_policy():
    app = an_app()
    keys = route_keys(app)
    assert ("GET", "/api/readers") in keys and (WS, "/ws/live") in keys and len(keys) > 15
    assert unlisted(app) == [], (
        "routes without an entry in cloud/warehouse/roles.py POLICY (denied to every role "
        "until they have one)"
    )


def test_every_entry_of_the_role_policy_is_a_route_of_the_app():
    """No entry outlives its route (a route renamed or removed leaves no stale grant
    that a later route of that path would inherit)."""
    served = {route_key(*k) for k in route_keys(an_app())}
    assert sorted(set(POLICY) - served) == []


def test_the_walk_finds_a_route_a_router_adds_without_an_entry():
    app = an_app()
    extra = APIRouter(prefix="/api")

    @extra.get("/secrets/{name}")
    async def secrets(name: str) -> str:
        return name

    @extra.websocket("/ws/secrets")
    async def secret_feed() -> None:
        pass

    app.include_router(extra)
    assert unlisted(app) == [("GET", "/api/secrets/{name}"), (WS, "/api/ws/secrets")]


def test_routes_are_checked_under_the_path_they_are_served_at():
    """The check looks the route up by ``scope["route"].path``, which leaves out a prefix
    given to ``include_router``: routers carry their prefix themselves
    (``APIRouter(prefix="/api")``), so the two are the same for every route."""
    app = an_app()
    for rc in iter_route_contexts(app.routes):
        if isinstance(rc.original_route, APIRoute | APIWebSocketRoute):
            assert rc.original_route.path == rc.path, rc.path
