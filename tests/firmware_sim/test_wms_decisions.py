"""The simulated ERP's and workers' decisions, pure: what to order, which tasks to take,
which tasks go wrong (by seed)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from firmware_sim.wms.mistakes import MistakeDice
from firmware_sim.wms.order_lines import (
    Cut,
    OrderLine,
    StockPallet,
    plan_order,
    stock_pallet,
    whole_pallet_cuts,
)
from firmware_sim.wms.tasks import Task, TaskBook, parse_task, tasks_to_take

D1, D2, D3 = date(2025, 3, 1), date(2025, 6, 1), date(2025, 9, 1)
A, B = "00614141123452", "00614141123469"


def pallet(n: int, sku: str, expiry: date | None, cases: int) -> StockPallet:
    return StockPallet(f"{n:018d}", sku, expiry, cases)


# -- whole pallets FEFO fills ------------------------------------------------------------


@pytest.mark.parametrize(
    ("pallets", "cuts"),
    [
        ([], []),
        # one expiry, different case counts: only all of them
        ([pallet(1, A, D1, 10), pallet(2, A, D1, 12)], [Cut(2, 22)]),
        # one expiry, same case counts: any number of them
        ([pallet(1, A, D1, 10), pallet(2, A, D1, 10)], [Cut(1, 10), Cut(2, 20)]),
        # the earliest expiry group first, whatever the list's order
        (
            [pallet(1, A, D2, 8), pallet(2, A, D1, 12), pallet(3, A, D2, 9)],
            [Cut(1, 12), Cut(3, 29)],
        ),
        # no expiry comes last
        ([pallet(1, A, None, 5), pallet(2, A, D3, 7)], [Cut(1, 7), Cut(2, 12)]),
        (
            [pallet(1, A, D1, 6), pallet(2, A, D1, 6), pallet(3, A, D2, 4), pallet(4, A, D2, 5)],
            [Cut(1, 6), Cut(2, 12), Cut(4, 21)],
        ),
    ],
)
def test_whole_pallet_cuts_are_the_quantities_fefo_fills_with_whole_pallets(pallets, cuts):
    assert whole_pallet_cuts(pallets) == cuts


@pytest.mark.parametrize(
    ("wanted", "sku", "lines"),
    [
        (1, A, [OrderLine(A, 12, 1)]),
        (2, A, [OrderLine(A, 12, 1)]),  # the next cut of A takes 3 pallets
        (3, A, [OrderLine(A, 29, 3)]),
        (9, A, [OrderLine(A, 29, 3)]),  # all there is
        (1, B, [OrderLine(B, 20, 2)]),  # B's pallets differ: both or none; none fit, fewest
        (5, "00614141999993", []),  # nothing of that item
    ],
)
def test_plan_order_takes_the_most_whole_pallets_that_fit_of_an_item(wanted, sku, lines):
    stock = [
        pallet(1, A, D2, 8),
        pallet(2, A, D1, 12),
        pallet(3, A, D2, 9),
        pallet(4, B, D1, 9),
        pallet(5, B, D1, 11),
    ]
    assert plan_order(stock, wanted, random.Random(1), sku) == lines


def test_plan_order_of_any_item_fills_the_wanted_pallets_across_items_in_rng_order():
    stock = [pallet(1, A, D1, 10), pallet(2, A, D1, 10), pallet(3, B, D1, 8)]
    for seed in range(20):
        lines = plan_order(stock, 3, random.Random(seed))
        assert sorted(lines, key=lambda x: x.sku) == [OrderLine(A, 20, 2), OrderLine(B, 8, 1)]
    two = {tuple(plan_order(stock, 2, random.Random(seed))) for seed in range(20)}
    assert two == {(OrderLine(A, 20, 2),), (OrderLine(B, 8, 1), OrderLine(A, 10, 1))}
    assert plan_order([], 2, random.Random(1)) == []


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"sscc": "1", "sku": A, "expiry": "2025-03-01", "zone": "zone-a", "state": "available",
             "cases": 12},
            StockPallet("1", A, D1, 12),
        ),
        (
            {"sscc": "1", "sku": A, "expiry": None, "zone": "zone-b", "state": "available",
             "cases": 3},
            StockPallet("1", A, None, 3),
        ),
        ({"sscc": "1", "sku": A, "zone": "zone-a", "state": "reserved", "cases": 12}, None),
        ({"sscc": "1", "sku": A, "zone": "door-1", "state": "available", "cases": 12}, None),
        ({"sscc": "1", "sku": A, "zone": "packing", "state": "available", "cases": 12}, None),
        ({"sscc": "1", "sku": A, "zone": "zone-a", "state": "available", "cases": 0}, None),
    ],
)  # fmt: skip
def test_only_available_pallets_in_storage_zones_are_ordered_from(item, expected):
    assert stock_pallet(item, ["zone-a", "zone-b", "zone-c"]) == expected


# -- which tasks to take -----------------------------------------------------------------

PICK = Task("pick-1", "pick", "packing", "EPC1", "SO-1")
SHIP = Task("ship-1", "ship", "door-2", None, "SO-1", ("EPC1",))
PUT = Task("putaway-1", "putaway", "zone-a", "EPC2")


@pytest.mark.parametrize(
    ("book", "polled_at", "taken"),
    [
        (TaskBook(), 10.0, [(PUT, False), (PICK, False), (SHIP, False)]),
        (TaskBook(in_hand={"pick-1"}), 10.0, [(PUT, False), (SHIP, False)]),
        (TaskBook(refused={"ship-1", "putaway-1"}), 10.0, [(PICK, False)]),
        # reported done, still listed by a list asked for before the report was answered
        (TaskBook(reported={"pick-1": 10.5}), 10.0, [(PUT, False), (SHIP, False)]),
        # reported done, listed open by a later list: reopened, taken again
        (TaskBook(reported={"pick-1": 9.0}), 10.0, [(PUT, False), (PICK, True), (SHIP, False)]),
        # in hand again after being reopened: not twice
        (
            TaskBook(in_hand={"pick-1"}, reported={"pick-1": 9.0}),
            10.0,
            [(PUT, False), (SHIP, False)],
        ),
    ],
)
def test_the_workers_take_each_open_task_once_and_a_reopened_one_again(book, polled_at, taken):
    assert tasks_to_take([PUT, PICK, SHIP], book, polled_at) == taken


def test_tasks_are_read_as_the_api_lists_them():
    assert parse_task(
        {"id": "ship-3", "kind": "ship", "status": "open", "order": "SO-000040", "pallet": None,
         "pallet_epc": None, "from_location": "packing", "to_location": "door-1",
         "pallets": [{"sscc": "1", "epc": "E1", "shipped": False},
                     {"sscc": "2", "epc": None, "shipped": False}]}
    ) == Task("ship-3", "ship", "door-1", None, "SO-000040", ("E1",))  # fmt: skip
    assert parse_task(
        {"id": "putaway-9", "kind": "putaway", "pallet_epc": "E9", "to_location": "zone-b",
         "order": None, "pallets": []}
    ) == Task("putaway-9", "putaway", "zone-b", "E9")  # fmt: skip
    assert parse_task({"id": "count-1", "kind": "count", "to_location": "zone-a"}) is None


# -- mistakes by seed --------------------------------------------------------------------

TASKS = [(f"{kind}-{n}", kind) for n in range(1, 401) for kind in ("putaway", "pick", "ship")]


def test_no_mistakes_at_rate_0_and_every_task_that_can_go_wrong_does_at_rate_1():
    assert {MistakeDice(0.0).draw(t, k) for t, k in TASKS} == {None}
    always = MistakeDice(1.0)
    assert {always.draw(t, "pick") for t, k in TASKS if k == "pick"} == {
        "wrong_pallet",
        "missing_case",
    }
    assert {always.draw(t, "ship") for t, k in TASKS if k == "ship"} == {"wrong_door"}
    assert {always.draw(t, "putaway") for t, k in TASKS if k == "putaway"} == {None}


@pytest.mark.parametrize(
    ("kinds", "pick", "ship"),
    [
        ({"wrong_pallet"}, {"wrong_pallet"}, {None}),
        ({"missing_case"}, {"missing_case"}, {None}),
        ({"wrong_door"}, {None}, {"wrong_door"}),
        ({"wrong_door", "missing_case"}, {"missing_case"}, {"wrong_door"}),
    ],
)
def test_only_the_kinds_switched_on_are_made(kinds, pick, ship):
    dice = MistakeDice.of(1.0, kinds, seed=5)
    assert {dice.draw(t, "pick") for t, k in TASKS if k == "pick"} == pick
    assert {dice.draw(t, "ship") for t, k in TASKS if k == "ship"} == ship


def test_a_rate_is_the_share_of_tasks_that_go_wrong_and_the_seed_alone_decides_which():
    dice = MistakeDice(0.2, seed=7)
    picks = [t for t, k in TASKS if k == "pick"]
    wrong = [t for t in picks if dice.draw(t, "pick") is not None]
    assert 0.14 < len(wrong) / len(picks) < 0.26
    kinds = [dice.draw(t, "pick") for t in wrong]
    assert 0.3 < kinds.count("wrong_pallet") / len(kinds) < 0.7
    # the same seed: the same tasks, in whatever order they are drawn
    again = MistakeDice(0.2, seed=7)
    assert [again.draw(t, "pick") for t in reversed(picks)][::-1] == [
        dice.draw(t, "pick") for t in picks
    ]
    other = [t for t in picks if MistakeDice(0.2, seed=8).draw(t, "pick") is not None]
    assert other != wrong


def test_a_rate_outside_0_to_1_is_refused_by_name():
    with pytest.raises(ValueError, match=r"mistake_rate: 1\.5"):
        MistakeDice.of(1.5, ["wrong_door"], 1)
