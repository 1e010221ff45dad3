"""Shipping verified at the door: every case of an outbound passage against the orders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.warehouse.door_check import (
    OrderPallets,
    OutboundPassage,
    Reason,
    Verdict,
    check_passage,
    outbound_passage,
    over_shipment_operations,
    ship_operations,
)
from cloud.warehouse.ledger import (
    Book,
    Bucket,
    Cause,
    CauseKind,
    EntryKind,
    LedgerError,
    Position,
    StockState,
    post,
    receipt,
    transfer,
)
from protocols.epc import Sscc96
from protocols.epc.gs1 import with_check_digit
from protocols.mqtt import PassageMessage

T0 = datetime(2025, 3, 1, 8, tzinfo=UTC)
GTIN = "00614141123452"


def sscc(n: int) -> str:
    return with_check_digit(f"106141410{n:08d}")


def order(name: str, door: str | None, *pallets: int, site: str = "dc-1") -> OrderPallets:
    return OrderPallets(name, site, frozenset(sscc(n) for n in pallets), door)


def out(n: int, door: str, site: str = "dc-1") -> OutboundPassage:
    return OutboundPassage(f"passage-{n}", site, door, T0, sscc(n))


ORDERS = [
    order("o-1", "door-1", 1, 2),
    order("o-2", "door-1", 3),
    order("o-3", "door-3", 4),
    order("o-4", None, 5),
    order("o-9", "door-2", 6, site="dc-2"),
]

# (case, pallet, door, verdict, reason, order, hold)
CASES = [
    ("the right pallet at its order's door ships", 1, "door-1", "ship", None, "o-1", ()),
    ("each of two orders at one door ships its own", 3, "door-1", "ship", None, "o-2", ()),
    (
        "a pallet of an order loading at another door is a mis-shipment",
        4,
        "door-1",
        "mis_shipment",
        "wrong_door",
        "o-3",
        ("o-1", "o-2", "o-3"),
    ),
    (
        "a pallet on no order is a mis-shipment",
        7,
        "door-3",
        "mis_shipment",
        "not_on_an_order",
        None,
        ("o-3",),
    ),
    (
        "a pallet on no order through a door where nothing loads holds nothing but is caught",
        7,
        "door-4",
        "mis_shipment",
        "not_on_an_order",
        None,
        (),
    ),
    (
        "a pallet of an order not released to a door is a mis-shipment",
        5,
        "door-3",
        "mis_shipment",
        "not_loading",
        "o-4",
        ("o-3", "o-4"),
    ),
    (
        "a right pallet through the wrong door of a door with no order",
        1,
        "door-2",
        "mis_shipment",
        "wrong_door",
        "o-1",
        ("o-1",),
    ),
    (
        "another site's orders do not make a pallet right here",
        6,
        "door-2",
        "mis_shipment",
        "not_on_an_order",
        None,
        (),
    ),
]


@pytest.mark.parametrize(
    ("pallet", "door", "verdict", "reason", "owner", "hold"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_door_check(pallet, door, verdict, reason, owner, hold):
    c = check_passage(out(pallet, door), ORDERS)
    assert (c.verdict.value, c.reason and c.reason.value, c.order, c.hold) == (
        verdict,
        reason,
        owner,
        hold,
    )


def test_a_mis_shipment_names_the_door_the_pallet_and_the_orders():
    wrong = check_passage(out(4, "door-1"), ORDERS)
    assert wrong.message == (
        f"mis_shipment at door-1: pallet {sscc(4)} left, it is on order o-3, loading at "
        "door-3; orders loading at door-1: o-1, o-2"
    )
    assert check_passage(out(7, "door-4"), ORDERS).message == (
        f"mis_shipment at door-4: pallet {sscc(7)} left, it is on no order; "
        "no order is loading at door-4"
    )
    assert (
        "it is on order o-4, not released to a door"
        in check_passage(out(5, "door-1"), ORDERS).message
    )
    assert check_passage(out(1, "door-1"), ORDERS).message == (
        f"pallet {sscc(1)} ships on order o-1 through door-1"
    )


def test_a_pallet_on_two_orders_is_refused():
    with pytest.raises(LedgerError, match=f"pallets: {sscc(1)} is on orders 'o-1' and 'o-5'"):
        check_passage(out(1, "door-1"), [*ORDERS, order("o-5", "door-2", 1)])


def test_shipping_takes_the_pallets_reserved_stock_out_of_the_ledger():
    def at(state: StockState, pallet: int) -> Position:
        return Position(Bucket("dc-1", GTIN, "L1", "door-1", state), sscc(pallet))

    cause = Cause(CauseKind.ORDER, "o-1")
    book = Book.empty()
    for op in [
        receipt(at(StockState.AVAILABLE, 1), 10, cause=cause, time=T0),
        transfer(
            EntryKind.RESERVE,
            at(StockState.AVAILABLE, 1),
            at(StockState.RESERVED, 1),
            8,
            cause=cause,
            time=T0,
        ),
        receipt(at(StockState.AVAILABLE, 2), 4, cause=cause, time=T0),
        transfer(
            EntryKind.RESERVE,
            at(StockState.AVAILABLE, 2),
            at(StockState.RESERVED, 2),
            4,
            cause=cause,
            time=T0,
        ),
    ]:
        book, _ = post(book, op)
    ops = ship_operations(check_passage(out(1, "door-1"), ORDERS), book.positions)
    assert [(op.kind.value, op.lines[0].position, op.lines[0].qty, op.cause.ref) for op in ops] == [
        ("ship", at(StockState.RESERVED, 1), -8, "passage-1")
    ]
    for op in ops:
        book, _ = post(book, op)
    assert dict(book.positions) == {at(StockState.AVAILABLE, 1): 2, at(StockState.RESERVED, 2): 4}
    assert ship_operations(check_passage(out(4, "door-1"), ORDERS), book.positions) == []
    # through the wrong door (a mis-shipment) nothing goes out; through its own, the two
    # cases beyond the order left with pallet 1: reserved, then shipped
    assert over_shipment_operations(check_passage(out(1, "door-3"), ORDERS), book.positions) == []
    extra = over_shipment_operations(check_passage(out(1, "door-1"), ORDERS), book.positions)
    assert [
        (op.kind.value, [(x.position.bucket.state, x.qty) for x in op.lines]) for op in extra
    ] == [
        ("reserve", [(StockState.AVAILABLE, -2), (StockState.RESERVED, 2)]),
        ("ship", [(StockState.RESERVED, -2)]),
    ]
    for op in extra:
        book, _ = post(book, op)
    assert dict(book.positions) == {at(StockState.RESERVED, 2): 4}


def passage_message(epc: str, direction: str) -> PassageMessage:
    side = {"reads": 3}
    return PassageMessage.model_validate(
        {
            "door": "door-2",
            "direction": direction,
            "epc": epc,
            "cases": [],
            "confidence": 0.9,
            "time": T0,
            "evidence": {"outside": side, "inside": side},
        }
    )


def test_an_edge_passage_becomes_an_outbound_passage_and_an_inbound_one_is_refused():
    epc = Sscc96.from_sscc(sscc(3), company_prefix_length=7).to_hex()
    p = outbound_passage(passage_message(epc, "outbound"), site="dc-1", ref="pg-1")
    assert p == OutboundPassage("pg-1", "dc-1", "door-2", T0, sscc(3))
    with pytest.raises(LedgerError, match="direction: the door check takes outbound passages"):
        outbound_passage(passage_message(epc, "inbound"), site="dc-1", ref="pg-1")


DOORS = ["door-1", "door-2", "door-3"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([*DOORS, None]), min_size=0, max_size=5),
    st.integers(0, 12),
    st.sampled_from(DOORS),
    st.data(),
)
def test_a_pallet_ships_exactly_when_its_order_loads_at_that_door(doors, pallet, door, data):
    # pallets 0..9 dealt to the orders, each pallet to at most one
    owner_of = {p: data.draw(st.integers(-1, len(doors) - 1)) for p in range(10)}
    orders = [
        order(f"o-{i}", d, *(p for p, o in owner_of.items() if o == i)) for i, d in enumerate(doors)
    ]
    c = check_passage(out(pallet, door), orders)
    owner = owner_of.get(pallet, -1)
    ships = owner >= 0 and doors[owner] == door
    assert (c.verdict is Verdict.SHIP) == ships
    if ships:
        assert c.hold == () and c.reason is None and c.order == f"o-{owner}"
    else:
        here = {f"o-{i}" for i, d in enumerate(doors) if d == door}
        assert set(c.hold) == here | ({f"o-{owner}"} if owner >= 0 else set())
        assert c.reason is (
            Reason.NOT_ON_AN_ORDER
            if owner < 0
            else Reason.NOT_LOADING
            if doors[owner] is None
            else Reason.WRONG_DOOR
        )
        assert door in c.message and sscc(pallet) in c.message
