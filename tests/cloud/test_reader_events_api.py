"""The readers' faults and antenna events: from the edges' health messages through the
real broker into the database (once each, however many messages repeat them), out of
``GET /api/reader-events`` and onto the live feed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from cloudkit import T0, all_pages, api, health, ingest, rows, settings_for

from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.db.retention import ReaderEventPruner
from cloud.ingest.changes import reader_events_of
from cloud.live.delta import LiveCaps, trimmed
from cloud.live.wire import decode_delta, encode_delta
from cloud.model import LiveChange, ReaderEventRecord
from protocols.mqtt import EdgeHealth, TopicKind, decode, topic


def event(kind: str, seconds: float, antenna: int | None = None, detail: str = "") -> dict:
    e: dict[str, Any] = {"kind": kind, "time": (T0 + timedelta(seconds=seconds)).isoformat()}
    if antenna is not None:
        e["antenna"] = antenna
    if detail:
        e["detail"] = detail
    return e


def parsed(payload: bytes) -> EdgeHealth:
    h = decode(TopicKind.HEALTH, payload)
    assert isinstance(h, EdgeHealth)
    return h


UP = ("reader-zone-b", "inventorying", {"1": 3.0})
DOOR = ("reader-door-2", "inventorying", {"1": 3.0})
ZB_OFF2 = ("reader-zone-b", "antenna_disconnected", 2)
OFF = event("antenna_disconnected", 1, 2)
ON = event("antenna_connected", 61, 2)
LOST = event("connection_lost", 30, detail="connection closed")


@pytest.mark.parametrize(
    ("messages", "kept"),
    [
        ([{}], []),
        ([{"reader-zone-b": [OFF]}], [("reader-zone-b", "antenna_disconnected", 2)]),
        # the edge repeats an event in a few messages: kept once
        ([{"reader-zone-b": [OFF]}, {"reader-zone-b": [OFF, ON]}],
         [("reader-zone-b", "antenna_disconnected", 2), ("reader-zone-b", "antenna_connected", 2)]),
        # the same time and kind of two readers, or of two antennas, are two events
        ([{"reader-zone-b": [OFF], "reader-door-2": [OFF]}],
         [("reader-door-2", "antenna_disconnected", 2), ZB_OFF2]),
        ([{"reader-zone-b": [OFF, event("antenna_disconnected", 1, 3)]}],
         [ZB_OFF2, ("reader-zone-b", "antenna_disconnected", 3)]),
        # oldest first, whatever order the messages carried them in
        ([{"reader-zone-b": [ON]}, {"reader-door-2": [LOST]}, {"reader-zone-b": [OFF]}],
         [("reader-zone-b", "antenna_disconnected", 2), ("reader-door-2", "connection_lost", None),
          ("reader-zone-b", "antenna_connected", 2)]),
    ],
)  # fmt: skip
def test_the_events_of_health_messages_are_each_kept_once_oldest_first(messages, kept):
    health_messages = [parsed(health("edge-1", UP, DOOR, events=m)) for m in messages]
    got = reader_events_of(health_messages)
    assert [(r.reader_id, r.event.kind.value, r.event.antenna) for r in got] == kept


async def test_reader_events_go_through_the_broker_into_the_database_once_and_out_of_the_api(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    health_topic = topic(site, "edge-1", TopicKind.HEALTH)
    async with api(settings) as client:
        hub = client.app.state.cloud.hub  # type: ignore[attr-defined]
        with hub.subscribe(since=hub.seq, stream=hub.stream) as sub:
            feed = sub.messages()
            assert json.loads(await anext(feed))["type"] == "resumed"
            await ingest(
                client,
                mqtt_url,
                (health_topic, health("edge-1", UP, DOOR, at=T0)),  # an edge without events
                (health_topic, health("edge-1", UP, DOOR, at=T0, events={"reader-zone-b": [OFF]})),
                (health_topic, health(
                    "edge-1", UP, DOOR, at=T0 + timedelta(seconds=65),
                    events={"reader-zone-b": [OFF, ON], "reader-door-2": [LOST]},
                )),
            )  # fmt: skip
            deltas = []
            while sum(len(d.get("reader_events", [])) for d in deltas) < 3:
                deltas.append(json.loads(await anext(feed)))
        live = [e for d in deltas for e in d.get("reader_events", [])]
        assert [(e["reader_id"], e["kind"], e["antenna"]) for e in live] == [
            ("reader-zone-b", "antenna_disconnected", 2),
            ("reader-door-2", "connection_lost", None),
            ("reader-zone-b", "antenna_connected", 2),  # the repeated one not again
        ]
        stored = await rows(
            database_url,
            "SELECT reader_id, kind, antenna, detail FROM reader_events ORDER BY time, id",
        )
        assert stored == [
            ("reader-zone-b", "antenna_disconnected", 2, ""),
            ("reader-door-2", "connection_lost", None, "connection closed"),
            ("reader-zone-b", "antenna_connected", 2, ""),
        ]

        r = await client.get("/api/reader-events")
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [(e["kind"], e["fault"]) for e in items] == [
            ("antenna_connected", False),
            ("connection_lost", True),
            ("antenna_disconnected", True),
        ]
        assert items[2]["time"] == "2025-03-01T08:00:01Z"
        assert items[2]["edge_id"] == "edge-1"
        assert [len(p) for p in await all_pages(client, "/api/reader-events", 2)] == [2, 1]

        async def kinds(**params: Any) -> list[str]:
            r = await client.get("/api/reader-events", params=params)
            assert r.status_code == 200, r.text
            return [e["kind"] for e in r.json()["items"]]

        assert await kinds(reader="reader-zone-b") == ["antenna_connected", "antenna_disconnected"]
        assert await kinds(edge="edge-2") == []
        assert await kinds(kind=["connection_lost", "antenna_connected"]) == [
            "antenna_connected",
            "connection_lost",
        ]
        since = (T0 + timedelta(seconds=10)).isoformat()
        until = (T0 + timedelta(seconds=60)).isoformat()
        assert await kinds(since=since) == ["antenna_connected", "connection_lost"]
        assert await kinds(since=since, until=until) == ["connection_lost"]

        bad = await client.get("/api/reader-events", params={"kind": "exploded"})
        assert bad.status_code == 422
        assert "kind 'exploded' is not one of" in bad.json()["detail"]
        naive = await client.get("/api/reader-events", params={"since": "2025-03-01T08:00:00"})
        assert naive.status_code == 422
        assert "since '2025-03-01T08:00:00' has no time zone" in naive.json()["detail"]
        wrong = await client.get("/api/reader-events", params={"cursor": "nonsense"})
        assert wrong.status_code == 422

        # a fresh page starts from the hub's snapshot: the events newest first
        snapshot = hub.snapshot()
        assert [e.kind for e in snapshot["reader_events"]] == [
            "antenna_connected",
            "connection_lost",
            "antenna_disconnected",
        ]


async def test_reader_events_older_than_the_retention_are_deleted(database_url):
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for days in (100, 91, 89, 1):
            await conn.execute(
                "INSERT INTO reader_events (edge_id, reader_id, time, kind, stored_at)"
                " VALUES ('edge-1', 'reader-door-1', %s, 'silent', %s)",
                (T0 - timedelta(days=days), T0),
            )
    async with open_pool(database_url, timeout=2.0) as pool:
        pruner = ReaderEventPruner(pool, timedelta(days=90), clock=lambda: T0)
        assert await pruner.step() is True  # it keeps going
        assert pruner.deleted == 2
    left = await rows(database_url, "SELECT time FROM reader_events ORDER BY time")
    assert [T0 - t for (t,) in left] == [timedelta(days=89), timedelta(days=1)]


def _record(n: int) -> ReaderEventRecord:
    return ReaderEventRecord(
        n, T0 + timedelta(seconds=n), "edge-1", "reader-zone-b", "antenna_disconnected", 2, "",
        T0,
    )  # fmt: skip


def test_reader_events_cross_the_broker_to_other_nodes_and_are_cut_to_the_view():
    change = LiveChange(reader_events=[_record(n) for n in range(1, 6)])
    cut = trimmed(change, LiveCaps(recent_reads=3))
    assert [e.id for e in cut.reader_events] == [3, 4, 5]  # the newest, oldest first
    assert bool(LiveChange(reader_events=[_record(1)]))  # a change worth a delta
    delta = decode_delta(encode_delta("origin", 1, cut))
    assert delta.change.reader_events == cut.reader_events
