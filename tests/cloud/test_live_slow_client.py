"""A slow page on ``/ws/live`` (real uvicorn, real sockets): dropped to a fresh snapshot,
its backlog bounded, the other pages and publishing untouched."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import websockets
from authkit import bearer, issue_token
from cloudkit import forget_session, settings_for

from cloud.api.app import create_app
from cloud.api.server import CloudServer
from cloud.db.migrate import apply_migrations
from cloud.live.hub import LiveHub
from cloud.model import LiveChange, Read, TagLocation

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
DELTAS = 60
TAGS = 1000
"""Tag locations per delta: some 200 kB of JSON each, 12 MB in all."""


def big_change(n: int) -> LiveChange:
    at = T0 + timedelta(seconds=n)
    locations = [
        TagLocation(f"{n:08X}{i:016X}", "zone-a/shelf", "reader-zone-a", 1, "edge-1", -60.0, at, at)
        for i in range(TAGS)
    ]
    read = Read(at, f"{n:024X}", "zone-a/shelf", "reader-zone-a", 1, -60.0, 1, "edge-1", at)
    return LiveChange(reads=[read], read_count=1, locations=locations)


async def fast_page(ws: Any, last: int) -> list[tuple[str, int]]:
    """Every message until the delta numbered ``last``."""
    got = []
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 30))
        got.append((m["type"], m["seq"]))
        if m["seq"] >= last:
            return got


async def test_a_slow_page_gets_a_fresh_snapshot_not_minutes_of_stale_deltas(
    database_url, mqtt_url, site
):
    """A page that stops reading while 12 MB of deltas are published: the other page
    gets every delta in order, publishing never waits, and when the slow page reads
    again it gets a few deltas still in the sockets' buffers, then a fresh snapshot
    and the deltas after it, not the whole backlog. (Measured: 14 stale deltas of the
    60, about 3 MB, most of them in the client's own buffers; with the kernel's send
    buffer left to autotuning, 30.)"""
    settings = settings_for(database_url, mqtt_url, site, live_client_max_lag_s=0.5)
    await apply_migrations(database_url)
    app = create_app(settings.model_copy(update={"http_port": 0}))
    try:
        async with CloudServer(app, "127.0.0.1", 0) as server:
            hub: LiveHub = app.state.cloud.hub
            url = server.url.replace("http://", "ws://") + "ws/live"
            auth = bearer(await issue_token(database_url, "operator"))
            connect = websockets.connect(url, additional_headers=auth, max_size=None, max_queue=1)
            async with (
                connect as slow,
                websockets.connect(url, additional_headers=auth, max_size=None) as fast,
            ):
                snap = json.loads(await slow.recv())
                json.loads(await fast.recv())
                start = hub.seq
                reading = asyncio.create_task(fast_page(fast, start + DELTAS))
                longest = 0.0
                for n in range(1, DELTAS + 1):
                    t = time.perf_counter()
                    hub.publish(big_change(n))
                    longest = max(longest, time.perf_counter() - t)
                    await asyncio.sleep(0.02)
                fast_got = await reading
                await asyncio.sleep(1.0)  # the slow page's queued deltas are now too old
                hub.publish(big_change(DELTAS + 1))
                slow_got = []
                while True:
                    m = json.loads(await asyncio.wait_for(slow.recv(), 30))
                    slow_got.append((m["type"], m["seq"]))
                    if m["seq"] >= start + DELTAS + 1:
                        break
    finally:
        await forget_session(settings.mqtt_url, settings.mqtt_client_id())
    assert snap["type"] == "snapshot"
    assert fast_got == [("delta", start + n) for n in range(1, DELTAS + 1)]
    assert longest < 0.5  # publishing one delta never waited for a page
    kinds = [k for k, _ in slow_got]
    assert "snapshot" in kinds, slow_got
    # the last snapshot: on a slow machine the page may already lag behind at the first
    # deltas, and a snapshot then being written when its buffers filled comes first
    stale = len(kinds) - 1 - kinds[::-1].index("snapshot")
    assert stale <= 22, f"{stale} stale messages came before the snapshot: {slow_got}"
    resync_seq = slow_got[stale][1]
    assert resync_seq > start + DELTAS // 2  # the snapshot is recent, not of the start
    after = [s for _, s in slow_got[stale + 1 :]]
    assert after == list(range(resync_seq + 1, start + DELTAS + 2))
    assert hub.resyncs >= 1
