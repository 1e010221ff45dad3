"""What the request handlers share: settings, layout, pool, live hub, ingester.

Routes take it as a FastAPI dependency, ``st: State``, for a request or a WebSocket
alike (the caller's identity and role are meant to come the same way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from cloud.db.pool import Pool
from cloud.ingest.ingester import Ingester
from cloud.live.hub import LiveHub
from cloud.operations.edge_commands import CommandRelay
from cloud.settings import CloudSettings
from protocols.layout import Layout


@dataclass(slots=True)
class CloudState:
    settings: CloudSettings
    layout: Layout
    pool: Pool
    hub: LiveHub
    ingester: Ingester | None
    commands: CommandRelay | None = None
    """Sends commands to edges and hears their results (None: no MQTT broker configured)."""


def get_state(conn: HTTPConnection) -> CloudState:
    """The app's state, for a request or a WebSocket (set by the lifespan)."""
    state: CloudState = conn.app.state.cloud
    return state


State = Annotated[CloudState, Depends(get_state)]
"""The app's state as a route parameter: ``async def route(st: State) -> ...``."""
