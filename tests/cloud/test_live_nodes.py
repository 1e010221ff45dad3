"""Several API nodes: every node's live feed gets every ingester's deltas through the
broker, and a node that misses one reads its view again and resyncs its pages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiomqtt
import websockets
from authkit import bearer, issue_token
from brokerkit import forget_session, require_mosquitto
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
    running_ingester,
    settings_for,
    until,
)
from running import RunningProcess, get_json

from cloud.api.app import create_app
from cloud.api.server import CloudServer
from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.ingest.ingester import Ingester
from cloud.live.broker_feed import BrokerFeed
from cloud.live.hub import IngestedView, LiveHub
from cloud.model import LiveChange
from cloud.settings import CloudSettings
from protocols.mqtt import live_subscription, parse_mqtt_url


async def recv(ws: Any, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def serving_url(cloud: RunningProcess) -> str:
    line = cloud.wait_for(lambda ls: next((x for x in ls if "serving http://" in x), None), 30)
    return re.search(r"serving (http://\S+/)", line).group(1)


def live_health(url: str) -> dict[str, Any]:
    status, h = get_json(f"{url}api/health")
    assert status == 200, h
    return h


async def wait_health(url: str, ok: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        h = await asyncio.to_thread(live_health, url)
        return h if ok(h) else None

    found: dict[str, Any] = await eventually(probe, what=what, timeout=15)
    return found


async def test_an_api_only_node_streams_the_snapshot_then_the_deltas_another_node_ingested(
    database_url, mqtt_url, site
):
    """Two ``rfidwms cloud`` processes: one ingests, one is started ``--no-ingest``. A
    page on the second gets the reads the first stored, as a snapshot and then as
    deltas; the first applies its own deltas once."""
    client_id = f"test-nodes-{site}"
    env = {
        "RFIDWMS_DATABASE_URL": database_url,
        "RFIDWMS_MQTT_URL": mqtt_url,
        "RFIDWMS_SITE": site,
        "RFIDWMS_INGEST_CLIENT_ID": client_id,
    }
    # started together: their migrations take turns (an advisory lock)
    ingesting = RunningProcess(["cloud", "--http-port", "0"], env)
    api_only = RunningProcess(["cloud", "--http-port", "0", "--no-ingest"], env)
    try:
        a, b = serving_url(ingesting), serving_url(api_only)
        await wait_health(a, lambda h: h["mqtt"]["connected"], "the ingester subscribed")
        hb = await wait_health(b, lambda h: h["live"]["broker_connected"], "B's live feed")
        assert hb["ingest"]["running"] is False and hb["status"] == "ok"

        await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation(EPC_1))))
        await wait_health(b, lambda h: h["live"]["from_broker"] == 1, "B heard the delta")
        auth = bearer(await issue_token(database_url, "operator"))
        async with websockets.connect(
            b.replace("http://", "ws://") + "ws/live", additional_headers=auth
        ) as ws:
            snap = await recv(ws)
            await publish(
                mqtt_url,
                (obs_topic(site), batch("edge-1", 2, observation(EPC_2))),
                (obs_topic(site), batch("edge-1", 3, observation(EPC_3))),
            )
            deltas = [await recv(ws), await recv(ws)]
        assert snap["type"] == "snapshot" and [r["epc"] for r in snap["reads"]] == [EPC_1]
        assert [t["epc"] for t in snap["tags"]] == [EPC_1]
        assert [(d["type"], d["seq"], d["stream"]) for d in deltas] == [
            ("delta", snap["seq"] + 1, snap["stream"]),
            ("delta", snap["seq"] + 2, snap["stream"]),
        ]
        epcs = [r["epc"] for d in deltas for r in d["reads"]]
        assert epcs == [EPC_2, EPC_3] and [d["read_count"] for d in deltas] == [1, 1]
        assert [d["moves"][0]["to_read_point"] for d in deltas] == ["door-1/outside"] * 2

        ha = await wait_health(a, lambda h: h["ingest"]["batches"] == 3, "A stored 3")
        assert ha["live"]["from_broker"] == 0  # its own deltas: applied once, locally
        assert ha["live"]["seq"] == 3 and ha["live"]["gaps"] == 0
        hb = live_health(b)
        assert (hb["live"]["from_broker"], hb["live"]["gaps"]) == (3, 0)
        assert hb["live"]["stream"] != ha["live"]["stream"]  # each node numbers its own
        for cloud in (api_only, ingesting):  # both stop at once
            cloud.proc.send_signal(signal.SIGTERM)
        for cloud in (api_only, ingesting):
            assert cloud.proc.wait(30) == 0
            assert "Traceback" not in cloud.output()
        assert await retained_live_deltas(mqtt_url, site) == []  # stopped: it cleared its topic
    finally:
        for cloud in (api_only, ingesting):
            cloud.stop(signal.SIGKILL)
        await forget_session(mqtt_url, client_id)


async def retained_live_deltas(mqtt_url: str, site: str) -> list[str]:
    """The topics of the live deltas the broker keeps for ``site``."""
    u = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(u.host, u.port, username=u.username, password=u.password) as c:
        await c.subscribe(live_subscription(site), qos=1)
        topics = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                async for m in c.messages:
                    topics.append(m.topic.value)
        return topics


@asynccontextmanager
async def api_node(settings: CloudSettings) -> AsyncIterator[tuple[str, Any]]:
    """An API-only node served by uvicorn (the database migrated): its URL and app."""
    app = create_app(settings.model_copy(update={"http_port": 0}), ingest=False)
    async with CloudServer(app, "127.0.0.1", 0) as server:
        await asyncio.wait_for(app.state.cloud.live_feed.ready.wait(), 10)
        yield server.url, app


class IngesterWhoseBrokerMissesOneDelta(Ingester):
    """Its second delta never reaches the broker, as when the broker connection is
    lost between the commit and the publish: numbered, not sent."""

    def _send_delta(self, client: aiomqtt.Client, change: LiveChange) -> None:
        if self.stats.live_deltas == 1:
            self.stats.live_deltas += 1
            self.stats.live_unsent += 1
            return
        super()._send_delta(client, change)


async def test_a_node_that_misses_a_delta_reads_its_view_again_and_its_pages_resync(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    try:
        async with api_node(settings) as (url, app), AsyncExitStack() as stack:
            pool = await stack.enter_async_context(open_pool(database_url, timeout=2.0))
            ingester = await stack.enter_async_context(
                IngesterWhoseBrokerMissesOneDelta(settings, pool, LiveHub())
            )
            await asyncio.wait_for(ingester.subscribed.wait(), 10)
            feed = app.state.cloud.live_feed
            auth = bearer(await issue_token(database_url, "operator"))
            async with websockets.connect(
                url.replace("http://", "ws://") + "ws/live", additional_headers=auth
            ) as ws:
                snap = await recv(ws)
                for n, epc in enumerate((EPC_1, EPC_2, EPC_3), start=1):
                    at = T0.replace(second=n)
                    await publish(
                        mqtt_url, (obs_topic(site), batch("edge-1", n, observation(epc, at=at)))
                    )
                    await until(lambda n=n: ingester.stats.batches == n, what=f"batch {n}")
                first, fresh = await recv(ws), await recv(ws)
            assert ingester.stats.live_unsent == 1
            assert (first["type"], first["seq"]) == ("delta", snap["seq"] + 1)
            assert [r["epc"] for r in first["reads"]] == [EPC_1]
            # delta 2 (EPC_2) never came; delta 3 showed the gap: a fresh snapshot from
            # the database has all three, EPC_2 too
            assert fresh["type"] == "snapshot" and fresh["seq"] > first["seq"]
            assert [r["epc"] for r in fresh["reads"]] == [EPC_3, EPC_2, EPC_1]
            assert (feed.gaps, app.state.cloud.hub.reseeds >= 2) == (1, True)
            h = await asyncio.to_thread(live_health, url)
            assert h["live"]["gaps"] == 1
    finally:
        await forget_session(mqtt_url, settings.mqtt_client_id())


async def test_two_ingesters_of_a_group_reach_every_node(database_url, mqtt_url, site):
    """Two ingesters share the edges' messages ($share/<group>/...); each node's hub,
    theirs and an API-only one's, gets every batch's read once."""
    await require_mosquitto(mqtt_url, "a shared subscription ($share/...)")
    first = settings_for(database_url, mqtt_url, site, ingest_group="ingest")
    second = first.model_copy(update={"ingest_client_id": f"test-ingest-2-{site}"})
    async with (
        running_ingester(first) as a,
        running_ingester(second, migrate=False) as b,
        AsyncExitStack() as stack,
    ):
        api_hub = LiveHub()
        hubs = {"a": a.hub, "b": b.hub, "api": api_hub}
        feeds = [
            await stack.enter_async_context(
                BrokerFeed(mqtt_url, [site], hub, _nothing_read, own_origin=origin)
            )
            for hub, origin in (
                (a.hub, a.ingester.live_origin),
                (b.hub, b.ingester.live_origin),
                (api_hub, None),
            )
        ]
        for feed in feeds:
            await asyncio.wait_for(feed.ready.wait(), 10)
        subs = {name: stack.enter_context(hub.subscribe()) for name, hub in hubs.items()}
        await publish(
            mqtt_url,
            *(
                (obs_topic(site), batch("edge-1", n, observation(f"{n:024X}")))
                for n in range(1, 21)
            ),
        )
        await until(
            lambda: a.ingester.stats.batches + b.ingester.stats.batches == 20, what="20 batches"
        )
        assert a.ingester.stats.batches > 0 and b.ingester.stats.batches > 0
        for name, sub in subs.items():
            reads = await _reads_until(sub, 20)
            assert sorted(reads) == [f"{n:024X}" for n in range(1, 21)], name
        assert [f.gaps for f in feeds] == [0, 0, 0]
        assert feeds[2].applied == a.ingester.stats.live_deltas + b.ingester.stats.live_deltas


async def _nothing_read() -> IngestedView:
    return IngestedView()


async def _reads_until(sub: Any, n: int) -> list[str]:
    """The EPCs of the reads of the deltas ``sub`` gets until there are ``n``."""
    it = sub.messages()
    epcs: list[str] = []
    while len(epcs) < n:
        m = json.loads(await asyncio.wait_for(anext(it), 10))
        if m["type"] == "delta":
            epcs += [r["epc"] for r in m["reads"]]
    return epcs
