"""After each commit the cloud confirms every spooled batch to its edge: stored now,
stored before, or stored as a dead letter; the edge drops a batch from its spool only then."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import aiomqtt
import pytest
from cloudkit import (
    EPC_1,
    SPOOL_1,
    SPOOL_2,
    batch,
    obs_topic,
    observation,
    publish,
    running_ingester,
    settings_for,
)

from cloud.ingest.acks import batch_acks
from cloud.ingest.classify import batch_key
from protocols.mqtt import (
    MAX_ACK_SEQS,
    BatchAck,
    PayloadError,
    TopicAddress,
    TopicKind,
    ack_topic,
    decode_ack,
    parse_mqtt_url,
)

OBS = TopicAddress("s1", "edge-1", TopicKind.OBSERVATIONS)
EVENTS = TopicAddress("s1", "edge-1", TopicKind.EVENTS)


@pytest.mark.parametrize(
    ("address", "payload", "key"),
    [
        (OBS, batch("edge-1", 4), ("edge-1", SPOOL_1, 4)),
        # the edge is the topic's, whatever the payload says (the ACL vouches for the topic)
        (OBS, batch("edge-9", 4), ("edge-1", SPOOL_1, 4)),
        (
            TopicAddress("s1", "edge-1", TopicKind.EVENTS),
            batch("edge-1", 0),
            ("edge-1", SPOOL_1, 0),
        ),
        (TopicAddress("s1", "edge-1", TopicKind.HEALTH), batch("edge-1", 4), None),
        (OBS, b"{not json", None),
        (OBS, b"[1, 2]", None),
        (OBS, json.dumps({"spool": SPOOL_1}).encode(), None),
        (OBS, json.dumps({"spool": SPOOL_1, "seq": "4"}).encode(), None),
        (OBS, json.dumps({"spool": SPOOL_1, "seq": True}).encode(), None),
        (OBS, json.dumps({"spool": SPOOL_1, "seq": -1}).encode(), None),
        (OBS, json.dumps({"spool": SPOOL_1, "seq": 2**63}).encode(), None),
        (OBS, json.dumps({"spool": SPOOL_1.upper(), "seq": 4}).encode(), None),
        (OBS, json.dumps({"spool": SPOOL_1 + "\n", "seq": 4}).encode(), None),
    ],
)
def test_a_dead_letter_names_its_batch_only_when_topic_and_json_tell_it(address, payload, key):
    assert batch_key(address, payload) == key


def test_acks_are_one_per_edge_and_spool_sorted_without_repeats():
    acks = batch_acks(
        "s1",
        stored=[
            ("edge-1", SPOOL_1, 5),
            ("edge-2", SPOOL_1, 1),
            ("edge-1", SPOOL_1, 3),
            ("edge-1", SPOOL_1, 5),
            ("edge-1", SPOOL_2, 0),
        ],
        dead_lettered=[("edge-1", SPOOL_1, 4)],
    )
    assert [(a.topic, a.edge_id, a.batches) for a in acks] == [
        (ack_topic("s1", "edge-1"), "edge-1", 3),
        (ack_topic("s1", "edge-2"), "edge-2", 1),
        (ack_topic("s1", "edge-1"), "edge-1", 1),
    ]
    assert [decode_ack(a.payload) for a in acks] == [
        BatchAck(edge_id="edge-1", spool=SPOOL_1, stored=[3, 5], dead_lettered=[4]),
        BatchAck(edge_id="edge-2", spool=SPOOL_1, stored=[1]),
        BatchAck(edge_id="edge-1", spool=SPOOL_2, stored=[0]),
    ]


def test_a_large_ack_is_split_so_each_part_stays_valid():
    many = [("edge-1", SPOOL_1, s) for s in range(MAX_ACK_SEQS + 5)]
    acks = batch_acks("s1", stored=many, dead_lettered=[])
    parts = [decode_ack(a.payload) for a in acks]
    assert [len(p.stored) for p in parts] == [MAX_ACK_SEQS, 5]
    assert [s for p in parts for s in p.stored] == list(range(MAX_ACK_SEQS + 5))


def test_an_ack_that_breaks_the_schema_is_refused_naming_the_field():
    with pytest.raises(PayloadError, match=r"BatchAck\.stored\.0"):
        decode_ack(json.dumps({"v": 1, "edge_id": "e", "spool": SPOOL_1, "stored": [-1]}).encode())
    with pytest.raises(PayloadError, match=r"BatchAck\.spool"):
        decode_ack(json.dumps({"v": 1, "edge_id": "e", "spool": "x"}).encode())


async def test_the_ingester_confirms_stored_duplicate_and_dead_lettered_batches_to_the_edge(
    database_url, mqtt_url, site
):
    settings = settings_for(database_url, mqtt_url, site)
    bad = json.loads(batch("edge-1", 2))
    bad["observations"][0]["antenna"] = 0
    stored: set[int] = set()
    dead: set[int] = set()
    u = parse_mqtt_url(mqtt_url)
    async with running_ingester(settings), aiomqtt.Client(u.host, u.port) as edge:
        await edge.subscribe(ack_topic(site, "edge-1"), qos=1)
        good = batch("edge-1", 1, observation(EPC_1, at=datetime.now(UTC)))
        await publish(
            mqtt_url,
            (obs_topic(site), good),
            (obs_topic(site), json.dumps(bad).encode()),
            (obs_topic(site), b"{not json"),
        )
        async with asyncio.timeout(30):
            async for message in edge.messages:
                assert isinstance(message.payload, bytes)
                ack = decode_ack(message.payload)
                assert (ack.edge_id, ack.spool) == ("edge-1", SPOOL_1)
                stored.update(ack.stored)
                dead.update(ack.dead_lettered)
                if stored == {1} and dead == {2}:
                    break
        # sent again (its confirmation was lost, say): confirmed again, stored once
        await publish(mqtt_url, (obs_topic(site), good))
        async with asyncio.timeout(30):
            message = await anext(edge.messages)
        assert isinstance(message.payload, bytes)
        assert decode_ack(message.payload).stored == [1]
