"""The stock ledger: entries, balances, the rules of each operation, and its invariants
over random operation sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.warehouse.ledger import (
    IN_TRANSIT,
    TRANSFERS,
    Book,
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    InsufficientStock,
    LedgerError,
    Operation,
    Position,
    StockState,
    adjust,
    balances,
    balances_of,
    on_hand,
    positions_of,
    post,
    receipt,
    ship,
    transfer,
)

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
GTIN = "00614141123452"
GTIN2 = "10614141123459"
SSCC = "106141410000000013"
S = StockState
K = EntryKind
PASSAGE = Cause(CauseKind.PASSAGE, "passage-17")
ORDER = Cause(CauseKind.ORDER, "order-4")


def pos(
    location: str = "zone-a",
    state: StockState = S.AVAILABLE,
    *,
    site: str = "dc-1",
    item: str = GTIN,
    lot: str = "L1",
    pallet: str | None = None,
) -> Position:
    return Position(Bucket(site, item, lot, location, state), pallet)


def run(*ops: Operation) -> tuple[Book, list]:
    book = Book.empty()
    entries: list = []
    for op in ops:
        book, new = post(book, op)
        entries.extend(new)
    return book, entries


def test_a_receipt_books_one_entry_and_a_balance():
    book, entries = run(receipt(pos("door-1"), 40, cause=PASSAGE, time=T0))
    assert [(e.seq, e.posting, e.kind, e.qty, e.cause) for e in entries] == [
        (1, 1, K.RECEIPT, 40, PASSAGE)
    ]
    assert [(b.bucket.location, b.bucket.state, b.qty) for b in balances(entries)] == [
        ("door-1", S.AVAILABLE, 40)
    ]
    assert book.qty(pos("door-1")) == 40


def test_a_transfer_is_two_entries_of_one_posting_that_sum_to_zero():
    _, entries = run(
        receipt(pos("door-1"), 40, cause=PASSAGE, time=T0),
        transfer(K.PUTAWAY, pos("door-1"), pos("zone-a"), 40, cause=PASSAGE, time=T0),
        transfer(K.RESERVE, pos("zone-a"), pos("zone-a", S.RESERVED), 15, cause=ORDER, time=T0),
    )
    assert [(e.seq, e.posting, e.qty) for e in entries] == [
        (1, 1, 40),
        (2, 2, -40),
        (3, 2, 40),
        (4, 3, -15),
        (5, 3, 15),
    ]
    assert [(b.bucket.location, b.bucket.state.value, b.qty) for b in balances(entries)] == [
        ("zone-a", "available", 25),
        ("zone-a", "reserved", 15),
    ]


def test_taking_more_than_is_there_is_refused_naming_the_bucket_and_nothing_changes():
    book, _ = run(receipt(pos(), 10, cause=PASSAGE, time=T0))
    op = transfer(K.RESERVE, pos(), pos(state=S.RESERVED), 12, cause=ORDER, time=T0)
    with pytest.raises(InsufficientStock) as err:
        post(book, op)
    assert str(err.value) == (
        f"not enough stock: item {GTIN}, lot L1, location zone-a, state available "
        "at site dc-1: asked 12, there 10"
    )
    assert (err.value.asked, err.value.there) == (12, 10)
    assert book.qty(pos()) == 10 and book.next_seq == 2


def test_a_pallet_cannot_give_cases_it_does_not_hold_even_when_its_bucket_has_them():
    book, _ = run(
        receipt(pos(pallet=SSCC), 5, cause=PASSAGE, time=T0),
        receipt(pos(), 30, cause=PASSAGE, time=T0),
    )
    with pytest.raises(InsufficientStock, match=f"pallet {SSCC} .*asked 6, there 5"):
        post(
            book,
            transfer(
                K.RESERVE,
                pos(pallet=SSCC),
                pos(state=S.RESERVED, pallet=SSCC),
                6,
                cause=ORDER,
                time=T0,
            ),
        )
    with pytest.raises(InsufficientStock, match="asked 6, there 5"):
        post(
            book,
            transfer(K.MOVE, pos(pallet=SSCC), pos("zone-b", pallet=SSCC), 6, cause=ORDER, time=T0),
        )


def test_on_hand_is_every_state_but_in_transit():
    _, entries = run(
        receipt(pos(), 20, cause=PASSAGE, time=T0),
        receipt(pos(lot="L2"), 7, cause=PASSAGE, time=T0),
        transfer(K.RESERVE, pos(), pos(state=S.RESERVED), 8, cause=ORDER, time=T0),
        transfer(K.DAMAGE, pos(), pos(state=S.DAMAGED), 1, cause=ORDER, time=T0),
        transfer(
            K.DISPATCH,
            pos(state=S.RESERVED),
            pos(IN_TRANSIT, S.IN_TRANSIT, site="dc-2"),
            3,
            cause=ORDER,
            time=T0,
        ),
    )
    bal = balances(entries)
    assert on_hand(bal, site="dc-1", item=GTIN) == 24
    assert on_hand(bal, site="dc-1", item=GTIN, lot="L1") == 17
    assert on_hand(bal, site="dc-2", item=GTIN) == 0
    assert sum(b.qty for b in bal) == sum(e.qty for e in entries) == 27


def test_ship_takes_reserved_stock_out_of_the_site():
    _, entries = run(
        receipt(pos(), 10, cause=PASSAGE, time=T0),
        transfer(K.RESERVE, pos(), pos(state=S.RESERVED), 10, cause=ORDER, time=T0),
        transfer(
            K.PICK, pos(state=S.RESERVED), pos("door-2", S.RESERVED), 10, cause=ORDER, time=T0
        ),
        ship(pos("door-2", S.RESERVED), 10, cause=PASSAGE, time=T0),
    )
    assert balances(entries) == []
    assert [e.kind for e in entries if e.qty < 0][-1] is K.SHIP


T1 = T0 + timedelta(minutes=1)
BAD_OPERATIONS = [
    (
        "reserving moves no stock to another location",
        lambda: transfer(K.RESERVE, pos(), pos("zone-b", S.RESERVED), 1, cause=ORDER, time=T1),
        "target.location: a reserve stays at 'zone-a', got 'zone-b'",
    ),
    (
        "a move goes elsewhere",
        lambda: transfer(K.MOVE, pos(), pos(), 1, cause=ORDER, time=T1),
        "target.location: a move goes elsewhere, got 'zone-a'",
    ),
    (
        "a move keeps the state",
        lambda: transfer(K.MOVE, pos(), pos("zone-b", S.RESERVED), 1, cause=ORDER, time=T1),
        "state: a move goes",
    ),
    (
        "a transfer keeps the lot",
        lambda: transfer(K.MOVE, pos(), pos("zone-b", lot="L2"), 1, cause=ORDER, time=T1),
        "a move keeps item and lot",
    ),
    (
        "only dispatch changes the site",
        lambda: transfer(K.MOVE, pos(), pos("zone-b", site="dc-2"), 1, cause=ORDER, time=T1),
        "target.site: a move stays at site 'dc-1', got 'dc-2'",
    ),
    (
        "a receipt is not a transfer",
        lambda: transfer(K.RECEIPT, pos(), pos("zone-b"), 1, cause=ORDER, time=T1),
        "kind: 'receipt' is not a transfer",
    ),
    (
        "unreserving quarantined stock is no transition",
        lambda: transfer(K.UNRESERVE, pos(state=S.QUARANTINE), pos(), 1, cause=ORDER, time=T1),
        "state: a unreserve goes reserved->available, got quarantine->available",
    ),
    (
        "only reserved stock ships",
        lambda: ship(pos(), 1, cause=ORDER, time=T1),
        "state: only reserved stock ships, got 'available'",
    ),
    (
        "a receipt does not book reserved stock",
        lambda: receipt(pos(state=S.RESERVED), 1, cause=ORDER, time=T1),
        "state: a receipt books into available or quarantine, got 'reserved'",
    ),
    ("a quantity is above zero", lambda: receipt(pos(), 0, cause=ORDER, time=T1), "qty: "),
    (
        "a quantity is a whole number",
        lambda: receipt(pos(), 1.5, cause=ORDER, time=T1),  # type: ignore[arg-type]
        "qty: must be a whole number of cases above 0, got 1.5",
    ),
    ("an adjustment is not zero", lambda: adjust(pos(), 0, cause=ORDER, time=T1), "delta: "),
    (
        "in-transit stock is adjusted only after it arrives",
        lambda: adjust(pos(IN_TRANSIT, S.IN_TRANSIT), -1, cause=ORDER, time=T1),
        "state: only stock on hand is adjusted, got 'in_transit'",
    ),
    (
        "in-transit stock is at the in_transit location",
        lambda: pos("zone-a", S.IN_TRANSIT),
        "location: 'zone-a' with state 'in_transit'",
    ),
    (
        "nothing else is at the in_transit location",
        lambda: pos(IN_TRANSIT, S.AVAILABLE),
        "location: 'in_transit' with state 'available'",
    ),
    (
        "an item is a GTIN-14",
        lambda: pos(item="0061414112345"),
        "item: a GTIN-14 is 14 digits, got '0061414112345'",
    ),
    (
        "a GTIN-14 has its check digit",
        lambda: pos(item="00614141123453"),
        "item: '00614141123453' has check digit 3, expected 2",
    ),
    ("a pallet is an SSCC", lambda: pos(pallet="12345"), "pallet: an SSCC is 18 digits"),
    ("a cause names its thing", lambda: Cause(CauseKind.USER, ""), "cause.ref: must name"),
]


@pytest.mark.parametrize(
    ("make", "message"), [c[1:] for c in BAD_OPERATIONS], ids=[c[0] for c in BAD_OPERATIONS]
)
def test_a_wrong_operation_is_refused_naming_the_field(make, message):
    with pytest.raises(LedgerError) as err:
        make()
    assert message in str(err.value)
    assert not isinstance(err.value, InsufficientStock)


def test_every_transfer_kind_has_a_rule_and_the_flows_have_none():
    assert set(TRANSFERS) | {K.RECEIPT, K.SHIP, K.ADJUST} == set(K)
    assert not set(TRANSFERS) & {K.RECEIPT, K.SHIP, K.ADJUST}


# -- invariants over random operation sequences ----------------------------------------

SITES = ("dc-1", "dc-2")
ITEMS = (GTIN, GTIN2)
LOTS = ("L1", "L2")
PLACES = ("door-1", "zone-a", "zone-b")
PALLETS = (None, SSCC)
ON_HAND = [S.AVAILABLE, S.RESERVED, S.QUARANTINE, S.DAMAGED]


@st.composite
def operations(draw: st.DrawFn, held: dict[Position, int]) -> Operation:
    """A well-formed operation; most of the time one that takes from a position that
    holds stock (``held``), for up to a few cases more than it holds."""
    cause = Cause(draw(st.sampled_from(list(CauseKind))), "ref-1")
    qty = draw(st.integers(1, 25))
    if held and draw(st.integers(0, 3)) > 0:
        source = draw(st.sampled_from(sorted(held, key=Position.sort_key)))
        qty = draw(st.integers(1, held[source] + 2))
        state = source.bucket.state
        kinds = sorted(k for k, r in TRANSFERS.items() if any(a is state for a, _ in r.states))
        kinds += [K.ADJUST] if state is not S.IN_TRANSIT else []
        kinds += [K.SHIP] if state is S.RESERVED else []
        kind = draw(st.sampled_from(kinds))
    else:
        kind = draw(st.sampled_from(list(K)))
        source = None
    b = source.bucket if source is not None else None
    site = b.site if b is not None else draw(st.sampled_from(SITES))
    item = b.item if b is not None else draw(st.sampled_from(ITEMS))
    lot = b.lot if b is not None else draw(st.sampled_from(LOTS))
    pallet = source.pallet if source is not None else draw(st.sampled_from(PALLETS))
    place = b.location if b is not None else draw(st.sampled_from(PLACES))

    def at(place: str, state: StockState, where: str = site, p: str | None = pallet) -> Position:
        if state is S.IN_TRANSIT:
            place = IN_TRANSIT
        elif place == IN_TRANSIT:
            place = draw(st.sampled_from(PLACES))
        return Position(Bucket(where, item, lot, place, state), p)

    if kind is K.RECEIPT:
        state = draw(st.sampled_from([S.AVAILABLE, S.QUARANTINE]))
        return receipt(at(place, state), qty, cause=cause, time=T0)
    if kind is K.SHIP:
        return ship(source or at(place, S.RESERVED), qty, cause=cause, time=T0)
    if kind is K.ADJUST:
        delta = draw(st.integers(-25, 25).filter(bool))
        target = source or at(place, draw(st.sampled_from(ON_HAND)))
        return adjust(target, delta, cause=cause, time=T0)
    rule = TRANSFERS[kind]
    pairs = sorted(p for p in rule.states if source is None or p[0] is source.bucket.state)
    a, b2 = draw(st.sampled_from(pairs))
    from_ = source or at(place, a)
    if rule.location == "same":
        there = from_.bucket.location
    elif rule.location == "differs":
        there = draw(st.sampled_from([p for p in PLACES if p != from_.bucket.location]))
    else:
        there = draw(st.sampled_from(PLACES))
    to_site = draw(st.sampled_from(SITES)) if kind is K.DISPATCH else site
    to_pallet = draw(st.sampled_from([pallet, None]))
    return transfer(kind, from_, at(there, b2, to_site, to_pallet), qty, cause=cause, time=T0)


@settings(max_examples=200, deadline=None)
@given(st.data(), st.integers(0, 60))
def test_the_ledger_invariants_hold_over_random_operations(data, steps):
    book = Book.empty()
    entries: list = []
    model: dict[Position, int] = {}
    refused = 0
    ops = []
    for _ in range(steps):
        op = data.draw(operations(model))
        ops.append(op)
        expected = dict(model)
        for line in op.lines:
            expected[line.position] = expected.get(line.position, 0) + line.qty
        would_go_negative = any(q < 0 for q in expected.values())
        before = book
        try:
            book, new = post(book, op)
        except InsufficientStock as err:
            refused += 1
            assert would_go_negative, f"refused an operation that fits: {err}"
            assert model.get(err.position, 0) == err.there and err.asked > err.there
            assert book is before
            continue
        assert not would_go_negative, "posted an operation that takes stock that is not there"
        model = {p: q for p, q in expected.items() if q != 0}
        entries.extend(new)
        # every transfer's entries sum to zero; a flow is one entry
        assert len({e.posting for e in new}) == 1
        if op.kind in TRANSFERS:
            assert len(new) == 2 and sum(e.qty for e in new) == 0
        else:
            assert len(new) == 1
        # reserving never makes available negative (nor anything else)
        assert all(q > 0 for q in book.positions.values())

    # the book is the sum of the ledger, position by position and bucket by bucket
    assert dict(book.positions) == positions_of(entries) == model
    assert balances_of(book.positions) == balances(entries)
    assert all(b.qty > 0 for b in balances(entries))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert book.next_posting == len(ops) - refused + 1
    for site in SITES:
        for item in ITEMS:
            assert on_hand(balances(entries), site=site, item=item) == sum(
                e.qty
                for e in entries
                if e.bucket.site == site
                and e.bucket.item == item
                and e.bucket.state is not S.IN_TRANSIT
            )
