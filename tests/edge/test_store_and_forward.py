"""The edge's spool and publisher against a real broker, including a broker outage.

A stand-in for the cloud (:func:`collect`) records what arrives and, unless told
not to, confirms each batch the way the ingester does after its commit."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime

import aiomqtt
from spoolkit import FullForDeletes, LoopLag, SlowDisk

from edge.publisher import SpoolPublisher
from edge.spool import Spool
from protocols.mqtt import (
    BatchAck,
    Observation,
    ObservationBatch,
    TopicKind,
    ack_topic,
    encode,
    encode_ack,
    parse_mqtt_url,
    subscription,
    topic,
)
from rfidwms.embedded import EmbeddedBroker, free_port

EPC = "3034257BF7194E4000001A85"


def payload_of(spool: Spool) -> Callable[[int], bytes]:
    """A builder of one-observation batches of ``spool`` (its id in each)."""
    return functools.partial(batch_payload, spool.spool_id)


def batch_payload(spool_id: str, seq: int) -> bytes:
    now = datetime.now(UTC)
    obs = Observation(
        epc=EPC,
        reader_id="r1",
        antenna=1,
        read_point="door-1/outside",
        rssi_dbm=-50,
        first_seen=now,
        last_seen=now,
        seen_count=1,
    )
    return encode(
        ObservationBatch(edge_id="edge-1", spool=spool_id, seq=seq, sent_at=now, observations=[obs])
    )


async def collect(
    url: str,
    site: str,
    into: list[dict],
    ready: asyncio.Event,
    confirm: asyncio.Event | None = None,
) -> None:
    """Record every message of ``site``; confirm each batch while ``confirm`` is set
    (always when None)."""
    u = parse_mqtt_url(url)
    while True:
        try:
            async with aiomqtt.Client(
                u.host, u.port, identifier=f"collector-{site}", clean_session=False
            ) as client:
                await client.subscribe(subscription(site), qos=1)
                ready.set()
                async for msg in client.messages:
                    body = json.loads(msg.payload)
                    into.append({"topic": str(msg.topic), "body": body})
                    if "seq" in body and (confirm is None or confirm.is_set()):
                        ack = BatchAck(
                            edge_id=body["edge_id"], spool=body["spool"], stored=[body["seq"]]
                        )
                        await client.publish(
                            ack_topic(site, body["edge_id"]), encode_ack(ack), qos=1
                        )
        except aiomqtt.MqttError:
            await asyncio.sleep(0.2)


async def wait_until(predicate, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - polling state owned by other tasks
            await asyncio.sleep(0.05)


async def test_spooled_batches_reach_the_broker_in_order_between_online_and_offline(
    mqtt_url, site, tmp_path
):
    received: list[dict] = []
    ready = asyncio.Event()
    collector = asyncio.create_task(collect(mqtt_url, site, received, ready))
    await ready.wait()
    async with Spool(tmp_path / "spool.sqlite") as spool:
        obs_topic = topic(site, "edge-1", TopicKind.OBSERVATIONS)
        for _ in range(5):
            await spool.append(obs_topic, payload_of(spool))
        publisher = SpoolPublisher(mqtt_url, site, "edge-1", spool)
        task = asyncio.create_task(publisher.run())
        try:
            await wait_until(lambda: len(spool) == 0 and len(received) >= 6, 20)
            task.cancel()  # a clean stop, as on SIGTERM
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await wait_until(lambda: received[-1]["body"].get("state") == "offline", 10)
        finally:
            task.cancel()
            collector.cancel()
    statuses = [m["body"]["state"] for m in received if m["topic"].endswith("/status")]
    seqs = [m["body"]["seq"] for m in received if m["topic"].endswith("/observations")]
    assert statuses[0] == "online" and statuses[-1] == "offline"
    assert seqs == [0, 1, 2, 3, 4]


async def test_a_broker_outage_loses_nothing(site, tmp_path):
    port = free_port()
    received: list[dict] = []
    ready = asyncio.Event()
    broker = EmbeddedBroker(port=port)
    with broker:
        url = broker.url
        collector = asyncio.create_task(collect(url, site, received, ready))
        await ready.wait()
        spool = Spool(tmp_path / "spool.sqlite")
        await spool.open()
        obs_topic = topic(site, "edge-1", TopicKind.OBSERVATIONS)
        publisher = SpoolPublisher(url, site, "edge-1", spool, reconnect_max_s=0.5)
        task = asyncio.create_task(publisher.run())
        await spool.append(obs_topic, payload_of(spool))
        publisher.notify()
        await wait_until(lambda: len(spool) == 0, 20)
    # the broker is down: batches pile up in the spool
    await wait_until(lambda: not publisher.connected.is_set(), 10)
    for _ in range(3):
        await spool.append(obs_topic, payload_of(spool))
        publisher.notify()
    await asyncio.sleep(1.0)
    assert len(spool) == 3
    ready.clear()
    with EmbeddedBroker(port=port):
        await asyncio.wait_for(ready.wait(), 20)
        await wait_until(lambda: len(spool) == 0, 20)
        await wait_until(
            lambda: sum(m["topic"].endswith("/observations") for m in received) >= 4, 20
        )
        task.cancel()
        collector.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await spool.close()
    seqs = sorted({m["body"]["seq"] for m in received if m["topic"].endswith("/observations")})
    assert seqs == [0, 1, 2, 3]


async def test_a_backlog_drains_over_a_slow_disk_without_stalling_the_loop(
    mqtt_url, site, tmp_path
):
    """40 batches through the broker with every disk write taking 0.2 s: the PUBACKs
    are acknowledged in slices (far fewer DELETEs than batches) and the event loop
    never waits for the disk (a write on the loop would stall it the whole 0.2 s; a
    loaded machine's scheduling delays it by far less)."""
    received: list[dict] = []
    ready = asyncio.Event()
    collector = asyncio.create_task(collect(mqtt_url, site, received, ready))
    await ready.wait()
    obs_topic = topic(site, "edge-1", TopicKind.OBSERVATIONS)
    async with Spool(tmp_path / "spool.sqlite", connection_factory=SlowDisk) as spool:
        SlowDisk.reset(delay_s=0.0)
        for _ in range(40):
            await spool.append(obs_topic, payload_of(spool))
        SlowDisk.reset(delay_s=0.2)
        publisher = SpoolPublisher(mqtt_url, site, "edge-1", spool)
        async with LoopLag(tick_s=0.005) as lag:
            task = asyncio.create_task(publisher.run())
            try:
                await wait_until(lambda: len(spool) == 0, 30)
                await wait_until(
                    lambda: sum(m["topic"].endswith("/observations") for m in received) >= 40,
                    20,
                )
            finally:
                task.cancel()
                collector.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    seqs = [m["body"]["seq"] for m in received if m["topic"].endswith("/observations")]
    assert seqs == list(range(40))
    assert 1 <= SlowDisk.deletes < 40
    assert lag.worst < SlowDisk.delay_s * 0.75, f"the loop stalled for {lag.worst:.3f} s"


async def test_a_batch_stays_in_the_spool_after_the_pubacks_until_the_cloud_confirms_it(
    mqtt_url, site, tmp_path
):
    """The broker has every batch (PUBACK) but the cloud confirms none: the spool keeps
    them all, sends them again after the timeout, and drops them once confirmed."""
    received: list[dict] = []
    ready, confirm = asyncio.Event(), asyncio.Event()
    collector = asyncio.create_task(collect(mqtt_url, site, received, ready, confirm))
    await ready.wait()

    def seqs() -> list[int]:
        return [m["body"]["seq"] for m in received if m["topic"].endswith("/observations")]

    async with Spool(tmp_path / "spool.sqlite") as spool:
        obs_topic = topic(site, "edge-1", TopicKind.OBSERVATIONS)
        for _ in range(3):
            await spool.append(obs_topic, payload_of(spool))
        publisher = SpoolPublisher(mqtt_url, site, "edge-1", spool, ack_timeout_s=1.0)
        task = asyncio.create_task(publisher.run())
        try:
            await wait_until(lambda: seqs() == [0, 1, 2], 20)
            assert len(spool) == 3  # with the broker, not yet with the cloud
            await wait_until(lambda: len(seqs()) >= 6, 20)  # the timeout: sent again
            assert seqs()[:6] == [0, 1, 2, 0, 1, 2] and len(spool) == 3
            confirm.set()
            await wait_until(lambda: len(spool) == 0, 20)
            assert publisher.confirmed >= 3
        finally:
            task.cancel()
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_confirmations_a_full_disk_cannot_take_are_deleted_once_it_has_room(
    mqtt_url, site, tmp_path
):
    """The cloud confirmed, the delete failed (disk full): the publisher lives on and
    deletes them later, without the cloud confirming again."""
    received: list[dict] = []
    ready = asyncio.Event()
    collector = asyncio.create_task(collect(mqtt_url, site, received, ready))
    await ready.wait()
    FullForDeletes.refusals = 2
    async with Spool(tmp_path / "spool.sqlite", connection_factory=FullForDeletes) as spool:
        obs_topic = topic(site, "edge-1", TopicKind.OBSERVATIONS)
        for _ in range(3):
            await spool.append(obs_topic, payload_of(spool))
        publisher = SpoolPublisher(mqtt_url, site, "edge-1", spool)
        task = asyncio.create_task(publisher.run())
        try:
            await wait_until(lambda: len(spool) == 0, 20)
            assert FullForDeletes.refusals == 0 and not task.done()
            await spool.append(obs_topic, payload_of(spool))
            publisher.notify()
            await wait_until(lambda: len(spool) == 0, 20)  # still publishing
        finally:
            task.cancel()
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    seqs = [m["body"]["seq"] for m in received if m["topic"].endswith("/observations")]
    assert sorted(set(seqs)) == [0, 1, 2, 3]


async def test_a_confirmation_for_another_spool_deletes_nothing(mqtt_url, site, tmp_path):
    async with Spool(tmp_path / "spool.sqlite") as spool:
        await spool.append(topic(site, "edge-1", TopicKind.OBSERVATIONS), payload_of(spool))
        publisher = SpoolPublisher(mqtt_url, site, "edge-1", spool)
        task = asyncio.create_task(publisher.run())
        u = parse_mqtt_url(mqtt_url)
        try:
            await asyncio.wait_for(publisher.connected.wait(), 20)
            async with aiomqtt.Client(u.host, u.port) as cloud:
                other = "f" * 32
                for ack in (
                    BatchAck(edge_id="edge-1", spool=other, stored=[0]),
                    BatchAck(edge_id="edge-2", spool=spool.spool_id, stored=[0]),
                ):
                    await cloud.publish(ack_topic(site, "edge-1"), encode_ack(ack), qos=1)
                await cloud.publish(ack_topic(site, "edge-1"), b"not json", qos=1)
                mine = BatchAck(edge_id="edge-1", spool=spool.spool_id, dead_lettered=[7])
                await cloud.publish(ack_topic(site, "edge-1"), encode_ack(mine), qos=1)
                # the last one (of a batch never spooled) is taken: the others came before
                await wait_until(lambda: publisher.confirmed == 1, 20)
            assert len(spool) == 1 and publisher.dead_lettered == 1
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
