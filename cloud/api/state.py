"""What the request handlers share: settings, the served sites and their layouts,
pool, live hub, ingester.

Routes take it as a FastAPI dependency, ``st: State``, for a request or a WebSocket
alike (the caller's identity and role are meant to come the same way).

Which site a request means (:meth:`CloudState.site`): the ``site`` it names, else the
only site served; a cloud serving several answers 422 naming them when a request that
needs one site (an order, a task, an ASN) names none. A list (:meth:`CloudState.sites_of`)
covers the site it names, or every served site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query
from starlette.requests import HTTPConnection

from cloud.db.pool import Pool
from cloud.ingest.ingester import Ingester
from cloud.live.broker_feed import BrokerFeed
from cloud.live.hub import LiveHub
from cloud.operations.edge_commands import CommandRelay
from cloud.settings import CloudSettings
from cloud.warehouse.sites import SiteError, Sites
from protocols.layout import Layout


@dataclass(slots=True)
class CloudState:
    settings: CloudSettings
    sites: Sites
    pool: Pool
    hub: LiveHub
    ingester: Ingester | None
    commands: dict[str, CommandRelay] | None = None
    """Per site, sends commands to its edges and hears their results (None: no MQTT
    broker configured)."""
    live_feed: BrokerFeed | None = None
    """Every ingester's live deltas to the hub, through the broker."""

    def site(self, requested: str | None) -> str:
        """The one site a request means (module doc); 422 naming the sites when
        ``requested`` is not served or is None and several are."""
        try:
            return self.sites.choose(requested)
        except SiteError as e:
            raise HTTPException(422, detail=str(e)) from None

    def sites_of(self, requested: str | None) -> tuple[str, ...]:
        """The sites a list covers: ``requested`` (422 when not served), else all."""
        try:
            return self.sites.select(requested)
        except SiteError as e:
            raise HTTPException(422, detail=str(e)) from None

    def layout(self, site: str) -> Layout:
        """The layout of a served site."""
        return self.sites.layout(site)


def get_state(conn: HTTPConnection) -> CloudState:
    """The app's state, for a request or a WebSocket (set by the lifespan)."""
    state: CloudState = conn.app.state.cloud
    return state


State = Annotated[CloudState, Depends(get_state)]
"""The app's state as a route parameter: ``async def route(st: State) -> ...``."""


SiteFilter = Annotated[
    str | None,
    Query(max_length=63, description="one site (GET /api/sites); every site if left out"),
]
"""A list's ``site`` query parameter (:meth:`CloudState.sites_of`)."""

SiteParam = Annotated[
    str | None,
    Query(
        max_length=63,
        description="the site (GET /api/sites); may be left out when the cloud serves one",
    ),
]
"""The ``site`` query parameter of a request about one site (:meth:`CloudState.site`)."""
