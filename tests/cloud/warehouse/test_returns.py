"""Returns (RMA): requests checked against what the order shipped, arrivals into
quarantine, inspections into ledger operations, the return's status. Tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cloud.warehouse.ledger import (
    Book,
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    Position,
    StockState,
    balances_of,
    post,
    receipt,
)
from cloud.warehouse.returns import (
    Arrival,
    Decision,
    Inspected,
    LineCounts,
    OpenReturn,
    Received,
    RequestLine,
    ReturnConflict,
    ReturnError,
    ReturnReceipt,
    ReturnStatus,
    ShippedLot,
    ShippedPallet,
    Verdict,
    inspection_operations,
    plan_inspection,
    plan_return,
    receive_arrival,
    return_status,
)
from protocols.epc import Sgtin96
from protocols.epc.gs1 import with_check_digit

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
A = "00614141123452"
B = with_check_digit("0061414100042")
P1 = with_check_digit("10614141000000001")
P2 = with_check_digit("10614141000000002")


def case(n: int, gtin: str = A) -> str:
    return Sgtin96.from_gtin(gtin, company_prefix_length=7, serial=n, filter=0).to_hex()


C1, C2, C3, C4 = case(1), case(2), case(3), case(4)
B1 = case(9, B)
SHIPPED = (
    ShippedPallet(P1, (ShippedLot(A, "L1", 3),), {C1: A, C2: A, C3: A}),
    ShippedPallet(P2, (ShippedLot(A, "L2", 1), ShippedLot(B, "LB", 1)), {C4: A, B1: B}),
)


# -- requests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "lines", "epcs", "before", "want"),
    [
        ("lines within what shipped", [RequestLine(A, 4)], None, {}, ((A, 4),)),
        ("all of two items", [RequestLine(B, 1), RequestLine(A, 4)], None, {}, ((B, 1), (A, 4))),
        ("what other returns left", [RequestLine(A, 2)], None, {A: 2}, ((A, 2),)),
        ("epcs counted per item", None, [C1, B1, C4], {}, ((B, 1), (A, 2))),
    ],
)
def test_a_return_within_what_the_order_shipped_is_planned(name, lines, epcs, before, want):
    plan = plan_return(
        order="SO-1", shipped=SHIPPED, lines=lines, epcs=epcs, requested_before=before
    )
    assert tuple((x.sku, x.qty) for x in plan.lines) == want, name
    assert set(plan.epcs) == set(epcs or ())


@pytest.mark.parametrize(
    ("name", "kw", "error", "message"),
    [
        ("neither", {"lines": None, "epcs": None}, ReturnError, "lines, epcs: give"),
        ("both", {"lines": [RequestLine(A, 1)], "epcs": [C1]}, ReturnError, "one of them"),
        ("no lines", {"lines": [], "epcs": None}, ReturnError, "lines: give at least one"),
        ("no epcs", {"lines": None, "epcs": []}, ReturnError, "epcs: name at least one"),
        (
            "more than shipped",
            {"lines": [RequestLine(A, 5)], "epcs": None},
            ReturnError,
            f"lines[0].qty: 5 cases of {A} asked back, order SO-1 shipped 4: at most 4",
        ),
        (
            "more than other returns left",
            {"lines": [RequestLine(A, 3)], "epcs": None, "requested_before": {A: 2}},
            ReturnError,
            "2 of them on other returns: at most 2",
        ),
        (
            "an item not shipped",
            {"lines": [RequestLine(with_check_digit("0061414100077"), 1)], "epcs": None},
            ReturnError,
            "lines[0].sku: order SO-1 shipped no",
        ),
        (
            "an item twice",
            {"lines": [RequestLine(A, 1), RequestLine(A, 1)], "epcs": None},
            ReturnError,
            "lines[1].sku",
        ),
        (
            "an epc not shipped",
            {"lines": None, "epcs": [case(77)]},
            ReturnError,
            f"epcs[0]: {case(77)} is not a case order SO-1 shipped",
        ),
        ("an epc twice", {"lines": None, "epcs": [C1, C1]}, ReturnError, "epcs[1]"),
        (
            "an epc on another return",
            {"lines": None, "epcs": [C2], "epcs_before": frozenset({C2})},
            ReturnError,
            "epcs[0]: " + C2 + " is on another return",
        ),
        (
            "nothing shipped",
            {"lines": [RequestLine(A, 1)], "epcs": None, "shipped": ()},
            ReturnConflict,
            "order: SO-1 has shipped nothing",
        ),
    ],
)
def test_a_return_that_does_not_fit_the_order_is_refused_naming_the_field(name, kw, error, message):
    args = {"order": "SO-1", "shipped": SHIPPED, "requested_before": {}, **kw}
    with pytest.raises(error) as e:
        plan_return(**args)
    assert message in str(e.value), name


# -- arrivals --------------------------------------------------------------------------


def open_return(
    rid: str = "RMA-1",
    remaining: dict[str, int] | None = None,
    *,
    listed: frozenset[str] = frozenset(),
    came: frozenset[str] = frozenset(),
    pallets_came: frozenset[str] = frozenset(),
    site: str = "dc-1",
) -> OpenReturn:
    return OpenReturn(rid, site, remaining or {A: 4, B: 1}, listed, came, pallets_came, SHIPPED)


def arrival(pallet: str | None, *cases: str, site: str = "dc-1") -> Arrival:
    return Arrival("passage:7", site, "door-2", T0, pallet, frozenset(cases))


def got(receipts: list[ReturnReceipt]) -> list[tuple[str, str, str, str | None, int, set[str]]]:
    return [(r.return_id, r.sku, r.lot, r.pallet, r.qty, set(r.epcs)) for r in receipts]


@pytest.mark.parametrize(
    ("name", "returns", "came", "want"),
    [
        (
            "a pallet with its cases heard",
            [open_return()],
            arrival(P1, C1, C2),
            [("RMA-1", A, "L1", P1, 2, {C1, C2})],
        ),
        (
            "a pallet with no case heard: what it shipped",
            [open_return()],
            arrival(P1),
            [("RMA-1", A, "L1", P1, 3, set())],
        ),
        (
            "at most what the return waits for",
            [open_return(remaining={A: 1})],
            arrival(P1, C1, C2, C3),
            [("RMA-1", A, "L1", P1, 1, {C1})],
        ),
        (
            "a pallet of two items",
            [open_return()],
            arrival(P2, C4, B1),
            [("RMA-1", B, "LB", P2, 1, {B1}), ("RMA-1", A, "L2", P2, 1, {C4})],
        ),
        (
            "by epcs: the named ones heard",
            [open_return(remaining={A: 1}, listed=frozenset({C2}))],
            arrival(P1, C1, C2, C3),
            [("RMA-1", A, "L1", P1, 1, {C2})],
        ),
        (
            "by epcs, none heard: the named ones of the pallet",
            [open_return(remaining={A: 2}, listed=frozenset({C2, C3}))],
            arrival(P1),
            [("RMA-1", A, "L1", P1, 2, {C2, C3})],
        ),
        (
            "by epcs, others heard: nothing",
            [open_return(remaining={A: 1}, listed=frozenset({C2}))],
            arrival(P1, C1),
            [],
        ),
        (
            "the first return waiting for it",
            [open_return("RMA-1", remaining={B: 1}), open_return("RMA-2")],
            arrival(P1, C1),
            [("RMA-2", A, "L1", P1, 1, {C1})],
        ),
        ("a pallet back already", [open_return(pallets_came=frozenset({P1}))], arrival(P1), []),
        ("another site's return", [open_return(site="dc-2")], arrival(P1, C1), []),
        ("a pallet the order did not ship", [open_return()], arrival(P2[:-1] + "9"), []),
        ("nothing left to come", [open_return(remaining={A: 0, B: 0})], arrival(P1), []),
        (
            "a lone case: loose",
            [open_return()],
            arrival(None, C3),
            [("RMA-1", A, "L1", None, 1, {C3})],
        ),
        ("a lone case come already", [open_return(came=frozenset({C3}))], arrival(None, C3), []),
        (
            "a lone case of a pallet come back: counted with it",
            [open_return(pallets_came=frozenset({P1}))],
            arrival(None, C3),
            [],
        ),
        (
            "a lone case not named",
            [open_return(listed=frozenset({C1}))],
            arrival(None, C3),
            [],
        ),
    ],
)
def test_an_arrival_is_taken_back_by_the_open_return_waiting_for_it(name, returns, came, want):
    assert got(receive_arrival(returns, came)) == want, name


def test_a_returned_receipt_books_into_quarantine_at_the_door_with_the_return_as_cause():
    (r,) = receive_arrival([open_return()], arrival(P1, C1))
    op = r.operation(arrival(P1, C1))
    assert op.kind is EntryKind.RECEIPT and op.cause == Cause(CauseKind.RETURN, "RMA-1")
    (line,) = op.lines
    assert line.position == Position(Bucket("dc-1", A, "L1", "door-2", StockState.QUARANTINE), P1)
    assert line.qty == 1


# -- inspection ------------------------------------------------------------------------

RECEIVED = [
    Received(1, A, "L1", P1, 3),
    Received(2, A, "L2", P2, 1),
    Received(3, B, "LB", P2, 1),
]
CASES = {C1: (1, False), C2: (1, True), C4: (2, False)}


@pytest.mark.parametrize(
    ("name", "decisions", "want"),
    [
        (
            "a case by its epc",
            [Decision(Verdict.WRITE_OFF, epc=C1)],
            [(1, A, "L1", P1, 1, Verdict.WRITE_OFF, (C1,))],
        ),
        (
            "a line over two receipts, oldest first",
            [Decision(Verdict.RESTOCK, sku=A, qty=4)],
            [
                (1, A, "L1", P1, 3, Verdict.RESTOCK, ()),
                (2, A, "L2", P2, 1, Verdict.RESTOCK, ()),
            ],
        ),
        (
            "an epc then the rest of its item",
            [Decision(Verdict.WRITE_OFF, epc=C4), Decision(Verdict.RESTOCK, sku=A, qty=3)],
            [
                (2, A, "L2", P2, 1, Verdict.WRITE_OFF, (C4,)),
                (1, A, "L1", P1, 3, Verdict.RESTOCK, ()),
            ],
        ),
    ],
)
def test_an_inspection_takes_the_cases_it_decides_on(name, decisions, want):
    out = plan_inspection("RMA-1", RECEIVED, CASES, decisions)
    assert [(x.receipt, x.sku, x.lot, x.pallet, x.qty, x.verdict, x.epcs) for x in out] == want


@pytest.mark.parametrize(
    ("name", "decisions", "error", "message"),
    [
        ("none", [], ReturnError, "decisions: give at least one"),
        ("neither", [Decision(Verdict.RESTOCK)], ReturnError, "decisions[0]: name an epc"),
        (
            "an epc not come back",
            [Decision(Verdict.RESTOCK, epc=C3)],
            ReturnError,
            f"decisions[0].epc: {C3} has not come back on RMA-1",
        ),
        (
            "an epc decided before",
            [Decision(Verdict.RESTOCK, epc=C2)],
            ReturnConflict,
            "is decided already",
        ),
        (
            "an epc twice",
            [Decision(Verdict.RESTOCK, epc=C1), Decision(Verdict.WRITE_OFF, epc=C1)],
            ReturnConflict,
            "decisions[1].epc",
        ),
        (
            "more cases than wait",
            [Decision(Verdict.RESTOCK, sku=A, qty=5)],
            ReturnConflict,
            f"decisions[0].qty: 5 cases of {A} to decide, 4 of them came back",
        ),
        (
            "a line with no qty",
            [Decision(Verdict.RESTOCK, sku=A)],
            ReturnError,
            "decisions[0].qty",
        ),
    ],
)
def test_an_inspection_that_does_not_fit_is_refused(name, decisions, error, message):
    with pytest.raises(error) as e:
        plan_inspection("RMA-1", RECEIVED, CASES, decisions)
    assert message in str(e.value), name


def q(location: str, pallet: str | None, lot: str = "L1") -> Position:
    return Position(Bucket("dc-1", A, lot, location, StockState.QUARANTINE), pallet)


def test_restock_releases_in_place_and_write_off_adjusts_out_keeping_the_book_right():
    book = Book.empty()
    start = [(q("door-2", P1), 2), (q("zone-a", P1), 1)]
    for pos, qty in start:
        book, _ = post(book, receipt(pos, qty, cause=Cause(CauseKind.RETURN, "R"), time=T0))
    inspected = [
        Inspected(1, A, "L1", P1, 2, Verdict.RESTOCK),
        Inspected(1, A, "L1", P1, 1, Verdict.WRITE_OFF),
    ]
    ops = inspection_operations(inspected, {(A, "L1", P1): start}, return_id="RMA-1", time=T0)
    assert [op.kind for op in ops] == [EntryKind.RELEASE, EntryKind.ADJUST]
    assert all(op.cause == Cause(CauseKind.RETURN, "RMA-1") for op in ops)
    for op in ops:
        book, _ = post(book, op)
    assert [(b.bucket.location, b.bucket.state, b.qty) for b in balances_of(book.positions)] == [
        ("door-2", StockState.AVAILABLE, 2)
    ]


def test_an_inspection_of_cases_no_longer_in_quarantine_is_a_conflict():
    with pytest.raises(ReturnConflict, match=r"3 cases of .* to restock, 2 of them"):
        inspection_operations(
            [Inspected(1, A, "L1", P1, 3, Verdict.RESTOCK)],
            {(A, "L1", P1): [(q("door-2", P1), 2)]},
            return_id="RMA-1",
            time=T0,
        )


# -- status ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "want"),
    [
        ([LineCounts(4, 0, 0, 0)], ReturnStatus.REQUESTED),
        ([LineCounts(4, 2, 2, 0)], ReturnStatus.RECEIVING),
        ([LineCounts(4, 4, 0, 0), LineCounts(1, 0, 0, 0)], ReturnStatus.RECEIVING),
        ([LineCounts(4, 4, 3, 0)], ReturnStatus.RECEIVED),
        ([LineCounts(4, 4, 3, 1), LineCounts(1, 1, 0, 1)], ReturnStatus.CLOSED),
    ],
)
def test_a_return_s_status_follows_what_came_and_what_was_decided(lines, want):
    assert return_status(lines) is want
