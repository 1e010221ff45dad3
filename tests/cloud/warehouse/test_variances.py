"""The cycle count's decisions: zones counted only with every reader up, what
disagrees, how long before a variance opens, when an open one clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud.warehouse.variances import (
    BookedPallet,
    CountRules,
    CycleCount,
    Discrepancy,
    HeardPallet,
    OpenVariance,
    ReaderState,
    VarianceError,
    VarianceKind,
    VarianceStatus,
    ZoneCount,
    decide,
    discrepancies,
    zone_counts,
)

T = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
RULES = CountRules(timedelta(seconds=60), timedelta(seconds=30))
ZONES = {"zone-a": ["r-a"], "zone-b": ["r-b1", "r-b2"], "zone-c": []}
UP = {z: ZoneCount(z, True) for z in ("zone-a", "zone-b")}
M, U, W = VarianceKind.MISSING, VarianceKind.UNEXPECTED, VarianceKind.WRONG_ZONE


def reader(rid: str, state: str = "inventorying", ago: float = 1.0) -> ReaderState:
    return ReaderState(rid, state, T - timedelta(seconds=ago))


@pytest.mark.parametrize(
    ("readers", "counted"),
    [
        ([reader("r-a"), reader("r-b1"), reader("r-b2")], {"zone-a", "zone-b"}),
        ([reader("r-a"), reader("r-b1")], {"zone-a"}),  # r-b2 never reported: unknown
        ([reader("r-a", "disconnected"), reader("r-b1"), reader("r-b2")], {"zone-b"}),
        ([reader("r-a", ago=31), reader("r-b1", "connected"), reader("r-b2")], {"zone-b"}),
        ([], set()),
    ],
    ids=["all up", "one of two unknown", "reader down", "report too old", "nothing heard"],
)
def test_a_zone_is_counted_only_while_every_reader_of_it_is_up(readers, counted):
    counts = zone_counts(ZONES, readers, T, RULES)
    assert {z for z, c in counts.items() if c.counted} == counted
    assert counts["zone-c"].status == "not counted: the zone has no reader"


def test_a_zone_not_counted_says_which_readers_are_down():
    counts = zone_counts(ZONES, [reader("r-a"), reader("r-b1", "disconnected")], T, RULES)
    assert counts["zone-a"].status == "counted"
    assert counts["zone-b"].down == ("r-b1", "r-b2")
    assert counts["zone-b"].status == "not counted: reader r-b1, r-b2 down or unknown"


def b(epc: str, where: str) -> BookedPallet:
    return BookedPallet(epc, "sscc-" + epc, where)


def h(epc: str, state: str = "present", zone: str | None = None) -> HeardPallet:
    return HeardPallet(epc, state, zone)


DOWN_B = {"zone-a": ZoneCount("zone-a", True), "zone-b": ZoneCount("zone-b", False, ("r-b1",))}


@pytest.mark.parametrize(
    ("booked", "heard", "zones", "found"),
    [
        ([b("P1", "zone-a")], [h("P1", zone="zone-a")], UP, []),
        ([b("P1", "zone-a")], [h("P1", "departed")], UP, [(M, "zone-a", "zone-a", None)]),
        ([b("P1", "zone-a")], [], UP, [(M, "zone-a", "zone-a", None)]),
        ([], [h("P1", zone="zone-b")], UP, [(U, "zone-b", None, "zone-b")]),
        ([b("P1", "zone-a")], [h("P1", zone="zone-b")], UP, [(W, "zone-b", "zone-a", "zone-b")]),
        ([b("P1", "door-1")], [h("P1", zone="zone-b")], UP, [(W, "zone-b", "door-1", "zone-b")]),
        # a zone whose reader is down is never counted as empty, nor as holding anything
        ([b("P1", "zone-b")], [h("P1", "departed")], DOWN_B, []),
        ([], [h("P1", zone="zone-b")], DOWN_B, []),
        ([b("P1", "zone-b")], [h("P1", zone="zone-a")], DOWN_B, []),
        ([b("P1", "zone-a")], [h("P1", zone="zone-b")], DOWN_B, []),
        # unknown: the edge has not heard it since its zone's readers were out
        ([b("P1", "zone-a")], [h("P1", "unknown", "zone-a")], UP, []),
        # a zone the count does not cover (packing, staging): no variance
        ([], [h("P1", zone="packing")], UP, []),
        ([b("P1", "packing")], [h("P1", "departed")], UP, []),
        ([b("P1", "zone-a")], [h("P1", "shipped")], UP, [(M, "zone-a", "zone-a", None)]),
    ],
    ids=[
        "agree",
        "departed",
        "never heard",
        "unexpected",
        "wrong zone",
        "heard in a zone, booked at a door",
        "missing in a zone down",
        "unexpected in a zone down",
        "booked in a zone down",
        "heard in a zone down",
        "unknown",
        "heard in packing",
        "booked in packing",
        "shipped yet booked",
    ],
)
def test_what_disagrees(booked, heard, zones, found):
    got = discrepancies(booked, heard, zones)
    assert [(d.kind, d.zone, d.book_zone, d.heard_zone) for d in got] == found


def test_pallets_left_out_are_not_judged():
    got = discrepancies(
        [b("P1", "zone-a"), b("P2", "zone-a")],
        [h("P1", zone="packing"), h("P2", "departed"), h("P3", zone="zone-b")],
        UP,
        ignore={"P2", "P3"},
    )
    assert got == []


def test_a_variance_opens_only_after_the_disagreement_lasts_the_threshold():
    count = CycleCount(RULES)
    booked, heard = [b("P1", "zone-a")], [h("P1", "departed")]

    def look(at: float, opened=()):
        return count.judge(
            zones=UP,
            booked=booked,
            heard=heard,
            open_variances=opened,
            now=T + timedelta(seconds=at),
        )

    assert look(0).to_open == []
    assert look(59).to_open == []
    v = look(60)
    assert [(d.epc, d.kind) for d in v.to_open] == [("P1", M)]
    count.opened(v.to_open)
    # written: not opened again while it lasts, even once decided
    assert look(61, [OpenVariance(1, "P1", M, "zone-a", "zone-a", None)]).to_open == []
    assert look(62).to_open == []


def test_the_clock_starts_again_when_the_disagreement_stops_or_the_zone_goes_uncounted():
    count = CycleCount(RULES)
    booked = [b("P1", "zone-a")]
    gone, back = [h("P1", "departed")], [h("P1", zone="zone-a")]
    down = {"zone-a": ZoneCount("zone-a", False, ("r-a",))}
    steps = [(0, UP, gone), (40, UP, back), (50, UP, gone), (90, down, gone), (100, UP, gone)]
    for at, zones, heard in steps:
        v = count.judge(
            zones=zones,
            booked=booked,
            heard=heard,
            open_variances=(),
            now=T + timedelta(seconds=at),
        )
        assert v.to_open == []
    v = count.judge(
        zones=UP, booked=booked, heard=gone, open_variances=(), now=T + timedelta(seconds=160)
    )
    assert [d.kind for d in v.to_open] == [M]


@pytest.mark.parametrize(
    ("zones", "heard", "cleared"),
    [
        (UP, [h("P1", zone="zone-a")], [7]),  # heard again where booked
        (UP, [h("P1", "departed")], []),  # still missing
        (DOWN_B, [h("P1", zone="zone-a")], [7]),
        ({"zone-a": ZoneCount("zone-a", False, ("r-a",))}, [h("P1", zone="zone-a")], []),
    ],
    ids=["back", "still gone", "another zone down", "its zone down: says nothing"],
)
def test_an_open_variance_clears_when_the_disagreement_ends_in_counted_zones(zones, heard, cleared):
    v = CycleCount(RULES).judge(
        zones=zones,
        booked=[b("P1", "zone-a")],
        heard=heard,
        open_variances=[OpenVariance(7, "P1", M, "zone-a", "zone-a", None)],
        now=T,
    )
    assert v.to_clear == cleared


def test_a_pallet_with_an_open_variance_gets_no_second_one():
    count = CycleCount(RULES)
    kw = dict(zones=UP, booked=[b("P1", "zone-a")], heard=[h("P1", zone="zone-b")])
    count.judge(**kw, open_variances=(), now=T)
    opened = [OpenVariance(3, "P1", M, "zone-a", "zone-a", None)]
    v = count.judge(**kw, open_variances=opened, now=T + timedelta(minutes=5))
    assert v.to_open == [] and v.to_clear == [3]  # the missing one is over: it is elsewhere
    v = count.judge(**kw, open_variances=(), now=T + timedelta(minutes=5))
    assert v.to_open == [Discrepancy("P1", W, "zone-b", "sscc-P1", "zone-a", "zone-b")]


@pytest.mark.parametrize(
    ("status", "to", "ok"),
    [
        (VarianceStatus.OPEN, VarianceStatus.APPROVED, True),
        (VarianceStatus.OPEN, VarianceStatus.REJECTED, True),
        (VarianceStatus.OPEN, VarianceStatus.CLEARED, True),
        (VarianceStatus.APPROVED, VarianceStatus.REJECTED, False),
        (VarianceStatus.CLEARED, VarianceStatus.APPROVED, False),
        (VarianceStatus.REJECTED, VarianceStatus.REJECTED, False),
        (VarianceStatus.OPEN, VarianceStatus.OPEN, False),
    ],
)
def test_only_an_open_variance_is_decided(status, to, ok):
    if ok:
        assert decide(4, status, to) is to
    else:
        with pytest.raises(VarianceError, match="variance 4"):
            decide(4, status, to)


def test_an_open_variance_of_a_pallet_left_out_since_stays_open():
    v = CycleCount(RULES).judge(
        zones=UP,
        booked=[b("P1", "zone-a")],
        heard=[h("P1", "departed")],
        open_variances=[OpenVariance(7, "P1", M, "zone-a", "zone-a", None)],
        now=T,
        ignore={"P1"},  # on a put-away task since
    )
    assert v.to_clear == [] and v.to_open == []


def test_a_pallet_heard_moving_on_to_a_third_zone_is_a_new_disagreement():
    count = CycleCount(RULES)
    booked = [b("P1", "zone-a")]
    first = OpenVariance(5, "P1", W, "zone-b", "zone-a", "zone-b")
    v = count.judge(
        zones={**UP, "zone-c": ZoneCount("zone-c", True)},
        booked=booked,
        heard=[h("P1", zone="zone-c")],
        open_variances=[first],
        now=T,
    )
    assert v.to_clear == [5] and v.to_open == []  # approving 5 would move it to zone-b
    v = count.judge(
        zones={**UP, "zone-c": ZoneCount("zone-c", True)},
        booked=booked,
        heard=[h("P1", zone="zone-c")],
        open_variances=[],
        now=T + timedelta(seconds=60),
    )
    assert v.to_open == [Discrepancy("P1", W, "zone-c", "sscc-P1", "zone-a", "zone-c")]


def test_a_zone_in_which_the_edge_has_pallets_unknown_is_not_counted():
    # a reader silent with its connection up still reports `inventorying`
    readers = [reader("r-a"), reader("r-b1"), reader("r-b2")]
    heard = [h("P1", "unknown", "zone-b"), h("P2", "unknown", "zone-b"), h("P3", zone="zone-a")]
    counts = zone_counts(ZONES, readers, T, RULES, heard)
    assert counts["zone-a"].counted and not counts["zone-b"].counted
    assert (
        counts["zone-b"].status == "not counted: the edge has 2 pallets unknown in it (readers out)"
    )
