"""The pages of each role's navigation, pure: a page is in it when the role may call
every route the page cannot work without; the customer portal is a customer's only."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.warehouse.roles import PAGES, Role, access_to, page_roles, pages_for

A, OP, E, C = Role.ADMIN, Role.OPERATOR, Role.ERP, Role.CUSTOMER
DASHBOARDS = Path(__file__).parents[2] / "dashboards"
STAFF = ["/", "/map", "/stock", "/alerts", "/fleet", "/kpis", "/scan", "/orders"]


@pytest.mark.parametrize(
    ("role", "paths"),
    [
        (A, STAFF),
        (OP, STAFF),
        (E, ["/kpis"]),  # no live feed, no floor: the KPIs its routes allow
        (C, ["/portal"]),  # the portal and nothing of the staff's
    ],
)
def test_each_role_s_navigation_has_the_pages_its_role_can_use(role, paths):
    assert [p.path for p in pages_for(role)] == paths


def test_the_portal_is_for_customers_though_staff_may_call_its_routes():
    portal = next(p for p in PAGES if p.path == "/portal")
    assert page_roles(portal) == [C]
    assert page_roles(portal.__class__(portal.path, portal.label, portal.needs)) == [A, OP, C]


def test_a_page_that_needs_the_transfers_is_not_a_customer_s():
    orders = next(p for p in PAGES if p.path == "/orders")
    assert "GET /api/transfers" in orders.needs
    assert C not in page_roles(orders)


@pytest.mark.parametrize("page", PAGES, ids=[p.path for p in PAGES])
def test_every_page_is_a_page_of_the_dashboards_and_needs_routes_of_the_policy(page):
    folder = "live" if page.path == "/" else page.path.strip("/")
    assert (DASHBOARDS / folder / "index.html").is_file()
    for need in page.needs:
        method, path = need.split(" ", 1)
        assert access_to(method, path) is not None, need
