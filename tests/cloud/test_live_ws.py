"""``/ws/live`` served by uvicorn: snapshot, delta after a broker message, resume."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets
from authkit import bearer, issue_token
from cloudkit import (
    EPC_1,
    EPC_2,
    EPC_3,
    T0,
    batch,
    eventually,
    obs_topic,
    observation,
    publish,
    rows,
    running_app,
    settings_for,
)

from cloud.api.origin import origin_allowed
from cloud.db.migrate import apply_migrations


async def recv(ws: Any, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def live_seq(base: str) -> int:
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"{base}api/health")).json()["live"]["seq"])


async def test_a_client_gets_a_snapshot_then_a_delta_for_a_batch_published_to_the_broker(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base:
        ws_url = base.replace("http://", "ws://") + "ws/live"
        auth = bearer(await issue_token(database_url, "operator"))
        async with websockets.connect(ws_url, additional_headers=auth) as ws:
            snap = await recv(ws)
            assert snap["type"] == "snapshot" and snap["seq"] == 0
            assert snap["reads"] == [] and snap["tags"] == []
            await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation(EPC_1))))
            delta = await recv(ws)
    assert delta["type"] == "delta" and delta["seq"] == 1 and delta["stream"] == snap["stream"]
    assert delta["read_count"] == 1
    (read,) = delta["reads"]
    assert (read["epc"], read["read_point"], read["rssi_dbm"]) == (EPC_1, "door-1/outside", -52.5)
    assert delta["moves"][0]["to_read_point"] == "door-1/outside"


async def test_a_client_reconnecting_with_since_gets_exactly_the_deltas_it_missed(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base:
        ws_url = base.replace("http://", "ws://") + "ws/live"
        auth = bearer(await issue_token(database_url, "operator"))
        await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation(EPC_1))))
        await eventually(lambda: live_seq(base), what="the first delta")
        async with websockets.connect(ws_url, additional_headers=auth) as ws:
            snap = await recv(ws)
        assert snap["seq"] == 1 and [r["epc"] for r in snap["reads"]] == [EPC_1]

        # while the client is away
        await publish(
            mqtt_url,
            (obs_topic(site), batch("edge-1", 2, observation(EPC_2, at=T0 + timedelta(seconds=2)))),
            (obs_topic(site), batch("edge-1", 3, observation(EPC_3, at=T0 + timedelta(seconds=3)))),
        )

        async def caught_up() -> bool:
            return await live_seq(base) == 3

        await eventually(caught_up, what="two more deltas")
        async with websockets.connect(
            f"{ws_url}?since=1&stream={snap['stream']}", additional_headers=auth
        ) as ws:
            resumed, d2, d3 = await recv(ws), await recv(ws), await recv(ws)
        assert resumed == {"type": "resumed", "seq": 1, "stream": snap["stream"], "latest": 3}
        assert [(d["seq"], d["reads"][0]["epc"]) for d in (d2, d3)] == [(2, EPC_2), (3, EPC_3)]

        # a seq from another hub (a restarted server) cannot be resumed: fresh snapshot
        async with websockets.connect(
            f"{ws_url}?since=1&stream=0123456789ab", additional_headers=auth
        ) as ws:
            fresh = await recv(ws)
        assert fresh["type"] == "snapshot" and fresh["seq"] == 3
        assert [r["epc"] for r in fresh["reads"]] == [EPC_3, EPC_2, EPC_1]


async def test_a_page_of_another_site_cannot_open_the_live_feed(
    database_url, mqtt_url, site, caplog
):
    """Cross-site WebSocket hijacking: a browser lets any page open a WebSocket to any
    host. Only the API's own pages, listed origins and non-browser clients (no Origin)
    get the feed; the others are refused before the handshake completes (HTTP 403)."""
    settings = settings_for(
        database_url, mqtt_url, site, http_allowed_origins="https://wms.example.com"
    )
    async with running_app(settings) as base:
        ws_url = base.replace("http://", "ws://") + "ws/live"
        auth = bearer(await issue_token(database_url, "operator"))
        own = base.rstrip("/")  # http://127.0.0.1:<port>, what a page served here sends
        for origin in (None, own, "https://wms.example.com", "HTTPS://WMS.example.com:443"):
            async with websockets.connect(ws_url, origin=origin, additional_headers=auth) as ws:
                assert (await recv(ws))["type"] == "snapshot", origin
        for origin in (
            "https://evil.example",
            own.replace("http://", "https://"),  # same host, another scheme
            own.rsplit(":", 1)[0] + ":1",  # same host, another port
            "null",  # a sandboxed page or a file
            "https://wms.example.com.evil.example",
        ):
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(ws_url, origin=origin, additional_headers=auth):
                    pass
            assert refused.value.response.status_code == 403, origin
            assert any(
                f"refused a live client from origin {origin!r}" in r.getMessage()
                for r in caplog.records
            ), origin
        assert await live_seq(base) == 0


@pytest.mark.parametrize(
    ("origin", "scheme", "host", "allowed"),
    [
        (None, "ws", "127.0.0.1:8080", True),
        ("http://127.0.0.1:8080", "ws", "127.0.0.1:8080", True),
        ("https://wms.example.com", "wss", "wms.example.com", True),
        ("https://wms.example.com", "wss", "wms.example.com:443", True),
        ("http://[::1]:8080", "ws", "[::1]:8080", True),
        ("https://listed.example", "ws", "127.0.0.1:8080", True),
        ("https://evil.example", "ws", "127.0.0.1:8080", False),
        ("http://127.0.0.1:8080", "ws", None, False),
        ("http://127.0.0.1:8080", "wss", "127.0.0.1:8080", False),
        ("null", "ws", "127.0.0.1:8080", False),
        ("http://127.0.0.1:8080/", "ws", "127.0.0.1:8080", False),
        ("http://127.0.0.1:8080", "ws", "127.0.0.1:8080/x", False),
    ],
)
def test_origin_allowed(origin, scheme, host, allowed):
    assert (
        origin_allowed(origin, scheme=scheme, host=host, allowed={"https://listed.example"})
        is allowed
    )


async def test_the_snapshot_of_a_site_with_many_readers_carries_the_most_recently_seen(
    database_url, mqtt_url, site
):
    """The hub starts from the database: only the ``LIVE_MAX_READERS`` newest readers
    and edges, not every row of the tables."""
    await apply_migrations(database_url)
    await rows(
        database_url,
        "INSERT INTO readers (reader_id, edge_id, state, last_seen)"
        " SELECT format('reader-%s', lpad(g::text, 5, '0')), 'edge-1', 'connected',"
        " timestamptz '2025-03-01 08:00Z' + g * interval '1 second'"
        " FROM generate_series(1, 3000) g RETURNING 1",
    )
    await rows(
        database_url,
        "INSERT INTO edges (edge_id, state, last_seen, changed_at)"
        " SELECT format('edge-%s', g), 'online', now() - g * interval '1 second', now()"
        " FROM generate_series(1, 50) g RETURNING 1",
    )
    settings = settings_for(database_url, mqtt_url, site, live_max_readers=10)
    async with running_app(settings) as base:
        ws_url = base.replace("http://", "ws://") + "ws/live"
        auth = bearer(await issue_token(database_url, "operator"))
        async with websockets.connect(ws_url, additional_headers=auth) as ws:
            snap = await recv(ws)
    assert [r["reader_id"] for r in snap["readers"]] == [
        f"reader-{i:05d}" for i in range(3000, 2990, -1)
    ]
    assert [e["edge_id"] for e in snap["edges"]] == [f"edge-{i}" for i in range(1, 11)]
