"""One device must not be able to stop a site's ingest, write for another edge, or
blow up the cloud's memory: each case over the real broker and database."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import aiomqtt
import psycopg
import yaml
from cloudkit import (
    EPC_1,
    EPC_2,
    batch,
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
from cloud.ingest.store import DEAD_LETTER_PREFIX_BYTES
from protocols.layout import load_layout
from protocols.mqtt import MAX_PAYLOAD_BYTES, TopicKind, parse_mqtt_url, topic


def two_edge_layout(tmp_path: Path) -> Path:
    """The demo site with reader-zone-c served by edge-2."""
    data = load_layout(None).model_dump(exclude_none=True)
    for r in data["readers"]:
        if r["id"] == "reader-zone-c":
            r["edge"] = "edge-2"
    path = tmp_path / "two-edges.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def test_a_megabyte_reader_id_is_a_dead_letter_and_the_batch_behind_it_lands(
    database_url, mqtt_url, site, caplog
):
    """It used to make PostgreSQL fail (SQLSTATE 54000) for ever, holding every batch
    behind it and logging the whole megabyte on each retry."""
    settings = settings_for(database_url, mqtt_url, site)
    huge = "r" * 1_000_000
    async with running_ingester(settings) as rig:
        with caplog.at_level(logging.INFO):
            await publish(
                mqtt_url,
                (
                    topic(site, "edge-1", TopicKind.HEALTH),
                    health("edge-1", (huge, "connected", {})),
                ),
                (obs_topic(site), batch("edge-1", 1, observation(EPC_1))),
            )
            await until(lambda: rig.ingester.stats.messages == 2, what="both messages")
        assert await rows(database_url, "SELECT epc FROM observations") == [(EPC_1,)]
        ((reason,),) = await rows(database_url, "SELECT reason FROM dead_letters")
        assert reason.startswith("EdgeHealth.readers.0.reader_id: String should match pattern")
        assert len(reason) < 1000
        assert await rows(database_url, "SELECT count(*) FROM readers") == [(0,)]
        assert max(len(r.getMessage()) for r in caplog.records) < 2000


async def test_an_edge_cannot_move_another_edges_tags_or_take_over_its_readers(
    database_url, mqtt_url, site, tmp_path
):
    settings = settings_for(database_url, mqtt_url, site, layout=two_edge_layout(tmp_path))
    zone_c = observation(EPC_1, reader_id="reader-zone-c", read_point="zone-c/shelf")
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site, "edge-2"), batch("edge-2", 1, zone_c)),
            # edge-2 claims edge-1's door reader, and an edge the layout lacks speaks
            (obs_topic(site, "edge-2"), batch("edge-2", 2, observation(EPC_1))),
            (
                topic(site, "edge-2", TopicKind.HEALTH),
                health("edge-2", ("reader-door-1", "disconnected", {})),
            ),
            (obs_topic(site, "edge-9"), batch("edge-9", 1, zone_c)),
            (
                topic(site, "edge-9", TopicKind.STATUS),
                b'{"v":1,"edge_id":"edge-9","state":"online"}',
            ),
        )
        await until(lambda: rig.ingester.stats.messages == 5, what="5 messages")
        assert await rows(database_url, "SELECT epc, read_point FROM tag_locations") == [
            (EPC_1, "zone-c/shelf")
        ]
        assert await rows(database_url, "SELECT count(*) FROM readers") == [(0,)]
        assert await rows(database_url, "SELECT count(*) FROM edges") == [(0,)]
        reasons = [
            r for (r,) in await rows(database_url, "SELECT reason FROM dead_letters ORDER BY id")
        ]
        assert reasons == [
            "ObservationBatch.observations.0: reader 'reader-door-1' belongs to edge 'edge-1', "
            "not to edge 'edge-2'",
            "EdgeHealth.readers.0: reader 'reader-door-1' belongs to edge 'edge-1', not to "
            "edge 'edge-2'",
            f"edge 'edge-9' is not an edge in the layout of site {site!r} (its edges: "
            "edge-1, edge-2)",
            f"edge 'edge-9' is not an edge in the layout of site {site!r} (its edges: "
            "edge-1, edge-2)",
        ]


async def test_a_payload_over_the_limit_is_dead_lettered_unparsed_and_kept_in_part(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    big = batch("edge-1", 1, observation(EPC_1)) + b" " * (MAX_PAYLOAD_BYTES + 1)
    async with running_ingester(settings) as rig:
        await publish(
            mqtt_url,
            (obs_topic(site), big),
            (obs_topic(site), batch("edge-1", 2, observation(EPC_2))),
        )
        await until(lambda: rig.ingester.stats.messages == 2, timeout=20, what="both")
        ((kept, size, digest, reason),) = await rows(
            database_url,
            "SELECT payload, payload_bytes, payload_sha256, reason FROM dead_letters",
        )
        assert bytes(kept) == big[:DEAD_LETTER_PREFIX_BYTES]
        assert size == len(big)
        assert bytes(digest) == hashlib.sha256(big).digest()
        assert f"larger than the limit of {MAX_PAYLOAD_BYTES} bytes" in reason
        assert await rows(database_url, "SELECT epc FROM observations") == [(EPC_2,)]


async def test_a_retained_garbage_status_is_one_dead_letter_however_often_it_comes(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    status = topic(site, "edge-1", TopicKind.STATUS)
    u = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(u.host, u.port) as c:
        await c.publish(status, b"garbage", qos=1, retain=True)
    try:
        for round_ in range(3):  # each start subscribes again and gets the retained copy
            async with running_ingester(settings) as rig:
                await until(lambda: rig.ingester.stats.messages >= 1, what="the retained one")
                await publish(mqtt_url, (obs_topic(site), batch("edge-1", round_)))
                await until(lambda: rig.ingester.stats.batches == 1, what="a batch")
        assert await rows(
            database_url, "SELECT count(*), bool_and(retained) FROM dead_letters"
        ) == [(1, True)]
        assert await rows(database_url, "SELECT count(*) FROM ingested_batches") == [(3,)]
    finally:
        async with aiomqtt.Client(u.host, u.port) as c:
            await c.publish(status, b"", qos=1, retain=True)


async def test_reader_changes_are_logged_once_they_commit_not_when_a_write_rolls_back(
    database_url, mqtt_url, site, caplog
):
    """A health message in one transaction with a status the database refuses (written
    after the readers): the first try rolls back, the halves are written again; the
    reader's change is news once."""
    settings = settings_for(database_url, mqtt_url, site, ingest_flush_interval_s=0.5)
    await apply_migrations(database_url)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("ALTER TABLE edges ADD CONSTRAINT not_yet CHECK (state <> 'online')")
    async with running_ingester(settings) as rig:
        with caplog.at_level(logging.INFO, logger="cloud.ingest"):
            await publish(
                mqtt_url,
                (
                    topic(site, "edge-1", TopicKind.HEALTH),
                    health("edge-1", ("reader-door-1", "inventorying", {"1": 3.0})),
                ),
                (
                    topic(site, "edge-1", TopicKind.STATUS),
                    b'{"v":1,"edge_id":"edge-1","state":"online"}',
                ),
            )
            await until(lambda: rig.ingester.stats.messages == 2, what="both")
        assert rig.ingester.stats.dead_letters == 1
        changed = [
            r.getMessage() for r in caplog.records if "reader reader-door-1" in r.getMessage()
        ]
        assert changed == ["reader reader-door-1 (edge edge-1): None -> inventorying"]
