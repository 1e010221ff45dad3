"""The live hub: snapshot then numbered deltas, resume with ``since``, slow clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic_core
import pytest

from cloud.live.hub import LiveHub, Subscription, drops_oldest, too_late
from cloud.model import EdgeState, LiveChange, Read, ReaderStatus, TagLocation, TagMove

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def change(n: int, epc: str = "AAAA") -> LiveChange:
    at = T0 + timedelta(seconds=n)
    r = Read(at, epc, "door-1/inside", "reader-door-1", 3, -50.0, 1, "edge-1", at)
    loc = TagLocation(epc, "door-1/inside", "reader-door-1", 3, "edge-1", -50.0, at, at)
    return LiveChange(
        reads=[r],
        read_count=1,
        locations=[loc],
        moves=[TagMove(epc, None, "door-1/inside", at, "reader-door-1")],
    )


async def take(sub: Subscription, n: int) -> list[dict[str, Any]]:
    it: AsyncIterator[str] = sub.messages()
    out = []
    for _ in range(n):
        out.append(json.loads(await asyncio.wait_for(anext(it), 1)))
    return out


async def test_a_new_client_gets_a_snapshot_then_the_next_deltas():
    hub = LiveHub()
    hub.publish(change(1, "AAAA"))
    with hub.subscribe() as sub:
        hub.publish(change(2, "BBBB"))
        snap, delta = await take(sub, 2)
    assert snap["type"] == "snapshot" and snap["seq"] == 1
    assert [r["epc"] for r in snap["reads"]] == ["AAAA"]
    assert [t["epc"] for t in snap["tags"]] == ["AAAA"]
    assert delta["type"] == "delta" and delta["seq"] == 2 and delta["stream"] == snap["stream"]
    assert delta["reads"][0]["epc"] == "BBBB" and delta["read_count"] == 1
    assert delta["moves"] == [
        {
            "epc": "BBBB",
            "from_read_point": None,
            "to_read_point": "door-1/inside",
            "at": "2025-03-01T08:00:02Z",
            "reader_id": "reader-door-1",
        }
    ]


async def test_a_client_resuming_within_the_buffer_gets_exactly_the_missed_deltas():
    hub = LiveHub(buffer=10)
    for n in range(1, 6):
        hub.publish(change(n))
    with hub.subscribe(since=2, stream=hub.stream) as sub:
        hub.publish(change(6))
        msgs = await take(sub, 5)
    assert msgs[0] == {"type": "resumed", "seq": 2, "stream": hub.stream, "latest": 5}
    assert [m["seq"] for m in msgs[1:]] == [3, 4, 5, 6]


async def test_a_client_resuming_at_the_latest_seq_gets_only_new_deltas():
    hub = LiveHub()
    hub.publish(change(1))
    with hub.subscribe(since=1, stream=hub.stream) as sub:
        hub.publish(change(2))
        msgs = await take(sub, 2)
    assert [m["type"] for m in msgs] == ["resumed", "delta"] and msgs[1]["seq"] == 2


async def test_a_since_without_its_stream_gets_a_snapshot():
    """A seq alone could be any hub's number (another node's, or this one's before a
    restart): only since and stream together name a point to resume from."""
    hub = LiveHub()
    hub.publish(change(1))
    hub.publish(change(2))
    with hub.subscribe(since=1) as sub:
        (first,) = await take(sub, 1)
    assert (first["type"], first["seq"]) == ("snapshot", 2)


async def test_too_old_another_stream_or_a_future_seq_gets_a_fresh_snapshot():
    hub = LiveHub(buffer=3)
    for n in range(1, 8):
        hub.publish(change(n))
    for since, stream in [(2, None), (6, "other-hub"), (99, None)]:
        with hub.subscribe(since=since, stream=stream) as sub:
            (first,) = await take(sub, 1)
        assert first["type"] == "snapshot" and first["seq"] == 7, (since, stream)


async def test_a_slow_client_never_blocks_publishing_and_resyncs_from_a_snapshot():
    hub = LiveHub(client_queue=4)
    with hub.subscribe() as slow:
        it = slow.messages()
        for n in range(1, 51):  # the client reads nothing meanwhile
            hub.publish(change(n))
        assert hub.seq == 50 and slow.resyncs >= 1
        first = json.loads(await anext(it))
        resync = json.loads(await anext(it))
        hub.publish(change(51))
        after = json.loads(await asyncio.wait_for(anext(it), 1))
    assert (first["type"], first["seq"]) == ("snapshot", 0)
    # the queued deltas were dropped for the view as of the moment the client caught up,
    # and numbering goes on from there without a gap or a repeat
    assert (resync["type"], resync["seq"]) == ("snapshot", 50)
    assert [r["epc"] for r in resync["reads"]][:1] == ["AAAA"]
    assert (after["type"], after["seq"]) == ("delta", 51)


async def test_a_closed_subscription_is_no_longer_offered_deltas():
    hub = LiveHub()
    with hub.subscribe():
        assert hub.clients == 1
    assert hub.clients == 0
    hub.publish(change(1))


async def test_the_view_keeps_only_the_most_recent_reads_and_tags():
    hub = LiveHub(recent_reads=3, tag_locations=2)
    for n, epc in enumerate(["A1", "B2", "C3", "D4"], start=1):
        hub.publish(change(n, epc))
    snap = hub.snapshot()
    assert [r.epc for r in snap["reads"]] == ["D4", "C3", "B2"]
    assert [t.epc for t in snap["tags"]] == ["D4", "C3"]


async def test_reader_updates_replace_the_readers_view():
    hub = LiveHub()
    hub.seed(readers=[ReaderStatus("r1", "edge-1", "connecting", {}, None, T0)])
    hub.publish(
        LiveChange(readers=[ReaderStatus("r1", "edge-1", "inventorying", {"1": 4.0}, None, T0)])
    )
    assert [(r.reader_id, r.state) for r in hub.snapshot()["readers"]] == [("r1", "inventorying")]


def big_change(n: int, tags: int, *, first_tag: int = 0) -> LiveChange:
    """A commit that saw ``tags`` tags arrive, the higher numbers later."""
    locations, moves = [], []
    for i in range(first_tag, first_tag + tags):
        at = T0 + timedelta(seconds=n, milliseconds=i)
        epc = f"{i:024X}"
        locations.append(
            TagLocation(epc, "zone-a/shelf", "reader-zone-a", 1, "edge-1", -60.0, at, at)
        )
        moves.append(TagMove(epc, None, "zone-a/shelf", at, "reader-zone-a"))
    return LiveChange(read_count=tags, locations=locations, moves=moves)


def apply_locations(view: dict[str, dict[str, Any]], delta: dict[str, Any], keep: int) -> None:
    """What a client keeping a tag view does with a delta (as the hub does itself)."""
    for t in reversed(delta["locations"]):
        view.pop(t["epc"], None)
        view[t["epc"]] = t
    while len(view) > keep:
        view.pop(next(iter(view)))


async def test_a_resumed_client_applying_delta_locations_has_the_tags_of_a_fresh_snapshot():
    hub = LiveHub(tag_locations=5, recent_reads=3)
    hub.publish(big_change(1, 4))
    with hub.subscribe() as sub:
        (snap,) = await take(sub, 1)
    view = {t["epc"]: t for t in reversed(snap["tags"])}
    hub.publish(big_change(2, 2, first_tag=2))  # two known tags seen again
    hub.publish(big_change(3, 8, first_tag=10))  # more new tags than the view holds
    with hub.subscribe(since=snap["seq"], stream=snap["stream"]) as sub:
        _, d2, d3 = await take(sub, 3)
    for d in (d2, d3):
        apply_locations(view, d, keep=5)
    assert (d3["location_count"], len(d3["locations"])) == (8, 5)
    assert [t["epc"] for t in d3["locations"]] == [f"{i:024X}" for i in (17, 16, 15, 14, 13)]
    fresh = hub.snapshot_message()[1]
    assert list(reversed(view.values())) == json.loads(fresh)["tags"]


async def test_moves_in_a_delta_are_capped_and_counted():
    hub = LiveHub(recent_reads=3)
    with hub.subscribe() as sub:
        hub.publish(big_change(1, 10))
        _, delta = await take(sub, 2)
    assert delta["move_count"] == 10
    assert [m["epc"] for m in delta["moves"]] == [f"{i:024X}" for i in (9, 8, 7)]


async def test_the_resume_buffer_is_bounded_by_bytes_as_well_as_by_count():
    hub = LiveHub(buffer=1000, buffer_bytes=20_000)
    for n in range(1, 21):
        hub.publish(big_change(n, 20, first_tag=n * 100))  # each delta some 8 kB
    deltas, size = hub.buffered
    assert 1 <= deltas < 20 and size <= 20_000
    oldest_kept = hub.seq - deltas + 1
    with hub.subscribe(since=oldest_kept - 1, stream=hub.stream) as sub:
        msgs = await take(sub, 1 + deltas)
    assert msgs[0]["type"] == "resumed" and [m["seq"] for m in msgs[1:]] == list(
        range(oldest_kept, hub.seq + 1)
    )
    with hub.subscribe(since=oldest_kept - 2, stream=hub.stream) as sub:
        (first,) = await take(sub, 1)
    assert first["type"] == "snapshot"


def reader(i: int, n: int = 0) -> ReaderStatus:
    at = T0 + timedelta(seconds=n)
    return ReaderStatus(f"reader-{i:06d}", "edge-1", "inventorying", {"1": 1.5}, at, at)


def edge(i: int, n: int = 0) -> EdgeState:
    at = T0 + timedelta(seconds=n)
    return EdgeState(f"edge-{i:06d}", "online", at, at)


def encoded_size(item: object) -> int:
    return len(pydantic_core.to_json(item))


async def test_a_snapshot_stays_small_however_many_readers_edges_and_tags_the_site_has():
    """With 100,000 readers a snapshot was 19.7 MB, sent to every new page. The view
    keeps at most ``max_readers`` readers and edges, ``tag_locations`` tags and
    ``recent_reads`` reads, so a snapshot weighs at most those caps times the size of
    one of each: some 1 MB with the defaults."""
    hub = LiveHub()  # the defaults: 200 reads, 2000 tags, 2000 readers, 2000 edges
    hub.seed(readers=[reader(i) for i in range(50_000)], edges=[edge(i) for i in range(50_000)])
    for n in range(1, 51):  # 50 commits, each of 1000 new readers and edges and tags
        first = 50_000 + (n - 1) * 1000
        c = big_change(n, 1000, first_tag=first)
        c.reads = [
            Read(t.last_seen, t.epc, t.read_point, t.reader_id, 1, -60.0, 1, "edge-1", t.last_seen)
            for t in c.locations
        ]
        c.readers = [reader(i, n) for i in range(first, first + 1000)]
        c.edges = [edge(i, n) for i in range(first, first + 1000)]
        hub.publish(c)
    snap = hub.snapshot()
    assert (len(snap["readers"]), len(snap["edges"]), len(snap["tags"]), len(snap["reads"])) == (
        2000,
        2000,
        2000,
        200,
    )
    # the most recently updated are kept, newest first
    assert snap["readers"][0].reader_id == "reader-099999"
    assert snap["readers"][-1].reader_id == "reader-098000"
    assert snap["edges"][-1].edge_id == "edge-098000"
    one = {k: encoded_size(snap[k][0]) + 1 for k in ("reads", "tags", "readers", "edges")}
    bound = 200 * one["reads"] + 2000 * (one["tags"] + one["readers"] + one["edges"]) + 1024
    _, text = hub.snapshot_message()
    assert len(text) <= bound < 1_300_000


async def test_readers_and_edges_least_recently_updated_are_dropped_first():
    hub = LiveHub(max_readers=3)
    hub.seed(readers=[reader(9, 9), reader(1, 1), reader(8, 8), reader(2, 2)])
    assert [r.reader_id for r in hub.snapshot()["readers"]] == [
        "reader-000009",
        "reader-000008",
        "reader-000002",
    ]
    hub.publish(LiveChange(readers=[reader(5, 10)], edges=[edge(1), edge(2)]))
    hub.publish(LiveChange(readers=[reader(2, 11)], edges=[edge(3), edge(4), edge(1)]))
    snap = hub.snapshot()
    assert [r.reader_id for r in snap["readers"]] == [
        "reader-000002",
        "reader-000005",
        "reader-000009",
    ]
    assert [e.edge_id for e in snap["edges"]] == ["edge-000001", "edge-000004", "edge-000003"]


async def test_a_delta_carries_at_most_max_readers_and_a_client_applying_it_has_the_snapshot():
    hub = LiveHub(max_readers=3)
    hub.publish(LiveChange(readers=[reader(i) for i in range(3)]))
    with hub.subscribe() as sub:
        (snap,) = await take(sub, 1)
        hub.publish(LiveChange(readers=[reader(i, 5) for i in (7, 8, 1, 9, 8)]))
        (delta,) = await take(sub, 1)
    assert [r["reader_id"] for r in delta["readers"]] == [
        "reader-000001",
        "reader-000009",
        "reader-000008",
    ]
    view = {r["reader_id"]: r for r in reversed(snap["readers"])}
    for r in delta["readers"]:
        view.pop(r["reader_id"], None)
        view[r["reader_id"]] = r
    while len(view) > 3:
        view.pop(next(iter(view)))
    assert list(reversed(view.values())) == json.loads(hub.snapshot_message()[1])["readers"]


async def test_the_snapshot_is_encoded_once_per_view_for_every_client_that_asks():
    hub = LiveHub()
    hub.publish(change(1))
    first = hub.snapshot_message()
    assert hub.snapshot_message() is first
    hub.publish(change(2))
    assert hub.snapshot_message()[0] == 2
    hub.seed(readers=[reader(1)])
    assert "reader-000001" in hub.snapshot_message()[1]


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("kept", "size", "oldest_age", "drops"),
    [
        (3, 300, 1.0, False),  # within count, bytes and age
        (5, 300, 1.0, True),  # over the count (at most 4)
        (3, 1200, 1.0, True),  # over the bytes (at most 1000)
        (3, 300, 61.0, True),  # the oldest is over the age (at most 60 s)
        (3, 300, 60.0, False),  # exactly the age: kept
        (1, 5000, 999.0, False),  # the last one is always kept
        (0, 0, 0.0, False),
    ],
)
def test_the_resume_buffer_drops_its_oldest_beyond_count_bytes_or_age(
    kept, size, oldest_age, drops
):
    assert drops_oldest(kept, size, oldest_age, most=4, most_bytes=1000, max_age=60.0) is drops


@pytest.mark.parametrize(
    ("published_at", "now", "late"),
    [(10.0, 11.0, False), (10.0, 12.0, False), (10.0, 12.01, True), (10.0, 99.0, True)],
)
def test_a_message_older_than_the_client_lag_is_too_late(published_at, now, late):
    assert too_late(published_at, now, 2.0) is late


async def test_the_resume_buffer_forgets_deltas_older_than_its_age():
    clock = Clock()
    hub = LiveHub(buffer_age_s=60.0, clock=clock)
    for n in range(1, 4):
        hub.publish(change(n))
        clock.now += 10
    assert hub.buffered[0] == 3
    clock.now += 35  # the first is 65 s old, the second 55 s
    assert hub.buffered[0] == 2
    with hub.subscribe(since=0, stream=hub.stream) as sub:
        (first,) = await take(sub, 1)
    assert (first["type"], first["seq"]) == ("snapshot", 3)
    with hub.subscribe(since=1, stream=hub.stream) as sub:
        msgs = await take(sub, 3)
    assert [(m["type"], m["seq"]) for m in msgs] == [("resumed", 1), ("delta", 2), ("delta", 3)]
    clock.now += 1000  # however old, the last delta stays: one behind can always resume
    assert hub.buffered[0] == 1


async def test_a_customers_resume_buffer_forgets_orders_older_than_its_age():
    clock = Clock()
    hub = LiveHub(buffer_age_s=60.0, clock=clock)
    for n in range(3):
        hub.publish_order({"id": f"o-{n}", "customer": "acme", "status": "created"})
        clock.now += 30  # the first is 90 s old at the end, the second 60 s
    stream = hub.customer_stream("acme")
    with hub.subscribe(since=0, stream=stream, customer="acme") as sub:
        (first,) = await take(sub, 1)
    assert (first["type"], first["seq"]) == ("snapshot", 3)
    with hub.subscribe(since=1, stream=stream, customer="acme") as sub:
        msgs = await take(sub, 3)
    assert [(m["type"], m["seq"]) for m in msgs] == [("resumed", 1), ("order", 2), ("order", 3)]


async def test_a_client_whose_next_delta_is_older_than_its_lag_gets_a_fresh_snapshot():
    clock = Clock()
    hub = LiveHub(client_max_lag_s=2.0, clock=clock)
    with hub.subscribe() as sub:
        it = sub.messages()
        assert json.loads(await anext(it))["type"] == "snapshot"
        hub.publish(change(1))
        clock.now += 1.0
        hub.publish(change(2))
        assert json.loads(await anext(it))["seq"] == 1  # 1 s old: sent
        clock.now += 1.5  # delta 2 is now 1.5 s old, delta 3 new
        hub.publish(change(3, "BBBB"))
        assert json.loads(await anext(it))["seq"] == 2
        clock.now += 2.5  # the client took 2.5 s to send delta 2: delta 3 is too late
        hub.publish(change(4, "CCCC"))
        resync = json.loads(await anext(it))
        assert (resync["type"], resync["seq"]) == ("snapshot", 4)
        assert [r["epc"] for r in resync["reads"]][:2] == ["CCCC", "BBBB"]
        hub.publish(change(5))
        after = json.loads(await asyncio.wait_for(anext(it), 1))
        assert (after["type"], after["seq"]) == ("delta", 5)
        assert sub.resyncs == 1 and hub.resyncs == 1
