"""Reserving order lines FEFO: table cases and properties over random stock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.warehouse.allocation import (
    Candidate,
    OrderLine,
    allocate,
    allocate_order,
    reservations,
)
from cloud.warehouse.ledger import (
    Book,
    Bucket,
    Cause,
    CauseKind,
    LedgerError,
    Position,
    StockState,
    balances_of,
    post,
    receipt,
)

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
GTIN = "00614141123452"
OTHER = "10614141123459"


def sscc(n: int) -> str:
    return f"1061414{n:011d}"


def cand(
    qty: int,
    *,
    expiry: str | None = "2025-06-01",
    received: float = 0,
    pallet: int | None = None,
    location: str = "zone-a",
    lot: str | None = None,
    site: str = "dc-1",
    item: str = GTIN,
    state: StockState = StockState.AVAILABLE,
) -> Candidate:
    lot = lot or (f"L{expiry}" if expiry else "L-none")
    return Candidate(
        Position(
            Bucket(site, item, lot, location, state), sscc(pallet) if pallet is not None else None
        ),
        qty,
        date.fromisoformat(expiry) if expiry else None,
        T0 + timedelta(hours=received),
    )


def line(qty: int, item: str = GTIN) -> OrderLine:
    return OrderLine("order-1", 1, "dc-1", item, qty)


def taken(stock: list[Candidate], need: int) -> list[tuple[str, int]]:
    """(label, qty) per pick, where a label is 'P<n>' for a pallet or the location."""
    labels = {
        c.position: (f"P{int(c.pallet[7:])}" if c.pallet else c.position.bucket.location)
        for c in stock
    }
    return [(labels[p.candidate.position], p.qty) for p in allocate(line(need), stock).picks]


CASES = [
    (
        "the earliest expiry goes first, even when received later",
        [
            cand(10, expiry="2025-07-01", received=0, location="old"),
            cand(10, expiry="2025-06-01", received=5, location="new"),
        ],
        15,
        [("new", 10), ("old", 5)],
    ),
    (
        "within an expiry, the first received goes first",
        [cand(10, received=3, location="later"), cand(10, received=1, location="earlier")],
        12,
        [("earlier", 10), ("later", 2)],
    ),
    (
        "a pallet that fits is taken whole before loose cases",
        [cand(7, location="loose"), cand(40, pallet=1), cand(10, pallet=2)],
        12,
        [("P2", 10), ("loose", 2)],
    ),
    (
        "several pallets that fit are taken whole, first received first",
        [cand(10, pallet=1, received=2), cand(10, pallet=2, received=1), cand(10, pallet=3)],
        20,
        [("P3", 10), ("P2", 10)],
    ),
    (
        "loose cases go before a pallet is broken",
        [cand(40, pallet=1), cand(3, location="loose")],
        5,
        [("loose", 3), ("P1", 2)],
    ),
    (
        "equal receipt times are ordered by SSCC",
        [cand(40, pallet=9), cand(40, pallet=4)],
        5,
        [("P4", 5)],
    ),
    (
        "whole pallets are preferred only within an expiry: FEFO comes first",
        [cand(5, pallet=1, expiry="2025-09-01"), cand(30, expiry="2025-06-01", location="loose")],
        5,
        [("loose", 5)],
    ),
    (
        "stock without an expiry comes after all that has one",
        [cand(10, expiry=None, location="forever"), cand(4, expiry="2030-01-01", location="late")],
        6,
        [("late", 4), ("forever", 2)],
    ),
    (
        "a shortfall takes everything there is and no more",
        [cand(3, location="a"), cand(10, pallet=1)],
        50,
        [("P1", 10), ("a", 3)],
    ),
    (
        "other sites, items, states and empty positions are not touched",
        [
            cand(10, site="dc-2", location="x"),
            cand(10, item=OTHER, location="y"),
            cand(10, state=StockState.QUARANTINE, location="z"),
            cand(0, location="empty"),
            cand(2, location="ok"),
        ],
        5,
        [("ok", 2)],
    ),
    ("nothing available: all short", [], 5, []),
]


@pytest.mark.parametrize(
    ("stock", "need", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_allocation(stock, need, expected):
    assert taken(stock, need) == expected
    a = allocate(line(need), stock)
    assert a.allocated == sum(q for _, q in expected)
    assert a.shortfall == need - a.allocated


def test_a_pick_knows_whether_it_takes_a_whole_pallet():
    picks = allocate(line(12), [cand(10, pallet=1), cand(40, pallet=2)]).picks
    assert [p.whole_pallet for p in picks] == [True, False]


def test_the_lines_of_an_order_share_the_stock():
    stock = [cand(10, pallet=1), cand(5, location="loose")]
    a, b = allocate_order([line(8), OrderLine("order-1", 2, "dc-1", GTIN, 10)], stock)
    assert [(p.candidate.pallet, p.qty) for p in a.picks] == [(None, 5), (sscc(1), 3)]
    assert [(p.candidate.pallet, p.qty) for p in b.picks] == [(sscc(1), 7)]
    assert (a.shortfall, b.shortfall) == (0, 3)


def test_reservations_post_onto_the_ledger_and_reserve_exactly_the_picks():
    stock = [cand(10, pallet=1), cand(5, location="loose"), cand(8, expiry="2025-05-01")]
    book = Book.empty()
    for c in stock:
        book, _ = post(book, receipt(c.position, c.qty, cause=Cause(CauseKind.ASN, "a"), time=T0))
    a = allocate(line(20), stock)
    for op in reservations(a, time=T0):
        assert op.cause == Cause(CauseKind.ORDER, "order-1")
        book, _ = post(book, op)
    reserved = sum(b.qty for b in balances_of(book.positions) if b.bucket.state.value == "reserved")
    assert reserved == a.allocated == 20


BAD = [
    ("a quantity above zero", lambda: line(0), "qty: must be a whole number of cases above 0"),
    ("a GTIN-14", lambda: line(3, item="123"), "item: a GTIN-14 is 14 digits, got '123'"),
    ("an order id", lambda: OrderLine("", 1, "dc-1", GTIN, 1), "order: must not be empty"),
    (
        "each position once",
        lambda: allocate(line(1), [cand(1), cand(2)]),
        "candidates: position",
    ),
    ("no negative stock", lambda: allocate(line(1), [cand(-1)]), "candidate.qty: must not be"),
]


@pytest.mark.parametrize(("make", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_a_wrong_line_or_stock_is_refused_naming_the_field(make, message):
    with pytest.raises(LedgerError, match=message):
        make()


# -- properties -------------------------------------------------------------------------

EXPIRIES = [None, "2025-05-01", "2025-06-01", "2025-07-01"]


@st.composite
def stocks(draw: st.DrawFn) -> list[Candidate]:
    n = draw(st.integers(0, 12))
    out = []
    for i in range(n):
        out.append(
            cand(
                draw(st.integers(0, 50)),
                expiry=draw(st.sampled_from(EXPIRIES)),
                received=draw(st.integers(0, 5)),
                pallet=i if draw(st.booleans()) else None,
                location=f"loc-{i}",
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(stocks(), st.integers(1, 300))
def test_allocations_never_exceed_what_is_available_and_are_fefo_ordered(stock, need):
    a = allocate(line(need), stock)
    total = sum(c.qty for c in stock)
    assert a.allocated == min(need, total)
    assert a.shortfall == need - a.allocated >= 0
    assert len({p.candidate.position for p in a.picks}) == len(a.picks)
    took = {p.candidate.position: p.qty for p in a.picks}
    for p in a.picks:
        assert 0 < p.qty <= p.candidate.qty
        assert p.candidate in stock

    def rank(c: Candidate) -> tuple[bool, date]:
        return (c.expiry is None, c.expiry or date.min)

    # FEFO: stock of an earlier expiry than anything taken is used up
    for p in a.picks:
        for c in stock:
            if rank(c) < rank(p.candidate):
                assert took.get(c.position, 0) == c.qty, (c, p)
    # the picks come in FEFO order
    ranks = [rank(p.candidate) for p in a.picks]
    assert ranks == sorted(ranks)
    # at most one candidate is taken in part (the last one), and only when nothing is short
    partial = [p for p in a.picks if p.qty < p.candidate.qty]
    assert len(partial) <= 1
    if partial:
        assert a.shortfall == 0 and partial[0] is a.picks[-1]
