"""The ingester over the real broker and database: stores, dedupes, dead-letters, acks."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from brokerkit import forget_session, require_mosquitto
from cloudkit import (
    EPC_1,
    EPC_2,
    T0,
    batch,
    eventually,
    health,
    obs_topic,
    observation,
    publish,
    rows,
    running_ingester,
    settings_for,
    until,
)

from cloud.db.migrate import apply_migrations
from cloud.db.pool import open_pool
from cloud.ingest.ingester import Ingester
from cloud.live.hub import LiveHub
from protocols.mqtt import TopicKind, topic


async def count(database_url: str, table: str) -> int:
    ((n,),) = await rows(database_url, f"SELECT count(*) FROM {table}")
    return int(n)


async def test_a_published_batch_is_stored_located_and_handed_to_the_live_hub(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (
                obs_topic(site),
                batch(
                    "edge-1",
                    7,
                    observation(EPC_1, read_point="door-1/outside", at=T0),
                    observation(EPC_2, read_point="zone-a/shelf", reader_id="reader-zone-a", at=T0),
                    observation(
                        EPC_1, read_point="door-1/inside", antenna=3, at=T0 + timedelta(seconds=2)
                    ),
                ),
            ),
        )
        await eventually(lambda: count(database_url, "observations"), what="observations")
        assert await rows(
            database_url,
            "SELECT epc, read_point, antenna, rssi_dbm, seen_count, edge_id, seq"
            " FROM observations ORDER BY time, epc",
        ) == [
            (EPC_1, "door-1/outside", 1, -52.5, 3, "edge-1", 7),
            (EPC_2, "zone-a/shelf", 1, -52.5, 3, "edge-1", 7),
            (EPC_1, "door-1/inside", 3, -52.5, 3, "edge-1", 7),
        ]
        assert await rows(
            database_url, "SELECT edge_id, seq, observations FROM ingested_batches"
        ) == [("edge-1", 7, 3)]
        assert await rows(
            database_url, "SELECT epc, read_point, last_seen FROM tag_locations ORDER BY epc"
        ) == [
            (EPC_1, "door-1/inside", T0 + timedelta(seconds=2)),
            (EPC_2, "zone-a/shelf", T0),
        ]
        assert rig.hub.seq == 1
        snap = rig.hub.snapshot()
        assert {t.epc: t.read_point for t in snap["tags"]} == {
            EPC_1: "door-1/inside",
            EPC_2: "zone-a/shelf",
        }
        s = rig.ingester.stats
        assert (s.batches, s.observations, s.duplicates, s.dead_letters) == (1, 3, 0, 0)
        assert s.last_ingest_at is not None


async def test_a_batch_sent_again_with_the_same_seq_is_skipped_and_counted(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_ingester(settings) as rig:
        first = batch("edge-1", 1, observation(EPC_1))
        again = batch("edge-1", 1, observation(EPC_1), observation(EPC_2))
        await publish(mqtt_url, (obs_topic(site), first), (obs_topic(site), again))
        await until(lambda: rig.ingester.stats.messages == 2, what="both messages")
        assert await count(database_url, "observations") == 1
        assert rig.ingester.stats.duplicates == 1
        assert rig.hub.seq == 1, "a duplicate changes nothing live"


async def test_bad_messages_are_dead_lettered_with_their_reason_and_the_next_good_one_lands(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    bad_schema = json.loads(batch("edge-1", 2))
    bad_schema["observations"][0]["antenna"] = 0
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), b"{not json"),
            (obs_topic(site), json.dumps(bad_schema).encode()),
            (obs_topic(site, "edge-9"), batch("edge-1", 3)),
            (f"rfidwms/v1/{site}/edge-1/firmware", b"{}"),
            (obs_topic(site), batch("edge-1", 4, observation(EPC_2))),
        )
        await eventually(lambda: count(database_url, "observations"), what="the good batch")
        dead = await rows(
            database_url, "SELECT topic, payload, reason FROM dead_letters ORDER BY id"
        )
        assert [(t, bytes(p)) for t, p, _ in dead][:1] == [(obs_topic(site), b"{not json")]
        reasons = [r for _, _, r in dead]
        assert len(reasons) == 4, reasons
        assert "Invalid JSON" in reasons[0]
        assert "ObservationBatch.observations.0.antenna" in reasons[1]
        assert "differs from the topic's edge id 'edge-9'" in reasons[2]
        assert "unknown kind 'firmware'" in reasons[3]
        assert await rows(database_url, "SELECT epc FROM observations") == [(EPC_2,)]
        assert rig.ingester.stats.dead_letters == 4 and rig.ingester.subscribed.is_set()


async def test_a_message_the_database_refuses_is_dead_lettered_alone(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    nul = batch("edge-1", 2, observation(EPC_2, reader_id="reader\u0000door-1"))
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), batch("edge-1", 1, observation(EPC_1))),
            (obs_topic(site), nul),
            (obs_topic(site), batch("edge-1", 3, observation(EPC_1))),
        )
        await until(lambda: rig.ingester.stats.messages == 3, what="3 msgs")
        assert await rows(database_url, "SELECT seq FROM ingested_batches ORDER BY seq") == [
            (1,),
            (3,),
        ]
        ((reason,),) = await rows(database_url, "SELECT reason FROM dead_letters")
        assert reason.startswith("refused by the database: DataError")


async def test_health_and_status_messages_update_readers_and_edges(database_url, mqtt_url, site):
    settings = settings_for(database_url, mqtt_url, site)
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (
                topic(site, "edge-1", TopicKind.STATUS),
                b'{"v":1,"edge_id":"edge-1","state":"online"}',
            ),
            (
                topic(site, "edge-1", TopicKind.HEALTH),
                health("edge-1", ("reader-door-1", "inventorying", {"1": 12.5, "3": 4.0})),
            ),
        )
        await until(lambda: rig.ingester.stats.messages == 2, what="2 msgs")
        assert await rows(
            database_url, "SELECT reader_id, edge_id, state, reads_per_s FROM readers"
        ) == [("reader-door-1", "edge-1", "inventorying", {"1": 12.5, "3": 4.0})]
        assert await rows(database_url, "SELECT edge_id, state FROM edges") == [
            ("edge-1", "online")
        ]
        readers = rig.hub.snapshot()["readers"]
        assert [(r.reader_id, r.state) for r in readers] == [("reader-door-1", "inventorying")]


async def test_a_message_is_acknowledged_only_after_commit_so_a_crash_before_it_redelivers(
    database_url, mqtt_url, site
):
    """Ingester A cannot reach its database: it holds the batch unacknowledged. It stops
    (as in a crash); B, the same persistent session with a working database, gets the
    batch redelivered by the broker and stores it. C, the same session again, is not
    redelivered anything: B acknowledged after its commit."""
    await require_mosquitto(mqtt_url, "redelivery to an anonymous persistent session")
    settings = settings_for(database_url, mqtt_url, site)
    await apply_migrations(database_url)
    unreachable = "postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=1"
    async with open_pool(unreachable, timeout=0.3) as dead_pool:
        a = Ingester(settings, dead_pool)
        async with a:
            await asyncio.wait_for(a.subscribed.wait(), 10)
            await publish(mqtt_url, (obs_topic(site), batch("edge-1", 1, observation(EPC_1))))
            await until(lambda: "database" in (a.stats.last_error or ""), what="A failing to write")
            assert a.stats.messages == 0
    assert await count(database_url, "observations") == 0

    try:
        async with open_pool(database_url) as pool:
            async with Ingester(settings, pool, LiveHub()) as b:
                await eventually(lambda: count(database_url, "observations"), what="redelivery")
                assert b.stats.batches == 1
            async with Ingester(settings, pool, LiveHub()) as c:
                await asyncio.wait_for(c.subscribed.wait(), 10)
                await publish(mqtt_url, (obs_topic(site), batch("edge-1", 2, observation(EPC_2))))
                await until(lambda: c.stats.messages >= 1, what="C's message")
                assert (c.stats.messages, c.stats.duplicates) == (1, 0)
    finally:
        await forget_session(mqtt_url, settings.mqtt_client_id())


async def test_ingesters_in_one_group_share_the_batches_and_store_each_once(
    database_url, mqtt_url, site
):
    """A shared subscription ($share/<group>/...): the broker gives each message to one
    member (Mosquitto; the embedded amqtt broker has no shared subscriptions)."""
    await require_mosquitto(mqtt_url, "a shared subscription ($share/...)")
    first = settings_for(database_url, mqtt_url, site, ingest_group="ingest")
    second = first.model_copy(update={"ingest_client_id": f"test-ingest-2-{site}"})
    async with running_ingester(first) as a, running_ingester(second, migrate=False) as b:
        assert a.ingester.topic_filter == f"$share/ingest/rfidwms/v1/{site}/+/+"
        await publish(
            mqtt_url,
            *((obs_topic(site), batch("edge-1", seq, observation(EPC_1))) for seq in range(20)),
        )
        await until(
            lambda: a.ingester.stats.messages + b.ingester.stats.messages == 20, what="20 batches"
        )
        assert await count(database_url, "ingested_batches") == 20
        assert await count(database_url, "observations") == 20
        assert a.ingester.stats.batches > 0 and b.ingester.stats.batches > 0
