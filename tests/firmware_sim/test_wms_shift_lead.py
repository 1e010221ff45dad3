"""The shift lead's rule for held orders (pure): cancel one held for the wait, counted
from when it was first seen held; forget one released meanwhile; never look again at one
cancelled or refused."""

from __future__ import annotations

from firmware_sim.wms.shift_lead import HoldBook, counts_due, holds_due


def test_an_order_is_due_once_held_for_the_wait_counted_from_first_seen():
    book = HoldBook()
    assert holds_due(book, ["SO-1"], 100.0, 300.0) == []
    assert holds_due(book, ["SO-1", "SO-2"], 250.0, 300.0) == []
    assert holds_due(book, ["SO-1", "SO-2"], 399.9, 300.0) == []
    assert holds_due(book, ["SO-2", "SO-1"], 400.0, 300.0) == ["SO-1"]
    assert holds_due(book, ["SO-2", "SO-1"], 600.0, 300.0) == ["SO-1", "SO-2"]  # oldest first


def test_a_released_order_is_forgotten_and_a_new_hold_waits_again():
    book = HoldBook()
    holds_due(book, ["SO-1"], 0.0, 300.0)
    assert holds_due(book, [], 200.0, 300.0) == []  # released by someone
    assert holds_due(book, ["SO-1"], 250.0, 300.0) == []  # held again: a new wait
    assert holds_due(book, ["SO-1"], 549.0, 300.0) == []
    assert holds_due(book, ["SO-1"], 550.0, 300.0) == ["SO-1"]


def test_an_order_dealt_with_is_not_due_again():
    book = HoldBook(done={"SO-1"})
    assert holds_due(book, ["SO-1", "SO-1"], 10_000.0, 300.0) == []
    assert book.since == {}


def test_the_pallets_that_weighed_wrong_are_counted_once_each_and_no_other():
    book = HoldBook()

    def detail(*weights):
        return {"pick_tasks": [{"pallet_epc": f"P{i}", "weight": w} for i, w in enumerate(weights)]}

    mismatch, ok = {"verdict": "mismatch"}, {"verdict": "ok"}
    assert counts_due(book, "SO-1", detail(mismatch, ok, None)) == ["P0"]
    assert counts_due(book, "SO-1", detail(mismatch, ok, None)) == []
    # the third weighed wrong later (sent onto the scale again): counted then
    assert counts_due(book, "SO-1", detail(mismatch, ok, mismatch)) == ["P2"]
    # the same pallet held for another order is counted again
    assert counts_due(book, "SO-2", detail(mismatch)) == ["P0"]
    assert counts_due(book, "SO-3", {"detail": "no such order"}) == []
