"""Pick routes over the floor plan: nearest neighbour + 2-opt against the naive order."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.warehouse.pick_route import (
    Point,
    Stop,
    nearest_neighbour,
    place_points,
    plan_route,
    route_length,
    two_opt,
)
from protocols.layout import load_layout

ORIGIN = Point(0, 0)


def stop(id: str, x: float, y: float = 0) -> Stop:
    return Stop(id, Point(x, y))


def ids(stops) -> list[str]:
    return [s.id for s in stops]


CASES = [
    (
        "stops on a line are walked out and back in order",
        [stop("c", 30), stop("a", 10), stop("d", 40), stop("b", 20)],
        ORIGIN,
        None,
        ["a", "b", "c", "d"],
        80.0,
        120.0,
    ),
    (
        "an end elsewhere makes the far side last",
        [stop("far", 50), stop("near", 5)],
        ORIGIN,
        Point(60, 0),
        ["near", "far"],
        60.0,
        150.0,
    ),
    ("no stops: the walk from start to end", [], ORIGIN, Point(3, 4), [], 7.0, 7.0),
    ("one stop", [stop("a", 2, 3)], ORIGIN, None, ["a"], 10.0, 10.0),
    (
        "a naive order already best is kept",
        [stop("a", 10), stop("b", 20)],
        ORIGIN,
        None,
        ["a", "b"],
        40.0,
        40.0,
    ),
    (
        "a square is walked round, not across",
        [stop("ne", 10, 10), stop("sw", 0, 10), stop("se", 10, 0)],
        ORIGIN,
        None,
        ["sw", "ne", "se"],
        40.0,
        60.0,
    ),
]


@pytest.mark.parametrize(
    ("stops", "start", "end", "order", "length", "naive"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_plan_route(stops, start, end, order, length, naive):
    r = plan_route(stops, start=start, end=end)
    assert ids(r.stops) in (order, order[::-1] if end is None else order)
    assert (r.length, r.naive_length) == (pytest.approx(length), pytest.approx(naive))


def test_the_saving_is_the_share_of_the_naive_walk():
    r = plan_route([stop("c", 30), stop("a", 10), stop("d", 40), stop("b", 20)], start=ORIGIN)
    assert r.saving == pytest.approx(1 - 80 / 120)
    assert plan_route([], start=ORIGIN).saving == 0.0


def test_nearest_neighbour_takes_the_closest_next_stop_and_breaks_ties_by_list_order():
    stops = [stop("b", -5), stop("a", 5), stop("c", 7)]
    assert ids(nearest_neighbour(ORIGIN, stops)) == ["b", "a", "c"]


def test_two_opt_undoes_a_crossing():
    crossed = [stop("a", 0, 10), stop("c", 10, 0), stop("b", 10, 10)]
    better = two_opt(ORIGIN, crossed, ORIGIN)
    assert route_length(ORIGIN, better, ORIGIN) < route_length(ORIGIN, crossed, ORIGIN)


def test_a_route_over_the_demo_floor_plan():
    points = place_points(load_layout(None))
    assert points["zone-a"] == Point(14, 25) and points["door-1"] == Point(10, 1)
    stops = [Stop(z, points[z]) for z in ("zone-c", "zone-a", "door-4", "zone-b")]
    r = plan_route(stops, start=points["packing"])
    assert r.length < r.naive_length
    assert sorted(ids(r.stops)) == sorted(ids(stops))
    assert r.length == pytest.approx(route_length(points["packing"], r.stops, points["packing"]))


coords = st.integers(0, 80).map(float)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(coords, coords), max_size=14),
    st.tuples(coords, coords),
    st.none() | st.tuples(coords, coords),
)
def test_a_route_visits_every_stop_once_and_is_never_longer_than_the_naive_order(pts, s, e):
    stops = [Stop(f"s{i}", Point(x, y)) for i, (x, y) in enumerate(pts)]
    start, end = Point(*s), (Point(*e) if e is not None else None)
    r = plan_route(stops, start=start, end=end)
    assert sorted(ids(r.stops)) == sorted(ids(stops))
    assert len(r.stops) == len(stops)
    finish = end or start
    assert r.length == route_length(start, r.stops, finish)
    assert r.naive_length == route_length(start, stops, finish)
    assert r.length <= r.naive_length


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(coords, coords), max_size=3), st.tuples(coords, coords))
def test_up_to_three_stops_the_route_is_the_shortest_possible(pts, s):
    """With three stops every order is one reversal from any other, so 2-opt finds
    the best; beyond that it is a heuristic (its figures are in docs/warehouse.md)."""
    stops = [Stop(f"s{i}", Point(x, y)) for i, (x, y) in enumerate(pts)]
    start = Point(*s)
    best = min(route_length(start, p, start) for p in itertools.permutations(stops))
    assert plan_route(stops, start=start).length == pytest.approx(best)
