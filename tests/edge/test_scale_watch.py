"""Scale readings become one weight per load; the pallet is the SSCC its read point heard
strongest as the weight settled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.scale_watch import (
    LoadWatch,
    ReadPointLog,
    ScaleRead,
    StableLoad,
    cases_on_scale,
    pallet_on_scale,
    pallets_on_scale,
    scale_windows,
)

T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
P1 = "3114257BF400EBA58A000000"
P2 = "3114257BF400EBA58B000000"
P3 = "3114257BF400EBA58C000000"
CASE = "3074257BF7194E4000001A85"
CASE_2 = "3074257BF7194E4000001A86"
CASE_3 = "3074257BF7194E4000001A87"


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


# (weight, at rest) every second from t=0; the indexes of readings that yield a weight
@pytest.mark.parametrize(
    ("readings", "weighed"),
    [
        # empty, a pallet rolls on and settles: one weight, dated at the first reading at rest
        ([(0, True), (300, False), (412.5, True), (412.5, True), (412.5, True)],
         {3: (412.5, 2)}),
        # at rest but not yet agreeing within a division: waits
        ([(0, True), (410, True), (412.5, True), (412.5, True)], {3: (412.5, 2)}),
        # a division apart still agrees
        ([(0, True), (412.5, True), (413.0, True)], {2: (413.0, 1)}),
        # dynamic in between: starts over
        ([(412.5, True), (420, False), (412.5, True), (412.5, True)], {3: (412.5, 2)}),
        # the same load at rest for a long time: weighed once
        ([(412.5, True)] * 8, {1: (412.5, 0)}),
        # unloaded and loaded again: two weights
        ([(412.5, True), (412.5, True), (0.5, True), (398, True), (398, True)],
         {1: (412.5, 0), 4: (398.0, 3)}),
        # swapped for another pallet without the platform emptying: a new load
        ([(412.5, True), (412.5, True), (600, False), (380, True), (380, True)],
         {1: (412.5, 0), 4: (380.0, 3)}),
        # noise on the same load (within min load) is not a new load
        ([(412.5, True), (412.5, True), (414, True), (414, True)], {1: (412.5, 0)}),
        # swapped for a pallet of nearly the same weight: the swing in between tells
        ([(412.5, True), (412.5, True), (430, False), (410.0, True), (410.0, True)],
         {1: (412.5, 0), 4: (410.0, 3)}),
        # the same pallet swinging (someone leans on it) and settling back: weighed once
        ([(412.5, True), (412.5, True), (430, False), (412.5, True), (412.5, True)],
         {1: (412.5, 0)}),
        # lighter than the least load: an empty platform, never a weight
        ([(3.0, True)] * 4, {}),
    ],
)  # fmt: skip
def test_one_weight_per_load_once_it_settles(readings, weighed):
    watch = LoadWatch("scale-1", min_load_kg=5.0, resolution_kg=0.5)
    got = {}
    for i, (kg, rest) in enumerate(readings):
        load = watch.reading(float(kg), rest, at(i))
        if load is not None:
            got[i] = (load.weight_kg, (load.time - T0).total_seconds())
            assert load.scale == "scale-1"
    assert got == weighed


def test_an_interruption_restarts_the_wait_but_never_weighs_a_load_twice():
    watch = LoadWatch("scale-1", min_load_kg=5.0, resolution_kg=0.5)
    assert watch.reading(412.5, True, at(0)) is None
    watch.interrupted()  # offline or overloaded between the two readings
    assert watch.reading(412.5, True, at(1)) is None
    assert watch.reading(412.5, True, at(2)) == StableLoad("scale-1", 412.5, at(1))
    watch.interrupted()
    assert [watch.reading(412.5, True, at(3 + i)) for i in range(3)] == [None] * 3


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        # the pallet under the antenna is heard strongest
        ([(10.5, P1, -45), (10.6, P2, -60), (11.0, P1, -44)], P1),
        # cases are never the pallet, however strong
        ([(10.5, CASE, -30), (10.6, P2, -60)], P2),
        # the pallet that was on the platform until just before is not this load's
        ([(9.0, P1, -40), (10.2, P2, -50), (11.0, P2, -49)], P2),
        # after the window: not counted
        ([(13.0, P1, -40), (10.2, P2, -55)], P2),
        # equal averages: heard more often wins
        ([(10.1, P1, -50), (10.2, P2, -50), (10.3, P2, -50)], P2),
        # the last pallet, standing close by, peaks once above the pallet on the platform
        # but is weaker on average
        (
            [
                (10.2, P1, -42),
                (10.4, P1, -55),
                (10.6, P1, -56),
                (10.3, P2, -47),
                (10.5, P2, -46),
                (10.7, P2, -48),
            ],
            P2,
        ),
        # nothing heard since the weight settled: the moments before count
        ([(9.7, P2, -50), (9.8, P1, -60)], P2),
        # no RSSI counts as weakest
        ([(10.1, P1, None), (10.2, P2, -70)], P2),
        # nothing heard: no pallet
        ([(10.1, CASE, -40)], None),
        ([], None),
    ],
)
def test_the_pallet_on_the_scale_is_the_sscc_heard_strongest_once_the_weight_settled(
    reads, expected
):
    log = ReadPointLog()
    for t, epc, rssi in reads:
        log.add(ScaleRead(at(t), epc, rssi))
    assert pallet_on_scale(log, at(10.0), before_s=0.5, after_s=2.0) == expected


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        # the pallet rolled off stays parked beside the scale and is heard as well as the
        # new one after; it was heard better before (it was on the platform): the new one
        ([(1.0, P1, -40), (4.0, P1, -41), (10.5, P1, -44), (11.0, P1, -44),
          (2.0, P2, -60), (5.0, P2, -61), (10.6, P2, -45), (11.1, P2, -45)], P2),
        # a pallet parked beside the scale the whole time, one tag a little stronger:
        # not the one that came on
        ([(1.0, P1, -43), (5.0, P1, -43), (10.5, P1, -43), (11.0, P1, -43),
          (10.6, P2, -45), (11.1, P2, -46)], P2),
        # a pallet set down beside the scale after the weight settled, heard stronger:
        # not the one on the platform (it was heard as the weight settled)
        ([(8.5, P1, -50), (9.5, P1, -49), (10.5, P1, -48), (11.5, P1, -48),
          (10.8, P2, -44), (11.6, P2, -44)], P1),
        # none rose (the new pallet waited right beside the scale): the strongest after
        ([(1.0, P1, -46), (5.0, P1, -46), (10.5, P1, -45), (1.0, P2, -50), (10.6, P2, -49)],
         P1),
    ],
)  # fmt: skip
def test_the_pallet_on_the_scale_is_one_heard_stronger_than_before_the_load_rolled_on(
    reads, expected
):
    log = ReadPointLog()
    for t, epc, rssi in reads:
        log.add(ScaleRead(at(t), epc, rssi))
    assert pallet_on_scale(log, at(10.0)) == expected


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        # two cases rolled on with the pallet (rose); one taken off and left beside the
        # scale is heard as before: not on the platform
        ([(1.0, CASE, -60), (5.0, CASE, -61), (9.5, CASE, -45), (10.5, CASE, -46),
          (10.6, CASE_2, -47),
          (1.0, CASE_3, -55), (5.0, CASE_3, -55), (9.8, CASE_3, -54), (11.0, CASE_3, -55)],
         (CASE, CASE_2)),
        # heard only before the load rolled on: not on the platform
        ([(2.0, CASE, -40), (5.0, CASE, -40)], ()),
        # pallets are not cases; heard after the window: too late
        ([(10.5, P1, -40), (12.5, CASE, -40)], ()),
    ],
)  # fmt: skip
def test_the_cases_on_the_scale_are_those_heard_stronger_than_before_the_load_rolled_on(
    reads, expected
):
    log = ReadPointLog()
    for t, epc, rssi in reads:
        log.add(ScaleRead(at(t), epc, rssi))
    assert cases_on_scale(log, at(10.0), after_s=2.0) == expected


def test_the_read_point_log_keeps_only_recent_reads():
    log = ReadPointLog(keep_s=5.0)
    for t in range(20):
        log.add(ScaleRead(at(t), P1, -50))
    assert [(r.time - T0).total_seconds() for r in log] == [14, 15, 16, 17, 18, 19]


def test_a_read_point_knows_how_long_its_reader_takes_to_read_a_tag_again():
    log = ReadPointLog()
    assert log.cycle_s() == 0.0
    for k in range(10):  # three tags read in turns, each every 4.5 s
        for i, epc in enumerate((P1, P2, CASE)):
            log.add(ScaleRead(at(k * 4.5 + i * 1.5), epc, -50))
    assert log.cycle_s() == pytest.approx(4.5)


def test_windows_that_span_a_turn_find_the_pallet_a_crowded_reader_reads_in_turns():
    # the pallet now on the platform (P1) is read in its turns at 6.5 s, rolling on, and
    # 12.5 s: neither within the default 3 s before the load settled at 10 s nor 2 s
    # after; a neighbour parked beside the scale (P2) is, and the default windows take it
    reads = [(1.0, P1, -60), (6.5, P1, -45), (12.5, P1, -44),
             (2.0, P2, -50), (8.5, P2, -50), (11.0, P2, -50), (14.5, P2, -50)]  # fmt: skip
    log = ReadPointLog()
    for t, epc, rssi in reads:
        log.add(ScaleRead(at(t), epc, rssi))
    assert pallet_on_scale(log, at(10.0)) == P2  # the default windows: the wrong one
    found = pallet_on_scale(log, at(10.0), after_s=6.0, earlier_s=(15.0, 7.0), settling_s=6.0)
    assert found == P1


def test_a_report_entry_counts_for_every_moment_from_its_first_read_to_its_last():
    # The load settled at 10 s. The pallet on the platform (P1) was in one report entry
    # heard from 8.6 s (as the load settled) to 12.4 s; a neighbour parked beside the
    # scale (P2) was in entries ending at 9 s and 12 s. Dated by its last read alone, P1
    # was not heard as the load settled and the neighbour was taken.
    log = ReadPointLog()
    log.add(ScaleRead(at(2.0), P1, -62, 2, first=at(1.0)))  # in packing, before
    log.add(ScaleRead(at(12.4), P1, -44, 4, first=at(8.6)))  # on the platform
    log.add(ScaleRead(at(9.0), P2, -58, 3, first=at(7.5)))
    log.add(ScaleRead(at(12.0), P2, -58, 2, first=at(10.5)))
    assert pallet_on_scale(log, at(10.0)) == P1
    # dated by the last read only, the same reads give the neighbour
    last_only = ReadPointLog()
    for r in log:
        last_only.add(ScaleRead(r.time, r.epc, r.rssi_dbm, r.count))
    assert pallet_on_scale(last_only, at(10.0)) == P2


def test_the_baseline_before_the_load_counts_only_entries_that_ended_before_it():
    # P1's entry ran from 5 s (beside the scale, weak) to 9.5 s (on the platform, its
    # peak): it must not count as heard strongly before the load rolled on, so P1 rose;
    # counted, P1 would not have risen and P2, parked right beside the scale and heard
    # a little stronger, would have been taken
    log = ReadPointLog()
    log.add(ScaleRead(at(3.0), P1, -60, 2, first=at(1.0)))
    log.add(ScaleRead(at(9.5), P1, -44, 20, first=at(5.0)))
    log.add(ScaleRead(at(11.0), P1, -44, 2, first=at(10.0)))
    log.add(ScaleRead(at(3.0), P2, -43, 2, first=at(1.0)))
    log.add(ScaleRead(at(11.0), P2, -43, 2, first=at(9.0)))
    assert pallet_on_scale(log, at(10.0)) == P1


@pytest.mark.parametrize(
    ("cycle_s", "after_s", "settling_s", "earlier_s"),
    [
        (0.0, 2.0, 3.0, (12.0, 4.0)),  # every tag read each round: the defaults
        (2.0, 3.0, 3.0, (12.0, 4.0)),  # a 2 s turn: 3 s after; the baseline stays 8 s
        (3.0, 4.5, 4.5, (14.5, 5.5)),  # 1.5 turns each side; the baseline as long
        (10.0, 6.0, 6.0, (19.0, 7.0)),  # at most 6 s each side, the baseline 12 s
    ],
)
def test_a_read_point_s_windows_widen_with_its_reader_s_turn(
    cycle_s, after_s, settling_s, earlier_s
):
    w = scale_windows(cycle_s, after_s=2.0, max_s=6.0)
    assert (w.after_s, w.settling_s) == pytest.approx((after_s, settling_s))
    assert w.earlier_s == pytest.approx(earlier_s)


def test_a_crowded_packing_area_s_standing_cases_never_come_onto_the_platform():
    # 200 cases stand around the scale, read once every 10 s each in turns (-60 dBm);
    # the pallet's 3 cases roll on at 8 s and settle at 10 s, heard at -45
    log = ReadPointLog(keep_s=60.0)
    standing = [f"3074257BF7194E40000{k:05X}" for k in range(200)]
    reads = [
        (phase + turn * 10.0, epc, -60)
        for k, epc in enumerate(standing)
        for phase in [k * 10.0 / 200 - 20.0]
        for turn in range(5)
    ] + [(t, c, -45) for t in (8.5, 11.0, 14.0) for c in (CASE, CASE_2, CASE_3)]
    for t, epc, rssi in sorted(reads):
        log.add(ScaleRead(at(t), epc, rssi))
    assert log.cycle_s() == pytest.approx(10.0)
    w = scale_windows(log.cycle_s(), after_s=2.0, max_s=6.0)
    found = cases_on_scale(log, at(10.0), w.after_s, w.earlier_s, w.settling_s)
    assert found == (CASE, CASE_2, CASE_3)
    # an 8 s baseline before 12 s after (the windows before) took standing cases for ones
    # that came on
    before = cases_on_scale(log, at(10.0), 6.0, (15.0, 7.0), 6.0)
    assert len(before) > 30


def _log(reads: list[tuple[float, float, str, float]]) -> ReadPointLog:
    """Entries (first read, last read, EPC, RSSI) in a read point's log."""
    log = ReadPointLog()
    for first, last, epc, rssi in sorted(reads, key=lambda r: r[1]):
        log.add(ScaleRead(at(last), epc, rssi, 2, at(first)))
    return log


def test_a_pallet_louder_over_the_next_scale_is_never_this_scale_s_weight():
    # Two scales side by side, each with an antenna over its platform (seed 108's run).
    # P2 was just weighed on scale 1 and is rolling off past scale 2, which hears it
    # rise; P1 rolled onto scale 2 and settled at 10 s, but the packing reader's turn
    # reached it only at 10.3 s. Scale 1's antenna hears P2 far louder all along.
    here = _log([(2.0, 2.0, P2, -69), (7.0, 9.0, P2, -58), (10.3, 12.0, P1, -45),
                 (12.3, 12.3, P2, -61)])  # fmt: skip
    scale_1 = _log([(2.0, 2.0, P2, -45), (7.0, 9.0, P2, -46), (12.3, 12.3, P2, -59),
                    (10.3, 12.0, P1, -68)])  # fmt: skip
    assert pallet_on_scale(here, at(10.0), after_s=3.0) == P2  # alone: the wrong one
    assert pallet_on_scale(here, at(10.0), after_s=3.0, elsewhere=[scale_1]) == P1
    # P2 the only pallet heard: rather none than the other platform's
    only_p2 = _log([(2.0, 2.0, P2, -69), (7.0, 9.0, P2, -58), (12.3, 12.3, P2, -61)])
    assert pallet_on_scale(only_p2, at(10.0), after_s=3.0, elsewhere=[scale_1]) is None
    # a read point elsewhere that does not hear it changes nothing
    assert pallet_on_scale(only_p2, at(10.0), after_s=3.0, elsewhere=[_log([])]) == P2


def test_cases_louder_over_the_next_scale_did_not_come_onto_this_one():
    # CASE came onto this platform; CASE_2 rolled onto the scale beside it, which this
    # antenna also hears rise, but weaker than that scale's antenna does
    here = _log([(9.5, 10.5, CASE, -46), (9.5, 10.5, CASE_2, -57)])
    beside = _log([(9.5, 10.5, CASE, -66), (9.5, 10.5, CASE_2, -47)])
    assert cases_on_scale(here, at(10.0)) == (CASE, CASE_2)
    assert cases_on_scale(here, at(10.0), elsewhere=[beside]) == (CASE,)


def test_a_read_point_gives_the_entries_heard_within_a_span_in_one_pass():
    log = _log([(0.0, 1.0, P1, -50), (3.0, 5.5, P2, -50), (6.0, 6.0, CASE, -50),
                (9.0, 12.0, CASE_2, -50)])  # fmt: skip
    pallets, cases = log.pallets_and_cases_around(at(5.0), at(9.5))
    assert [r.epc for r in pallets + cases] == [P2, CASE, CASE_2]
    assert log.pallets_and_cases_around(at(1.5), at(2.5)) == ([], [])
    pallets, cases = log.pallets_and_cases_around(at(0.5), at(9.5))
    assert ([r.epc for r in pallets], [r.epc for r in cases]) == ([P1, P2], [CASE, CASE_2])
    log.add(ScaleRead(at(12.5), "E2801160600002054E5A1234", -50))  # not GS1: neither
    assert log.pallets_and_cases_around(at(12.2), at(13.0)) == ([], [])


def test_pallets_on_scale_name_the_one_that_rose_first_then_the_others_heard():
    # P1 rolled on and settled at 10 s (heard rising); P2 is parked at the platform's
    # edge, heard as well as before but louder than P1 (the rise picks P1); P3 was set
    # down nearby only after the weight settled.
    log = _log([(2.0, 6.0, P2, -50), (8.0, 12.0, P1, -55), (8.0, 12.0, P2, -50),
                (10.5, 12.0, P3, -60)])  # fmt: skip
    assert pallets_on_scale(log, at(10.0), after_s=2.0) == (P1, P2, P3)
    assert pallet_on_scale(log, at(10.0), after_s=2.0) == P1
    # nothing heard after the weight settled: the ones heard just before it, strongest first
    before = _log([(9.6, 9.8, P2, -50), (9.7, 9.9, P1, -45)])
    assert pallets_on_scale(before, at(10.0), before_s=0.5, after_s=2.0) == (P1, P2)
    assert pallets_on_scale(_log([]), at(10.0)) == ()
