"""A reader's heartbeat (it has reported everything before a time) counts like a report:
the last tag to leave a zone departs, while a reader with no heartbeat still cannot make
its tags vanish."""

from __future__ import annotations

from eventkit import PALLET, PALLET_2, Replay, at, seconds, shelf_reads

from edge.events import EventRules, ZoneEventKind

A = "reader-zone-a"


def heartbeats(reader: str, start_s: float, end_s: float, every_s: float = 1.0, lag_s: float = 0.5):
    """A keepalive every ``every_s``: the reader has reported everything up to ``lag_s`` ago."""
    hooks = {}
    t = start_s
    while t <= end_s:
        hooks[t] = lambda core, now, r=reader, lag=lag_s: core.reader_heard_through(
            r, at(seconds(now) - lag), now
        )
        t = round(t + every_s, 6)
    return hooks


def test_the_last_tag_to_leave_a_zone_departs_on_its_reader_s_heartbeats():
    rules = EventRules(zone_hold_s=2.0)
    reads = shelf_reads(PALLET, A, 1.0, 30.0, -50)  # the only tag; then the reader has nothing
    replay = Replay(rules).run(reads, until_s=60, at_times=heartbeats(A, 0.5, 60))
    _arrived, departed = replay.zone_events(PALLET)
    assert (departed.kind, departed.zone, seconds(departed.time)) == (
        ZoneEventKind.DEPARTED,
        "zone-a",
        30.0,
    )
    # hold 2 s + the heartbeat's lag 0.5 s + one heartbeat period 1 s
    assert 32.0 <= replay.decided_at(departed) <= 33.75
    assert replay.core.zone_of(PALLET) is None


def test_without_heartbeats_the_same_reads_make_the_tag_unknown_not_departed():
    rules = EventRules(zone_hold_s=2.0, reader_silent_s=10.0)
    reads = shelf_reads(PALLET, A, 1.0, 30.0, -50)
    replay = Replay(rules).run(reads, until_s=60)
    assert [e.kind for e in replay.zone_events(PALLET)] == [
        ZoneEventKind.ARRIVED,
        ZoneEventKind.UNKNOWN,
    ]


def test_a_heartbeat_from_before_the_tag_s_last_read_departs_nothing():
    # the reader vouches only for reads before 'through': a tag read after it stays
    rules = EventRules(zone_hold_s=2.0)
    reads = shelf_reads(PALLET, A, 1.0, 30.0, -50) + shelf_reads(PALLET_2, A, 1.0, 60.0, -50)
    hooks = heartbeats(A, 0.5, 60, lag_s=0.5)
    replay = Replay(rules).run(reads, until_s=60, at_times=hooks)
    assert [e.kind for e in replay.zone_events(PALLET_2)] == [ZoneEventKind.ARRIVED]
    assert [e.kind for e in replay.zone_events(PALLET)] == [
        ZoneEventKind.ARRIVED,
        ZoneEventKind.DEPARTED,
    ]
