"""Live deltas between cloud processes: the payload, the order a node puts them in, the
cut to the live view, and the hub reading its view again after a gap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from cloud.live.delta import LiveCaps, trimmed
from cloud.live.hub import IngestedView, LiveHub, Subscription
from cloud.live.wire import DeltaError, DeltaOrder, Verdict, decode_delta, encode_delta
from cloud.model import (
    EdgeState,
    LiveChange,
    PassageRecord,
    Read,
    ReaderStatus,
    SpoolDepth,
    TagLocation,
    TagMove,
)
from protocols.mqtt import PayloadError, live_publisher, live_subscription, live_topic

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def read(n: int, epc: str = "AAAA") -> Read:
    at = T0 + timedelta(seconds=n)
    return Read(at, epc, "door-1/inside", "reader-door-1", 3, -50.0, 1, "edge-1", at)


def location(n: int, epc: str) -> TagLocation:
    at = T0 + timedelta(seconds=n)
    return TagLocation(epc, "door-1/inside", "reader-door-1", 3, "edge-1", None, at, at)


def change(n: int, epc: str = "AAAA") -> LiveChange:
    at = T0 + timedelta(seconds=n)
    return LiveChange(
        reads=[read(n, epc)],
        read_count=1,
        locations=[location(n, epc)],
        moves=[TagMove(epc, None, "door-1/inside", at, "reader-door-1")],
    )


async def take(sub: Subscription, n: int) -> list[dict[str, Any]]:
    it: AsyncIterator[str] = sub.messages()
    return [json.loads(await asyncio.wait_for(anext(it), 1)) for _ in range(n)]


# -- the payload -------------------------------------------------------------------------


def test_a_delta_read_from_the_wire_is_the_change_that_was_written():
    spool = SpoolDepth(3, 4096, 1 << 20, False, 0, T0)
    original = LiveChange(
        reads=[read(1), read(2, "BBBB")],
        read_count=7,
        locations=[location(2, "BBBB")],
        location_count=5,
        moves=[TagMove("BBBB", "dock", "door-1/inside", T0, "reader-door-1")],
        readers=[ReaderStatus("r-1", "edge-1", "inventorying", {"1": 4.5}, None, T0, 0.2)],
        edges=[EdgeState("edge-1", "online", T0, T0, spool)],
        passages=[PassageRecord(T0, "door-1", "in", "AAAA", ["CC01"], 0.9, "edge-1", T0)],
    )
    delta = decode_delta(encode_delta("0a1b2c3d4e5f", 42, original))
    assert (delta.origin, delta.seq, delta.v) == ("0a1b2c3d4e5f", 42, 1)
    assert delta.change == original


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"\xc1", "not a live delta (1 bytes)"),
        (msgspec.msgpack.encode({"origin": "o", "seq": 1}), "missing required field `change`"),
        (msgspec.msgpack.encode({"origin": "o", "seq": "1", "change": {}}), "$.seq"),
        (msgspec.msgpack.encode({"origin": "o", "seq": 1, "change": {}, "v": 2}), "version 2"),
        (msgspec.msgpack.encode({"origin": "o", "seq": 0, "change": {}}), "seq 0"),
    ],
)
def test_a_payload_that_is_not_a_live_delta_is_refused_saying_why(payload, says):
    with pytest.raises(DeltaError, match=None) as refused:
        decode_delta(payload)
    assert says in str(refused.value)


def test_the_live_topics_sit_under_the_cloud_segment_one_per_ingester():
    assert live_topic("dc-1", "ingest-1") == "rfidwms/v1/dc-1/_cloud/live/ingest-1"
    assert live_subscription("dc-1") == "rfidwms/v1/dc-1/_cloud/live/+"
    assert live_publisher("rfidwms-ingest-dc-1") == "rfidwms-ingest-dc-1"
    odd = live_publisher("ingest/1 #+")  # a client id need not be a topic segment
    assert odd.startswith("id-") and odd == live_publisher("ingest/1 #+")
    assert odd != live_publisher("ingest/2 #+")
    assert live_publisher("ingest-1\n") != "ingest-1\n"
    with pytest.raises(PayloadError, match="site 'a/b'"):
        live_topic("a/b", "ingest-1")


# -- the order of deltas -----------------------------------------------------------------

A, B = "rfidwms/v1/s/_cloud/live/ingest-1", "rfidwms/v1/s/_cloud/live/ingest-2"


@pytest.mark.parametrize(
    ("heard", "verdicts"),
    [
        # a publisher followed from its seq 1: each next one applies, a repeat is dropped
        (
            [(A, "x", 1, False), (A, "x", 2, False), (A, "x", 2, False)],
            ["apply", "apply", "duplicate"],
        ),
        # one missed: a gap, then it goes on from there
        ([(A, "x", 1, False), (A, "x", 3, False), (A, "x", 4, False)], ["apply", "gap", "apply"]),
        # followed from its retained delta (heard on subscribing): not applied, the next is
        ([(A, "x", 7, True), (A, "x", 8, False)], ["head", "apply"]),
        ([(A, "x", 7, True), (A, "x", 9, False)], ["head", "gap"]),
        # a publisher first heard in the middle of its numbering: its start was missed
        ([(A, "x", 5, False)], ["gap"]),
        # an ingester started again (new origin) counts from 1; one that does not was missed
        ([(A, "x", 4, True), (A, "y", 1, False), (A, "y", 2, False)], ["head", "apply", "apply"]),
        ([(A, "x", 4, True), (A, "y", 2, False)], ["head", "gap"]),
        # two ingesters are followed each on its own
        (
            [(A, "x", 1, False), (B, "z", 1, False), (A, "x", 2, False), (B, "z", 3, False)],
            ["apply", "apply", "apply", "gap"],
        ),
        # this process's own ingester's deltas are in its hub already
        ([(A, "mine", 1, False), (A, "mine", 5, False), (A, "mine", 9, True)], ["own"] * 3),
    ],
)
def test_each_delta_from_the_broker_is_applied_dropped_or_shows_a_gap(heard, verdicts):
    order = DeltaOrder(own="mine")
    got = [order.take(t, o, s, retained=r).value for t, o, s, r in heard]
    assert got == verdicts


def test_a_new_subscription_follows_every_publisher_anew():
    order = DeltaOrder()
    assert order.take(A, "x", 1, retained=False) is Verdict.APPLY
    order.restart()
    assert order.take(A, "x", 2, retained=False) is Verdict.GAP  # missed while away


def test_a_publisher_that_cleared_its_topic_is_forgotten():
    order = DeltaOrder()
    order.take(A, "x", 3, retained=True)
    order.forget(A)
    assert order.publishers == 0
    assert order.take(A, "y", 1, retained=False) is Verdict.APPLY


# -- the cut to the live view ------------------------------------------------------------


def test_a_change_is_cut_to_the_newest_of_each_list_with_the_count_of_all():
    big = LiveChange(
        reads=[read(n, f"E{n:03}") for n in range(10)],
        read_count=10,
        locations=[location(n, f"E{n:03}") for n in range(10)],
        moves=[
            TagMove(f"E{n:03}", None, "dock", T0 + timedelta(seconds=n), "r") for n in range(10)
        ],
        readers=[
            ReaderStatus(f"r-{n % 4}", "edge-1", "connected", {}, None, T0, None) for n in range(10)
        ],
    )
    cut = trimmed(big, LiveCaps(recent_reads=3, tag_locations=2, max_readers=2))
    assert [r.epc for r in cut.reads] == ["E009", "E008", "E007"] and cut.read_count == 10
    assert [t.epc for t in cut.locations] == ["E009", "E008"] and cut.location_count == 10
    assert [m.epc for m in cut.moves] == ["E009", "E008", "E007"] and cut.move_count == 10
    assert [r.reader_id for r in cut.readers] == ["r-0", "r-1"]  # the last two updated
    assert (cut.passage_count, cut.zone_event_count, cut.place_count) == (0, 0, 0)
    again = trimmed(cut, LiveCaps(recent_reads=3, tag_locations=2, max_readers=2))
    assert again == cut


async def test_a_cut_change_from_another_node_makes_the_same_delta_as_the_whole_change():
    whole = LiveChange(
        reads=[read(n, f"E{n:03}") for n in range(5)],
        read_count=5,
        locations=[location(n, f"E{n:03}") for n in range(5)],
    )
    here, there = LiveHub(tag_locations=2), LiveHub(tag_locations=2)
    with here.subscribe() as a, there.subscribe() as b:
        here.publish(whole)
        wire = decode_delta(encode_delta("o", 1, trimmed(whole, LiveCaps(200, 2, 2000))))
        there.publish(wire.change)
        (_, da), (_, db) = await take(a, 2), await take(b, 2)
    for d in (da, db):
        del d["stream"], d["at"]
    assert da == db and da["location_count"] == 5 and len(da["locations"]) == 2


# -- reading the view again --------------------------------------------------------------


async def test_a_reseed_replaces_the_view_and_sends_every_staff_client_a_fresh_snapshot():
    hub = LiveHub()
    hub.publish(change(1, "AAAA"))
    with hub.subscribe() as staff, hub.subscribe(customer="acme") as customer:
        hub.begin_reseed()
        hub.publish(change(3, "CCCC"))  # committed while the database was read
        seq = hub.reseed(IngestedView(reads=[read(2, "BBBB")], locations=[location(2, "BBBB")]))
        snap, fresh = await take(staff, 2)  # delta 2, still queued, is dropped for it
        hub.publish_order({"id": "o-1", "customer": "acme", "status": "created"})
        (customer_snap, order) = await take(customer, 2)
    assert seq == 3 == fresh["seq"] and fresh["type"] == "snapshot" and hub.reseeds == 1
    assert [r["epc"] for r in fresh["reads"]] == ["CCCC", "BBBB"]  # AAAA: not in the read
    assert [t["epc"] for t in fresh["tags"]] == ["CCCC", "BBBB"]
    assert snap["seq"] == 1
    assert customer_snap["type"] == "snapshot" and order["type"] == "order"  # no resync


async def test_a_client_cannot_resume_across_a_reseed_but_one_after_it_can():
    hub = LiveHub()
    hub.publish(change(1))
    hub.publish(change(2))
    hub.begin_reseed()
    hub.reseed(IngestedView())
    with hub.subscribe(since=2, stream=hub.stream) as before:
        (m,) = await take(before, 1)
    assert m["type"] == "snapshot" and m["seq"] == 3
    with hub.subscribe(since=3, stream=hub.stream) as after:
        hub.publish(change(4))
        resumed, delta = await take(after, 2)
    assert resumed["type"] == "resumed" and delta["seq"] == 4


def test_a_hub_nobody_has_seen_is_reseeded_without_a_number():
    hub = LiveHub()
    hub.begin_reseed()
    assert hub.reseed(IngestedView(reads=[read(1)])) == 0
    assert [r.epc for r in hub.snapshot()["reads"]] == ["AAAA"]


def test_an_abandoned_reseed_keeps_nothing_for_later():
    hub = LiveHub()
    hub.begin_reseed()
    hub.abandon_reseed()
    hub.publish(change(1, "AAAA"))
    hub.begin_reseed()
    hub.reseed(IngestedView())
    assert hub.snapshot()["reads"] == []
