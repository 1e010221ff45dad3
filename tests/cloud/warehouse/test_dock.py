"""One order loads at a dock door at a time: who may load, and whose turn is next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud.warehouse.dock import Waiting, may_load, queue

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("order", "loading_here", "may"),
    [
        ("SO-000002", [], True),  # a free door
        ("SO-000002", ["SO-000002"], True),  # its own turn, asked again
        ("SO-000002", ["SO-000001"], False),  # another's truck is loading there
        ("SO-000002", ["SO-000001", "SO-000002"], False),
    ],
)
def test_an_order_may_load_only_at_a_door_no_other_order_is_loading_at(order, loading_here, may):
    assert may_load(order, loading_here) is may


@pytest.mark.parametrize(
    ("waiting", "turns"),
    [
        ([], []),
        ([("SO-000003", 5)], ["SO-000003"]),
        # packed longest ago first, whatever the order of the order ids
        (
            [("SO-000001", 30), ("SO-000003", 5), ("SO-000002", 10)],
            ["SO-000003", "SO-000002", "SO-000001"],
        ),
        # packed at the same moment: the order placed first
        ([("SO-000009", 5), ("SO-000004", 5)], ["SO-000004", "SO-000009"]),
    ],
)
def test_the_door_goes_to_the_order_packed_longest_ago(waiting, turns):
    assert queue(Waiting(o, T0 + timedelta(seconds=s)) for o, s in waiting) == turns
