"""Commands to an edge's readers through the API: only an admin sends one; it is checked
against the layout, published on the edge's command topic, and the edge's answer is
stored (GET) and pushed on /ws/live. The edge here is a plain MQTT client answering as
an edge does (the edge itself is tested against a simulated reader in tests/edge)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import pytest
import websockets
from authkit import bearer, issue_token
from cloudkit import eventually, running_app, settings_for
from commandkit import answering_edge


async def recv_type(ws: Any, kind: str) -> dict[str, Any]:
    """The next live message of type ``kind`` (deltas of the ingester may come between)."""
    async with asyncio.timeout(20):
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] == kind:
                return msg


async def test_an_admin_sends_a_command_and_sees_the_edges_answer(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    heard: list[dict] = []
    ready = asyncio.Event()
    edge = asyncio.create_task(answering_edge(mqtt_url, site, heard, ready))
    try:
        async with running_app(settings) as base:
            await asyncio.wait_for(ready.wait(), 10)
            admin = bearer(await issue_token(database_url, "admin", name="ada"))
            operator = bearer(await issue_token(database_url, "operator"))
            ws_url = base.replace("http://", "ws://") + "ws/live"
            async with (
                httpx.AsyncClient(base_url=base) as client,
                websockets.connect(ws_url, additional_headers=operator) as ws,
            ):
                assert (await recv_type(ws, "snapshot"))["commands"] == []
                body = {"reader": "reader-door-2", "command": "set_power", "antenna": 3,
                        "power_dbm": 20.5}  # fmt: skip
                r = await client.post("api/edges/edge-1/commands", json=body, headers=operator)
                assert r.status_code == 403

                r = await client.post("api/edges/edge-1/commands", json=body, headers=admin)
                assert r.status_code == 202, r.text
                sent = r.json()
                assert (sent["status"], sent["requested_by"], sent["reader_id"]) == (
                    "sent",
                    "ada",
                    "reader-door-2",
                )
                pushed = await recv_type(ws, "command")
                assert pushed["command"]["id"] == sent["id"]
                answered = await recv_type(ws, "command")
                assert answered["command"]["id"] == sent["id"]
                assert (answered["command"]["status"], answered["command"]["detail"]) == (
                    "ok",
                    "set_power done",
                )
                assert heard[-1]["antenna"] == 3 and heard[-1]["power_dbm"] == 20.5
                assert heard[-1]["id"] == sent["id"]

                url = f"api/edges/edge-1/commands/{sent['id']}"
                got = (await client.get(url, headers=operator)).json()
                assert (got["status"], got["detail"]) == ("ok", "set_power done")
                assert got["answered_at"] is not None

                r = await client.post(
                    "api/edges/edge-1/commands",
                    json={"reader": "reader-door-1", "command": "set_power", "antenna": 1,
                          "power_dbm": 31},
                    headers=admin,
                )  # fmt: skip
                refused_id = r.json()["id"]

                async def answered_error() -> bool:
                    g = await client.get(f"api/edges/edge-1/commands/{refused_id}", headers=admin)
                    return g.json()["status"] == "error"

                await eventually(answered_error, timeout=20, what="the edge's error")
                listed = (await client.get("api/edges/edge-1/commands", headers=operator)).json()
                assert [c["id"] for c in listed["items"]] == [refused_id, sent["id"]]
                assert listed["items"][0]["detail"] == "too much"
    finally:
        edge.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await edge


@pytest.mark.parametrize(
    ("edge", "body", "status", "detail"),
    [
        ("edge-9", {"reader": "reader-door-1", "command": "stop"}, 404,
         "edge 'edge-9' serves no reader of the layout"),
        ("edge-1", {"reader": "reader-x", "command": "stop"}, 422,
         "reader: 'reader-x' is not served by edge 'edge-1' (its readers: reader-door-1, "),
        ("edge-1", {"reader": "reader-packing", "command": "set_power", "antenna": 3,
                    "power_dbm": 20}, 422,
         "antenna: reader 'reader-packing' has no antenna 3 (antennas: [1, 2])"),
        ("edge-1", {"reader": "reader-door-1", "command": "set_power", "antenna": 1}, 422,
         "set_power needs antenna and power_dbm"),
        ("edge-1", {"reader": "reader-door-1", "command": "start", "antenna": 1}, 422,
         "start takes no antenna or power_dbm"),
    ],
)  # fmt: skip
async def test_a_command_the_layout_does_not_allow_is_refused_naming_what(
    database_url, mqtt_url, site, edge, body, status, detail
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_app(settings) as base:
        admin = bearer(await issue_token(database_url, "admin"))
        async with httpx.AsyncClient(base_url=base) as client:
            r = await client.post(f"api/edges/{edge}/commands", json=body, headers=admin)
    assert r.status_code == status
    assert r.json()["detail"].startswith(detail)
