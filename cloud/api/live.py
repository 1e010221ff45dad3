"""``/ws/live``: the live feed (snapshot, then deltas; ``?since=`` resumes).

Staff (admin, operator) get everything; a customer's token gets its own orders'
changes only, in a sequence of its own (:meth:`cloud.live.hub.LiveHub.subscribe`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, status

from cloud.api.auth import CallerDep
from cloud.api.origin import origin_allowed
from cloud.api.state import State
from cloud.live.hub import Subscription

log = logging.getLogger(__name__)
router = APIRouter()


async def _send(websocket: WebSocket, sub: Subscription) -> None:
    async for text in sub.messages():
        await websocket.send_text(text)


async def _until_closed(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


@router.websocket("/ws/live")
async def live_feed(
    websocket: WebSocket,
    st: State,
    caller: CallerDep,
    since: int | None = Query(default=None, ge=0, description="last seq the client has"),
    stream: str | None = Query(default=None, max_length=64, description="stream of that seq"),
) -> None:
    """A snapshot (or, with ``since``, the deltas after it), then every delta.

    Refused (HTTP 403 before the handshake completes) for a browser page of another
    origin than the API's own, unless ``RFIDWMS_HTTP_ALLOWED_ORIGINS`` lists it."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if not origin_allowed(
        origin, scheme=websocket.url.scheme, host=host, allowed=st.settings.allowed_origins
    ):
        log.warning(
            "refused a live client from origin %r (host %r): not this server's origin and "
            "not in RFIDWMS_HTTP_ALLOWED_ORIGINS",
            origin,
            host,
        )
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    hub = st.hub
    await websocket.accept()
    with hub.subscribe(since, stream, customer=caller.customer_scope) as sub:
        tasks = [
            asyncio.create_task(_send(websocket, sub)),
            asyncio.create_task(_until_closed(websocket)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                    await t
    log.debug("live client left (resyncs: %d)", sub.resyncs)
