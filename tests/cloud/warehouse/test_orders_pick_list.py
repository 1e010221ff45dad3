"""Pick lists from an order's reservations: one task per pallet, in a short walking
order from packing and back, with the naive walk's length beside it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.warehouse.ledger import Bucket, Position, StockState
from cloud.warehouse.pick_list import (
    PickListError,
    Reserved,
    packing_zone,
    pick_list,
    ship_door,
)
from cloud.warehouse.pick_route import place_points
from protocols.epc.gs1 import with_check_digit
from protocols.layout import load_layout

LAYOUT = load_layout(None)
POINTS = place_points(LAYOUT)
A = "00614141123452"
B = "00614141000012"


def sscc(n: int) -> str:
    return with_check_digit(f"106141410{n:08d}")


def res(line: int, zone: str, pallet: int | None, qty: int, item: str = A) -> Reserved:
    b = Bucket("dc-1", item, "L1", zone, StockState.RESERVED)
    return Reserved(line, Position(b, sscc(pallet) if pallet is not None else None), qty)


def test_one_task_per_pallet_with_every_line_it_serves():
    pl = pick_list(
        [res(1, "zone-a", 1, 10), res(1, "zone-a", 2, 3), res(2, "zone-a", 1, 2, item=A)],
        points=POINTS,
        to_location="packing",
    )
    by_pallet = {t.pallet: t for t in pl.tasks}
    assert set(by_pallet) == {sscc(1), sscc(2)}
    assert by_pallet[sscc(1)].qty == 12 and [r.line for r in by_pallet[sscc(1)].lines] == [1, 2]
    assert all(t.from_location == "zone-a" and t.to_location == "packing" for t in pl.tasks)
    assert [t.seq for t in pl.tasks] == [1, 2]


def test_loose_cases_are_a_task_of_their_own_per_place_and_lot():
    pl = pick_list(
        [res(1, "zone-b", None, 3), res(2, "zone-b", None, 2, item=B)],
        points=POINTS,
        to_location="packing",
    )
    assert [(t.pallet, t.qty) for t in pl.tasks] == [(None, 3), (None, 2)]


def test_the_route_is_shorter_than_the_naive_order_and_both_are_kept():
    # naive order zigzags c, a, c, a; the route visits a, a, c, c (or the reverse)
    reservations = [
        res(1, "zone-c", 1, 5),
        res(2, "zone-a", 2, 5),
        res(3, "zone-c", 3, 5),
        res(4, "zone-a", 4, 5),
    ]
    pl = pick_list(reservations, points=POINTS, to_location="packing")
    zones = [t.from_location for t in pl.tasks]
    assert zones in (
        ["zone-a", "zone-a", "zone-c", "zone-c"],
        ["zone-c", "zone-c", "zone-a", "zone-a"],
    )
    # packing (19, 44) -> zone-c (62, 25) is 43 + 19 = 62 m; zone-a (14, 25) is 5 + 19 = 24 m;
    # a <-> c is 48 m. Route: 24 + 0 + 48 + 0 + 62 = 134; naive: 62+48+48+48+24 = 230
    assert (pl.route_m, pl.naive_route_m) == (134.0, 230.0)
    assert pl.saving == pytest.approx(1 - 134 / 230)


def test_an_empty_list_walks_nowhere():
    pl = pick_list([], points=POINTS, to_location="packing")
    assert (pl.tasks, pl.route_m, pl.naive_route_m, pl.saving) == ((), 0.0, 0.0, 0.0)


def test_a_place_not_on_the_floor_plan_is_refused():
    with pytest.raises(PickListError, match="location: 'zone-x' is not a place"):
        pick_list([res(1, "zone-x", 1, 2)], points=POINTS, to_location="packing")
    with pytest.raises(PickListError, match="to_location: 'nowhere'"):
        pick_list([res(1, "zone-a", 1, 2)], points=POINTS, to_location="nowhere")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["zone-a", "zone-b", "zone-c", "staging", "door-2"]), st.integers(1, 30)
        ),
        max_size=12,
    )
)
def test_every_reserved_case_is_on_exactly_one_task_and_the_route_never_loses(places):
    reservations = [res(i + 1, zone, i, 1 + i % 3) for i, (zone, _) in enumerate(places)]
    pl = pick_list(reservations, points=POINTS, to_location="packing")
    on_tasks = sorted((r for t in pl.tasks for r in t.lines), key=lambda r: r.line)
    assert on_tasks == reservations
    assert pl.route_m <= pl.naive_route_m + 1e-9
    assert [t.seq for t in pl.tasks] == list(range(1, len(pl.tasks) + 1))


def test_packing_zone_and_ship_door_of_the_demo_layout():
    assert packing_zone(LAYOUT) == "packing"
    # packing's centre is (19, 44): door-1 (10, 1) is 52 m away, door-2 (28, 1) 52 m: the first
    assert ship_door(LAYOUT) == "door-1"
    assert ship_door(LAYOUT, configured="door-3") == "door-3"
    with pytest.raises(PickListError, match="ship_door: 'door-9'"):
        ship_door(LAYOUT, configured="door-9")
