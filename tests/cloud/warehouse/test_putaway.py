"""The put-away suggestion: the zone holding the item, else the emptiest storage zone."""

from __future__ import annotations

import pytest

from cloud.warehouse.putaway import (
    PutawayError,
    Rule,
    StockAt,
    back_to_storage,
    storage_zones,
    suggest_zone,
)
from protocols.layout import load_layout

A = "00614141123452"
B = "00614141000012"
ZONES = ["zone-a", "zone-b", "zone-c"]


def pallet(n: int) -> str:
    return f"1061414100000{n:04d}0"[:18]


# (case, stock, item, zone, rule)
CASES = [
    ("empty warehouse: the first storage zone", [], A, "zone-a", Rule.EMPTIEST),
    (
        "the zone holding the item",
        [StockAt("zone-a", B, pallet(1), 10), StockAt("zone-c", A, pallet(2), 10)],
        A,
        "zone-c",
        Rule.SAME_ITEM,
    ),
    (
        "of two zones holding it, the one holding more of it",
        [
            StockAt("zone-a", A, pallet(1), 4),
            StockAt("zone-b", A, pallet(2), 12),
            StockAt("zone-b", B, pallet(3), 12),
        ],
        A,
        "zone-b",
        Rule.SAME_ITEM,
    ),
    (
        "the same amount of it in two: the emptier",
        [
            StockAt("zone-a", A, pallet(1), 8),
            StockAt("zone-a", B, pallet(2), 8),
            StockAt("zone-b", A, pallet(3), 8),
        ],
        A,
        "zone-b",
        Rule.SAME_ITEM,
    ),
    (
        "nobody holds it: the zone of fewest pallets",
        [
            StockAt("zone-a", B, pallet(1), 1),
            StockAt("zone-a", B, pallet(5), 1),
            StockAt("zone-b", B, pallet(2), 30),
            StockAt("zone-c", B, pallet(3), 1),
            StockAt("zone-c", B, pallet(4), 1),
        ],
        A,
        "zone-b",
        Rule.EMPTIEST,
    ),
    (
        "stock outside storage zones does not count",
        [StockAt("packing", A, pallet(1), 10), StockAt("zone-a", B, pallet(2), 10)],
        A,
        "zone-b",
        Rule.EMPTIEST,
    ),
    (
        "the pallet itself does not count",
        [StockAt("zone-c", A, pallet(9), 10), StockAt("zone-a", B, pallet(2), 10)],
        A,
        "zone-b",
        Rule.EMPTIEST,
    ),
    (
        "empty positions do not count",
        [StockAt("zone-c", A, pallet(1), 0)],
        A,
        "zone-a",
        Rule.EMPTIEST,
    ),
]


@pytest.mark.parametrize(
    ("stock", "item", "zone", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_suggest_zone(stock, item, zone, rule):
    s = suggest_zone(item, stock, ZONES, pallet=pallet(9))
    assert (s.zone, s.rule) == (zone, rule)


def test_the_suggestion_says_what_is_there():
    s = suggest_zone(A, [StockAt("zone-b", A, pallet(1), 6), StockAt("zone-b", A, None, 2)], ZONES)
    assert (s.zone, s.item_cases, s.pallets) == ("zone-b", 8, 1)


def test_only_storage_zones_of_the_layout_are_targets():
    assert storage_zones(load_layout(None)) == ["zone-a", "zone-b", "zone-c"]


def test_no_storage_zone_is_an_error():
    with pytest.raises(PutawayError, match="no storage zone"):
        suggest_zone(A, [], [])


STORAGE = frozenset({"zone-a", "zone-b"})


@pytest.mark.parametrize(
    ("held", "origin"),
    [
        ({"packing": 24}, "packing"),  # picked, packed, then the order was cancelled
        ({"zone-a": 24}, None),  # never left its shelf: nothing to put away
        ({}, None),  # nothing of it is held (gone, adjusted out)
        ({"packing": 0, "zone-b": 3}, None),  # an empty place does not count
        ({"packing": 20, "staging": 4}, "packing"),  # most of its cases
        ({"staging": 12, "packing": 12, "zone-a": 30}, "packing"),  # a tie: by name
        ({"zone-a": 10, "dock-2": 14}, "dock-2"),  # part of it still at a door
    ],
)
def test_back_to_storage(held: dict[str, int], origin: str | None) -> None:
    assert back_to_storage(held, STORAGE) == origin
