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


def test_an_order_held_for_its_weight_is_counted_once_and_no_other_hold_is():
    book = HoldBook()
    reasons = {"SO-2": "weight_mismatch", "SO-1": "mis_shipment", "SO-3": "weight_mismatch"}
    assert counts_due(book, reasons) == ["SO-2", "SO-3"]
    assert counts_due(book, reasons) == []
    assert counts_due(book, {**reasons, "SO-4": "weight_mismatch"}) == ["SO-4"]
