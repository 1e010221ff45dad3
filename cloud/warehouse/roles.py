"""Who may do what through the API: the roles and the one table of route -> roles. Pure.

Every route of the cloud app (HTTP method and path template, ``WS`` for a WebSocket)
has one entry in :data:`POLICY`: either :data:`PUBLIC` (no token needed: health, the
page files and the API docs, which hold no data) or the roles allowed. A route with no
entry is denied to every role, admin included (default deny), and
``tests/cloud/test_auth_policy.py`` fails for any route of the app that has none, so a
router added later cannot go unprotected, nor open, by accident.

The roles:

- ``admin``: everything, including users and tokens;
- ``operator``: every warehouse operation and read, not user management;
- ``erp`` (an integration): items, advance ship notices, orders, returns and transfers
  (create and read),
  reads of stock, pallets and availability;
- ``customer``: availability, its own orders and their returns only
  (:meth:`Caller.sees_customer`);
  another customer's order is "not found" to it, not "forbidden"; webhooks for its
  own orders (the other roles: webhooks for every customer's).

Path parameters match by position, whatever their name: ``/api/orders/{id}`` and
``/api/orders/{order_id}`` are one entry (:func:`route_key`).

The pages (:data:`PAGES`) are in the navigation of a role that may call every route a
page cannot work without (:func:`pages_for`), and, for a page meant for some roles
only (the customer portal), is one of them; ``GET /api/me`` gives a token's list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Literal


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    ERP = "erp"
    CUSTOMER = "customer"


Public = Literal["public"]
PUBLIC: Final[Public] = "public"
"""No token needed (the route holds no data, or is the health check)."""
Access = frozenset[Role] | Public
Method = str
"""An HTTP method in upper case, or ``WS`` for a WebSocket route."""

WS: Final = "WS"

USER_NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$"
"""A user's name: 1-63 of A-Z a-z 0-9 _ . @ - (an e-mail address fits)."""
CUSTOMER_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$"
"""A customer id, as an order names its customer: 1-128 of A-Z a-z 0-9 _ . @ -."""

_ADMIN = frozenset({Role.ADMIN})
_OPERATIONS = frozenset({Role.ADMIN, Role.OPERATOR})
_INTEGRATION = frozenset({Role.ADMIN, Role.OPERATOR, Role.ERP})
_EVERYONE = frozenset(Role)

_PARAM = re.compile(r"\{[^{}]*\}")


def route_key(method: Method, path: str) -> tuple[Method, str]:
    """``(METHOD, path)`` with every path parameter written ``{}``."""
    return method.upper(), _PARAM.sub("{}", path)


def _table(entries: Mapping[str, Access]) -> dict[tuple[Method, str], Access]:
    table: dict[tuple[Method, str], Access] = {}
    for spec, access in entries.items():
        method, path = spec.split(" ", 1)
        key = route_key(method, path)
        if key in table:
            raise ValueError(f"role policy: {spec!r} is listed twice")
        table[key] = access
    return table


POLICY: Final[Mapping[tuple[Method, str], Access]] = _table(
    {
        # no data: the health check, the pages' files and the API's own documentation
        "GET /api/health": PUBLIC,
        "GET /": PUBLIC,
        "GET /live/{path}": PUBLIC,
        "GET /common/{path}": PUBLIC,
        "GET /stock": PUBLIC,
        "GET /stock/{path}": PUBLIC,
        "GET /alerts": PUBLIC,
        "GET /alerts/{path}": PUBLIC,
        "GET /fleet": PUBLIC,
        "GET /fleet/{path}": PUBLIC,
        "GET /kpis": PUBLIC,
        "GET /kpis/{path}": PUBLIC,
        "GET /scan": PUBLIC,
        "GET /scan/{path}": PUBLIC,
        "GET /orders": PUBLIC,
        "GET /orders/{path}": PUBLIC,
        "GET /portal": PUBLIC,
        "GET /portal/{path}": PUBLIC,
        "GET /map": PUBLIC,
        "GET /map/{path}": PUBLIC,
        "GET /openapi.json": PUBLIC,
        "GET /docs": PUBLIC,
        "GET /docs/oauth2-redirect": PUBLIC,
        "GET /redoc": PUBLIC,
        "GET /static-offline-docs/{path}": PUBLIC,
        # the floor: readers, tags, what could not be ingested, the edges' events
        # a customer's feed carries its own orders only (cloud.live.hub)
        "WS /ws/live": frozenset({Role.ADMIN, Role.OPERATOR, Role.CUSTOMER}),
        "GET /api/readers": _OPERATIONS,
        "GET /api/edges": _OPERATIONS,
        "GET /api/reader-events": _OPERATIONS,
        "GET /api/tags/{epc}": _OPERATIONS,
        "GET /api/dead-letters": _OPERATIONS,
        "GET /api/feed-failures": _OPERATIONS,
        "GET /api/passages": _OPERATIONS,
        "GET /api/zone-events": _OPERATIONS,
        "GET /api/weights": _OPERATIONS,
        "GET /api/zones/{zone}/tags": _OPERATIONS,
        # commands to an edge's readers: sent by an admin, read by the floor
        "POST /api/edges/{edge}/commands": _ADMIN,
        "GET /api/edges/{edge}/commands": _OPERATIONS,
        "GET /api/edges/{edge}/commands/{id}": _OPERATIONS,
        # goods and stock
        "POST /api/items": _INTEGRATION,
        "GET /api/items": _INTEGRATION,
        "GET /api/items/{sku}": _INTEGRATION,
        "GET /api/pallets": _INTEGRATION,
        "GET /api/pallets/{epc}": _INTEGRATION,
        "GET /api/stock": _INTEGRATION,
        "GET /api/ledger": _OPERATIONS,
        "GET /api/availability": _EVERYONE,
        "GET /api/stock-rules": _OPERATIONS,
        "PUT /api/stock-rules/{sku}": _OPERATIONS,
        # inbound
        "POST /api/asns": _INTEGRATION,
        "GET /api/asns": _INTEGRATION,
        "GET /api/asns/{asn_id}": _INTEGRATION,
        "POST /api/scans": _OPERATIONS,
        "POST /api/scans/decode": _OPERATIONS,
        # orders (a customer sees its own only: Caller.sees_customer)
        "POST /api/orders": _INTEGRATION,
        "GET /api/orders": _EVERYONE,
        "GET /api/orders/{order_id}": _EVERYONE,
        "POST /api/orders/{order_id}/cancel": _INTEGRATION,
        "POST /api/orders/{order_id}/delivered": _INTEGRATION,
        "POST /api/orders/{order_id}/release": _OPERATIONS,
        "GET /api/orders/route-stats": _OPERATIONS,
        # returns (RMA): a customer asks back its own shipped orders; operators inspect
        "POST /api/returns": _EVERYONE,
        "GET /api/returns": _EVERYONE,
        "GET /api/returns/{return_id}": _EVERYONE,
        "POST /api/returns/{return_id}/inspect": _OPERATIONS,
        # transfers between the sites (ERPs and the floor; customers do not see them)
        "POST /api/transfers": _INTEGRATION,
        "GET /api/transfers": _INTEGRATION,
        "GET /api/transfers/{transfer_id}": _INTEGRATION,
        "POST /api/transfers/{transfer_id}/cancel": _INTEGRATION,
        # the floor's work
        "GET /api/tasks": _OPERATIONS,
        "GET /api/tasks/{task_id}": _OPERATIONS,
        "POST /api/tasks/{task_id}/done": _OPERATIONS,
        # alerts
        "GET /api/alerts": _OPERATIONS,
        "GET /api/alerts/{alert_id}": _OPERATIONS,
        "POST /api/alerts/{alert_id}/ack": _OPERATIONS,
        "POST /api/alerts/{alert_id}/resolve": _OPERATIONS,
        # integration: GS1 EPCIS 2.0 event export
        "GET /api/epcis/events": _INTEGRATION,
        # managers' figures
        "GET /api/kpis": _INTEGRATION,
        "GET /api/kpis/series": _INTEGRATION,
        "GET /api/forecast": _INTEGRATION,
        # webhooks (a customer manages its own: Caller.customer_scope)
        "POST /api/webhooks": _EVERYONE,
        "GET /api/webhooks": _EVERYONE,
        "GET /api/webhooks/{webhook_id}": _EVERYONE,
        "DELETE /api/webhooks/{webhook_id}": _EVERYONE,
        "POST /api/webhooks/{webhook_id}/enable": _EVERYONE,
        "GET /api/webhooks/{webhook_id}/deliveries": _EVERYONE,
        "POST /api/webhooks/{webhook_id}/deliveries/{delivery_id}/replay": _EVERYONE,
        # the sites this cloud serves
        "GET /api/sites": _EVERYONE,
        # who the token is, and the pages of its role (the pages' navigation)
        "GET /api/me": _EVERYONE,
        "GET /api/sites/{site}/layout": _OPERATIONS,
        # automatic cycle counts
        "GET /api/variances": _OPERATIONS,
        "GET /api/variances/zones": _OPERATIONS,
        "POST /api/variances/{variance_id}/approve": _OPERATIONS,
        "POST /api/variances/{variance_id}/reject": _OPERATIONS,
        # users and tokens
        "POST /api/users": _ADMIN,
        "GET /api/users": _ADMIN,
        "POST /api/users/{user_id}/tokens": _ADMIN,
        "DELETE /api/tokens/{token_id}": _ADMIN,
    }
)


def access_to(method: Method, path: str) -> Access | None:
    """The entry of the route ``method path`` (a template); None when it has none."""
    return POLICY.get(route_key(method, path))


def is_public(method: Method, path: str) -> bool:
    return access_to(method, path) == PUBLIC


def may(role: Role, method: Method, path: str) -> bool:
    """Whether ``role`` may call the route; False for a route with no entry."""
    access = access_to(method, path)
    return access == PUBLIC or (access is not None and role in access)


def roles_allowed(method: Method, path: str) -> list[Role]:
    """The roles that may call a protected route, in :class:`Role` order."""
    access = access_to(method, path)
    if access is None or access == PUBLIC:
        return []
    return [r for r in Role if r in access]


class CustomerRuleError(ValueError):
    """A user's customer does not fit its role; the message names both."""


def check_customer(role: Role, customer: str | None) -> None:
    """A ``customer`` user names its customer; no other role has one."""
    if role is Role.CUSTOMER and not customer:
        raise CustomerRuleError("a user of role 'customer' needs a customer id (customer)")
    if role is not Role.CUSTOMER and customer is not None:
        raise CustomerRuleError(
            f"customer {customer!r} is only for role 'customer', not for role {role.value!r}"
        )


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: the user behind the bearer token, its role and customer."""

    user_id: int
    user: str
    role: Role
    customer: str | None
    token_id: int

    @property
    def customer_scope(self) -> str | None:
        """The only customer whose orders this caller may see; None: every customer."""
        return self.customer if self.role is Role.CUSTOMER else None

    def sees_customer(self, customer: str) -> bool:
        """Whether this caller may see a record (an order) of ``customer``; a router
        answers 404 for one it may not, as if it did not exist."""
        return self.role is not Role.CUSTOMER or self.customer == customer


# -- the pages --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """A page of ``dashboards/``: where it is, its name in the navigation, the routes it
    cannot work without (``"METHOD /path"``, as in :data:`POLICY`) and, when it is
    meant for some roles only, which."""

    path: str
    label: str
    needs: tuple[str, ...]
    audience: frozenset[Role] | None = field(default=None)


_LIVE = "WS /ws/live"

PAGES: Final[tuple[Page, ...]] = (
    Page("/", "Live reads", (_LIVE, "GET /api/readers")),
    Page(
        "/map",
        "Map",
        (_LIVE, "GET /api/sites/{site}/layout", "GET /api/pallets", "GET /api/passages"),
    ),
    Page("/stock", "Stock", (_LIVE, "GET /api/stock", "GET /api/ledger")),
    Page("/alerts", "Alerts", (_LIVE, "GET /api/alerts")),
    Page("/fleet", "Fleet", (_LIVE, "GET /api/readers")),
    Page("/kpis", "KPIs", ("GET /api/kpis/series", "GET /api/sites")),
    Page("/scan", "Handheld", ("POST /api/scans", "POST /api/scans/decode")),
    Page(
        "/orders",
        "Orders",
        (
            _LIVE,
            "GET /api/orders",
            "GET /api/orders/{id}",
            "GET /api/transfers",
            "GET /api/transfers/{id}",
            "GET /api/sites/{site}/layout",
        ),
    ),
    Page(
        "/portal",
        "Customer portal",
        (_LIVE, "GET /api/orders", "GET /api/orders/{id}", "GET /api/availability"),
        audience=frozenset({Role.CUSTOMER}),
    ),
)
"""The pages, in the order of the navigation."""


def page_roles(page: Page) -> list[Role]:
    """The roles ``page`` is for: those that may call every route it needs (and, for a
    page with an audience, of it), in :class:`Role` order."""
    return [
        r
        for r in Role
        if all(may(r, *need.split(" ", 1)) for need in page.needs)
        and (page.audience is None or r in page.audience)
    ]


def pages_for(role: Role) -> list[Page]:
    """The pages in the navigation of ``role``, in order."""
    return [p for p in PAGES if role in page_roles(p)]
