"""What the request handlers share: settings, layout, pool, live hub, ingester."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from cloud.db.pool import Pool
from cloud.ingest.ingester import Ingester
from cloud.live.hub import LiveHub
from cloud.settings import CloudSettings
from protocols.layout import Layout


@dataclass(slots=True)
class CloudState:
    settings: CloudSettings
    layout: Layout
    pool: Pool
    hub: LiveHub
    ingester: Ingester | None


def cloud_state(conn: HTTPConnection) -> CloudState:
    """The app's state, for a request or a WebSocket (set by the lifespan)."""
    state: CloudState = conn.app.state.cloud
    return state
